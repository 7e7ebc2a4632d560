//! Benchmark baselines: the cheapest possible XDP programs, built exactly like the real one
//! (same crate, same toolchain, same object), so that `cargo xtask bench` can report the
//! real program's cost as a ratio to the physical floor of an XDP run. Never attached by
//! the agent.

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
