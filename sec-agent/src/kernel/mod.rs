//! The kernel side: loads and attaches the XDP program and the capture socket filter,
//! reads and writes the pinned maps (bans, allowlist, restricted ports, rate limits,
//! counters), owns the capture rings and destroys connections through sock_diag.

pub mod bpffs;
pub mod capture;
pub mod loader;
pub mod maps;
pub mod sockdiag;

pub use maps::KernelMaps;
