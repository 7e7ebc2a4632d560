//! Enforce: the kernel side of a decision. Loads and attaches the XDP program, and reads and
//! writes its pinned maps (bans, allowlist, restricted ports, rate limits, counters).

pub mod bpffs;
pub mod loader;
pub mod maps;
pub mod sockdiag;

pub use maps::KernelMaps;
