//! Map names (also their pin file names under the pin directory) and default capacities.
//!
//! Names are at most 15 bytes, the kernel's `BPF_OBJ_NAME_LEN - 1`.

/// LPM trie, key `Key<[u8; 4]>`, value `u8`: IPv4 allowlist (CIDR).
pub const ALLOW_V4: &str = "allow_v4";
/// LPM trie, key `Key<[u8; 16]>`, value `u8`: IPv6 allowlist (CIDR).
pub const ALLOW_V6: &str = "allow_v6";
/// Hash, key `[u8; 4]`, value [`crate::BanEntry`]: exact IPv4 bans.
pub const BAN_V4: &str = "ban_v4";
/// Hash, key `[u8; 16]`, value [`crate::BanEntry`]: exact IPv6 bans.
pub const BAN_V6: &str = "ban_v6";
/// LPM trie, key `Key<[u8; 4]>`, value [`crate::BanEntry`]: IPv4 range bans.
pub const RANGE_V4: &str = "range_v4";
/// LPM trie, key `Key<[u8; 16]>`, value [`crate::BanEntry`]: IPv6 range bans.
pub const RANGE_V6: &str = "range_v6";
/// Array of one [`crate::RateConfig`].
pub const RATE_CFG: &str = "rate_cfg";
/// LRU hash, key [`crate::RateKey`], value [`crate::TokenBucket`].
pub const RATE_STATE: &str = "rate_state";
/// Array of 65,536 `u8` indexed by destination port: [`crate::PORT_TCP`] | [`crate::PORT_UDP`].
pub const PORTS: &str = "ports";
/// Per-CPU array of [`crate::Counter`] indexed by [`crate::Verdict`].
pub const STATS: &str = "stats";
/// Array of 65,536 `u8` indexed by TCP port: non-zero marks an HTTP port whose traffic the
/// capture socket filter passes to user space.
pub const HTTP_PORTS: &str = "http_ports";
/// Hash, key [`crate::NoteKey`], value [`crate::Note`]: operator notes (user space only).
pub const BAN_NOTES: &str = "ban_notes";
/// Hash, key ifindex `u32`, value [`crate::IfaceInfo`]: attach modes (user space only).
pub const IFACES: &str = "ifaces";

/// Default capacity of each exact-ban map (per family).
pub const DEFAULT_BAN_ENTRIES: u32 = 1 << 20;
/// Default capacity of each range-ban map (per family).
pub const DEFAULT_RANGE_ENTRIES: u32 = 1 << 16;
/// Default capacity of each allowlist trie (per family).
pub const DEFAULT_ALLOW_ENTRIES: u32 = 1 << 14;
/// Default capacity of the rate-limit LRU (both families).
pub const DEFAULT_RATE_ENTRIES: u32 = 1 << 20;
/// Capacity of the notes map.
pub const DEFAULT_NOTE_ENTRIES: u32 = 1 << 16;
/// Capacity of the interface map.
pub const MAX_IFACES: u32 = 256;
/// Number of slots in the ports array: one per port number.
pub const PORT_SLOTS: u32 = 1 << 16;
