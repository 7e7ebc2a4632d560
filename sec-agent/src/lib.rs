//! sec-agent: a Linux host security agent.
//!
//! A request's way through the agent, one folder per side:
//! - [`inspect`], the inspection stages, pure user-space code without BPF:
//!   [`inspect::decode`] (frame -> TCP segment) -> [`inspect::reassemble`] (segments ->
//!   ordered streams) -> [`inspect::parse`] (streams -> HTTP/1.x messages) ->
//!   [`inspect::normalize`] (message -> decoded fields) -> [`inspect::detect`] (fields ->
//!   findings) -> [`inspect::decide`] (finding -> outcome, through an
//!   [`inspect::decide::Enforcer`]).
//! - [`kernel`], the kernel side: program loading, the pinned maps, the capture ring and
//!   sock_diag. The XDP program itself lives in the `sec-agent-ebpf` crate and shares its
//!   map types with this crate through `sec-agent-common`.
//! - [`pipeline`] runs the stages on one thread, from capture ring to enforcement, so a
//!   ban is in the kernel map before the request that earned it is logged; [`offline`]
//!   runs them on files (`sec-agent inspect`).
//! - [`service`], the running agent: daemon, control socket, desired state and journal,
//!   metrics, events, systemd.
//! - [`cli`], the `sec-agent` command line.

#![warn(missing_docs)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod de;
pub mod error;
pub mod inspect;
pub mod kernel;
pub mod lru_table;
pub mod net;
pub mod offline;
pub mod pipeline;
pub mod service;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The XDP object, built by `build.rs` (aya-build) for `bpfel-unknown-none`; empty when the
/// crate is built without its default `ebpf` feature (inspection code and its tests then
/// build without nightly and bpf-linker, and loading the programs fails with a clear error).
#[cfg(feature = "ebpf")]
pub static EBPF_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sec-agent-ebpf"));

/// See the `ebpf` feature's [`EBPF_OBJECT`].
#[cfg(not(feature = "ebpf"))]
pub static EBPF_OBJECT: &[u8] = &[];

/// Name of the XDP program inside [`EBPF_OBJECT`].
pub const XDP_PROGRAM: &str = "sec_agent";

/// Name of the capture socket filter inside [`EBPF_OBJECT`].
pub const CAPTURE_PROGRAM: &str = "sec_agent_capture";

/// Default pin directory for maps and links (on the bpffs at `/sys/fs/bpf`).
pub const DEFAULT_PIN_PATH: &str = "/sys/fs/bpf/sec-agent";
