//! Types shared by the sec-agent XDP program (kernel) and the agent (user space).
//!
//! Every type here is `#[repr(C)]` plain old data: its layout *is* the BPF map ABI, so
//! changing a field is a breaking change for maps pinned by an older agent.
//! Addresses are stored as network-order bytes (`[u8; 4]` / `[u8; 16]`), exactly as they
//! appear in the packet, so the kernel copies them without byte swapping.
#![no_std]
#![warn(missing_docs)]

pub mod maps;
mod reason;
mod verdict;

pub use reason::BanReason;
pub use verdict::Verdict;

/// Nanoseconds per second: the fixed-point scale of [`TokenBucket::tokens`].
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Value of the exact-ban and range-ban maps (`ban_v4`, `ban_v6`, `range_v4`, `range_v6`).
///
/// 16 bytes. `expires_ns` is on the boot-time clock (`CLOCK_BOOTTIME` in user space,
/// `bpf_ktime_get_boot_ns()` in the kernel), so it keeps counting across suspend;
/// `0` means the ban never expires. An expired entry no longer drops (the XDP program
/// treats it as absent) and is removed by the agent's sweeper.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BanEntry {
    /// Expiry in ns on the boot-time clock; `0` = permanent.
    pub expires_ns: u64,
    /// Why the source is banned: a [`BanReason`] code.
    pub reason: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

impl BanEntry {
    /// Whether the entry still drops at boot-time instant `now_ns`.
    #[inline(always)]
    pub fn active(&self, now_ns: u64) -> bool {
        self.expires_ns == 0 || now_ns < self.expires_ns
    }

    /// [`BanEntry::active`] that reads the clock only for an entry that can expire: the
    /// XDP program's boot-time clock read costs about as much as the ban lookup itself,
    /// and permanent bans never need it.
    #[inline(always)]
    pub fn active_with(&self, now_ns: impl FnOnce() -> u64) -> bool {
        self.expires_ns == 0 || now_ns() < self.expires_ns
    }
}

/// The single entry of the `rate_cfg` array: the per-source token bucket policy.
///
/// `pps == 0` disables rate limiting. A source's bucket holds at most `burst` packets and
/// refills at `pps` packets per second. Sources are grouped by prefix: all IPv4 addresses
/// in the same `/v4_prefix` (default 32) and all IPv6 addresses in the same `/v6_prefix`
/// (default 64, one customer's allocation) share one bucket.
///
/// Build it with [`RateConfig::new`]: the other fields are derived so that the packet path
/// needs no division and no shifts.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateConfig {
    /// Sustained rate in packets per second; `0` = rate limiting off.
    pub pps: u64,
    /// Bucket depth in packets (how many back-to-back packets pass after idling), >= 1.
    pub burst: u64,
    /// Derived: bucket capacity in token units, `burst * NANOS_PER_SEC`.
    pub capacity: u64,
    /// Derived: ns an empty bucket needs to fill up, `capacity / pps`.
    pub fill_ns: u64,
    /// Prefix length (0..=32) that groups IPv4 sources into one bucket.
    pub v4_prefix: u32,
    /// Prefix length (0..=128) that groups IPv6 sources into one bucket.
    pub v6_prefix: u32,
    /// Derived: network mask of `v4_prefix`, network order.
    pub v4_mask: [u8; 4],
    /// Derived: network mask of `v6_prefix`, network order.
    pub v6_mask: [u8; 16],
    /// Reserved, zero.
    pub _pad: [u8; 4],
}

impl RateConfig {
    /// Largest accepted `burst`: keeps `capacity` and the refill arithmetic far from
    /// `u64` overflow (2 * 10^9 * 10^9 < 2^64).
    pub const MAX_BURST: u64 = 1_000_000_000;
    /// Largest accepted `pps`.
    pub const MAX_PPS: u64 = 1_000_000_000;

    /// Builds a policy; `None` when a value is out of range (`pps` or `burst` above the
    /// maxima, `burst == 0` while `pps > 0`, a prefix longer than the family's address).
    pub fn new(pps: u64, burst: u64, v4_prefix: u32, v6_prefix: u32) -> Option<Self> {
        if pps > Self::MAX_PPS || burst > Self::MAX_BURST || (pps > 0 && burst == 0) {
            return None;
        }
        if v4_prefix > 32 || v6_prefix > 128 {
            return None;
        }
        let capacity = burst * NANOS_PER_SEC;
        Some(RateConfig {
            pps,
            burst,
            capacity,
            fill_ns: if pps == 0 { 0 } else { capacity.div_ceil(pps) },
            v4_prefix,
            v6_prefix,
            v4_mask: prefix_mask::<4>(v4_prefix),
            v6_mask: prefix_mask::<16>(v6_prefix),
            _pad: [0; 4],
        })
    }
}

/// Network mask of `prefix` bits over an `N`-byte address (bits past `8 * N` are ignored).
pub fn prefix_mask<const N: usize>(prefix: u32) -> [u8; N] {
    let mut mask = [0u8; N];
    let mut bits = prefix as usize;
    for byte in mask.iter_mut() {
        let take = bits.min(8);
        *byte = if take == 0 { 0 } else { 0xffu8 << (8 - take) };
        bits -= take;
    }
    mask
}

/// Key of the `rate_state` LRU map: the source address masked to its bucket prefix.
///
/// IPv4 sources are stored IPv4-mapped (`::ffff:a.b.c.d`, RFC 4291 section 2.5.5.2) so
/// both families share one map and one capacity.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RateKey {
    /// Masked source address, network byte order.
    pub addr: [u8; 16],
}

/// Value of the `rate_state` map: one source's token bucket.
///
/// `tokens` is fixed point: one packet = [`NANOS_PER_SEC`] units, so the refill
/// `elapsed_ns * pps` needs no division on the packet path.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenBucket {
    /// Tokens left, in packets x 10^9.
    pub tokens: u64,
    /// Boot-time ns of the last refill.
    pub last_ns: u64,
}

/// One slot of the per-CPU `stats` array: what one [`Verdict`] saw.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Packets (frames) given this verdict.
    pub packets: u64,
    /// Bytes of those frames, from the Ethernet header on.
    pub bytes: u64,
}

/// Bit in a `ports` array slot: TCP to this destination port is restricted.
pub const PORT_TCP: u8 = 1;
/// Bit in a `ports` array slot: UDP to this destination port is restricted.
pub const PORT_UDP: u8 = 2;

/// Value of the user-space-only `ifaces` map (key: ifindex): how the agent attached.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfaceInfo {
    /// 1 = native (driver) XDP, 2 = generic (skb) XDP.
    pub mode: u32,
    /// Interface name, NUL padded (`IFNAMSIZ` = 16). Kept because an ifindex only means
    /// something inside the agent's network namespace, and the CLI may run in another.
    pub name: [u8; 16],
    /// Reserved, zero.
    pub _pad: u32,
}

/// Key of the user-space-only `ban_notes` map: which ban a note belongs to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NoteKey {
    /// 4 or 6.
    pub family: u32,
    /// Prefix length of the ban (32/128 for exact bans).
    pub prefix_len: u32,
    /// Address, network order; IPv4 uses the first 4 bytes.
    pub addr: [u8; 16],
}

/// Longest operator note (`ban add --reason TEXT`) kept with a ban, in bytes.
pub const NOTE_LEN: usize = 64;

/// Value of the `ban_notes` map: the operator's free text, NUL padded UTF-8.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// UTF-8 text, NUL padded.
    pub text: [u8; NOTE_LEN],
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all are #[repr(C)], made only of integers and byte arrays, with no implicit padding.
    unsafe impl aya::Pod for super::BanEntry {}
    unsafe impl aya::Pod for super::RateConfig {}
    unsafe impl aya::Pod for super::RateKey {}
    unsafe impl aya::Pod for super::TokenBucket {}
    unsafe impl aya::Pod for super::Counter {}
    unsafe impl aya::Pod for super::IfaceInfo {}
    unsafe impl aya::Pod for super::NoteKey {}
    unsafe impl aya::Pod for super::Note {}
}
