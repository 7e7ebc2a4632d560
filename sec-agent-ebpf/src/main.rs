//! sec-agent's XDP program: allowlist, restricted ports, exact and range bans, and per-source
//! token-bucket rate limits, with per-verdict counters.
//!
//! Verdict order (first match wins), as documented on [`sec_agent_common::Verdict`]:
//! allowlist -> restricted port -> exact ban -> range ban -> rate limit -> pass.
//! Frames that cannot be parsed up to the source address pass (fail-open) and are counted.
//!
//! The same object holds the capture socket filter (`capture.rs`), which lets only HTTP
//! traffic reach the agent's AF_PACKET ring. The benchmark baselines are not in this object:
//! they are in `sec-agent-ebpf-bench` (`bench.rs`), which only the benchmark loads.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod capture;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod parse;
#[cfg(target_arch = "bpf")]
mod ratelimit;
#[cfg(target_arch = "bpf")]
mod xdp;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any reachable panic path, so this is never executed.
    loop {}
}

/// Host builds (clippy, `cargo test --workspace`) compile this crate as an empty binary;
/// the real object is built for `bpfel-unknown-none` by `sec-agent/build.rs`.
#[cfg(not(target_arch = "bpf"))]
fn main() {}
