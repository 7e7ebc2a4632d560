//! Builds the eBPF crate for the BPF target with aya-build (nightly + bpf-linker) and leaves
//! the object in `OUT_DIR`, where `lib.rs` embeds it; does nothing without the `ebpf`
//! feature.

#[cfg(not(feature = "ebpf"))]
fn main() {}

#[cfg(feature = "ebpf")]
fn main() -> anyhow::Result<()> {
    use anyhow::Context as _;
    let metadata = cargo_metadata()?;
    aya_build::build_ebpf(
        [aya_build::Package {
            name: "sec-agent-ebpf",
            root_dir: &metadata,
            ..Default::default()
        }],
        aya_build::Toolchain::Nightly,
    )
    .context("building the eBPF object failed; run `cargo xtask setup` to install nightly rust-src and bpf-linker")
}

/// Absolute path of the eBPF crate, next to this one in the workspace.
#[cfg(feature = "ebpf")]
fn cargo_metadata() -> anyhow::Result<String> {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let dir = std::path::Path::new(&manifest_dir)
        .parent()
        .ok_or_else(|| anyhow::anyhow!("no workspace root"))?
        .join("sec-agent-ebpf");
    Ok(dir.to_string_lossy().into_owned())
}
