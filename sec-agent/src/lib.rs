//! sec-agent: a Linux host security agent.
//!
//! Pipeline stages, one module each: (capture -> reassemble -> parse -> detect -> decide ->)
//! [`enforce`]. The kernel fast path (XDP) lives in the `sec-agent-ebpf` crate and shares
//! its map types with this crate through `sec-agent-common`.

#![warn(missing_docs)]

pub mod capture;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod daemon;
pub mod decide;
pub mod detect;
pub mod enforce;
pub mod error;
pub mod events;
pub mod lru_table;
pub mod metrics;
pub mod net;
pub mod normalize;
pub mod parse;
pub mod pipeline;
pub mod reassemble;
pub mod repeats;
pub mod sources;
pub mod state;
pub mod systemd;

/// The XDP object, built by `build.rs` (aya-build) for `bpfel-unknown-none`.
pub static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sec-agent-ebpf"));

/// Name of the XDP program inside [`EBPF_OBJECT`].
pub const XDP_PROGRAM: &str = "sec_agent";

/// Name of the capture socket filter inside [`EBPF_OBJECT`].
pub const CAPTURE_PROGRAM: &str = "sec_agent_capture";

/// Default pin directory for maps and links (on the bpffs at `/sys/fs/bpf`).
pub const DEFAULT_PIN_PATH: &str = "/sys/fs/bpf/sec-agent";
