//! Capture: a copy of the host's HTTP traffic, filtered in the kernel by the
//! `sec_agent_capture` socket filter and delivered through a memory-mapped TPACKET_V2 or V3
//! ring per interface. Packets that XDP drops never get here; both directions do (requests in,
//! responses out).
//!
//! Only cleartext HTTP is inspected: TLS traffic on an HTTP port is filtered in, fails to
//! parse as HTTP, and is counted and skipped.

pub mod decode;
pub mod ring;

pub use decode::{DecodeError, Segment, TcpFlags, decode};
pub use ring::{PacketRing, RingConfig, RingStats, RingVersion};
