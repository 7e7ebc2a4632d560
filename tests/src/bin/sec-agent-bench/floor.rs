//! The benchmark baselines: the cheapest possible XDP programs, from `sec-agent-ebpf`'s
//! `sec-agent-ebpf-bench` object. This crate's build.rs builds that object (feature `bench`
//! of `sec-agent-ebpf`, same crate and toolchain as the agent's program), so the object the
//! agent embeds carries no benchmark programs.

use anyhow::{Context as _, Result};
use aya::{Ebpf, programs::Xdp};

/// Passes every frame.
pub const PASS: &str = "bench_floor_pass";
/// Drops every frame.
pub const DROP: &str = "bench_floor_drop";
/// Transmits every frame on its `ingress_ifindex` (`bpf_redirect`): the flood generator,
/// run through BPF_PROG_TEST_RUN in live-frames mode.
pub const REDIRECT: &str = "bench_redirect_ingress";

static OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sec-agent-ebpf-bench"));

/// The benchmark object with its three programs loaded into the kernel (it has no maps, so
/// it needs no pins).
pub fn load() -> Result<Ebpf> {
    let mut ebpf = Ebpf::load(OBJECT).context("load the benchmark object")?;
    for name in [PASS, DROP, REDIRECT] {
        let p: &mut Xdp = ebpf
            .program_mut(name)
            .with_context(|| format!("{name} is not in the benchmark object"))?
            .try_into()?;
        p.load().with_context(|| format!("load {name}"))?;
    }
    Ok(ebpf)
}
