//! Benchmark baselines: the cheapest possible XDP programs, built like the real one (same
//! crate, same toolchain, same flags), so that `cargo xtask bench` can report the real
//! program's cost as a ratio to the physical floor of an XDP run. They live in an object of
//! their own (`bench.rs`), never in the one the agent embeds.

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};

/// Passes every frame.
#[xdp]
pub fn bench_floor_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

/// Drops every frame.
#[xdp]
pub fn bench_floor_drop(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_DROP
}

/// Traffic generator for the flood benchmark: run through BPF_PROG_TEST_RUN in live-frames
/// mode with `ingress_ifindex` set to a veth, it transmits every frame on that veth
/// (`bpf_redirect`), so the peer receives real frames at a rate no socket can produce.
#[xdp]
pub fn bench_redirect_ingress(ctx: XdpContext) -> u32 {
    // SAFETY: ctx.ctx points at the kernel's xdp_md for this run.
    let ifindex = unsafe { (*ctx.ctx).ingress_ifindex };
    // SAFETY: helper with plain integer arguments.
    unsafe { aya_ebpf::helpers::bpf_redirect(ifindex, 0) as u32 }
}
