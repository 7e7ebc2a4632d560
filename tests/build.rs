//! Builds the benchmark object, `sec-agent-ebpf-bench` (the floor programs, feature `bench`
//! of `sec-agent-ebpf`), for the BPF target with aya-build, and leaves it in `OUT_DIR`,
//! where the bench embeds it. aya does the same for its integration tests: test programs
//! are built by the test crate, never shipped in the product's object.

use anyhow::{Context as _, anyhow};

fn main() -> anyhow::Result<()> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let ebpf_dir = std::path::Path::new(&manifest_dir)
        .parent()
        .ok_or_else(|| anyhow!("no workspace root"))?
        .join("sec-agent-ebpf");
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "sec-agent-ebpf",
            root_dir: &ebpf_dir.to_string_lossy(),
            features: &["bench"],
            ..Default::default()
        }],
        aya_build::Toolchain::Nightly,
    )
    .context("building the benchmark eBPF object failed; run `cargo xtask setup` to install nightly rust-src and bpf-linker")
}
