//! The benchmark object, `sec-agent-ebpf-bench`: the floor programs (`floor.rs`) and nothing
//! else. It is a binary of its own behind the `bench` feature, which only the tests crate's
//! build.rs turns on, so the object the agent embeds (`sec-agent-ebpf`) carries no benchmark
//! programs; aya, too, keeps its test programs out of the crates it ships.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]

#[cfg(target_arch = "bpf")]
mod floor;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any reachable panic path, so this is never executed.
    loop {}
}

/// Host builds (with the `bench` feature) compile this binary as an empty program; the
/// object is built for `bpfel-unknown-none` by `tests/build.rs`.
#[cfg(not(target_arch = "bpf"))]
fn main() {}
