//! The program's maps. Names must match `sec_agent_common::maps`; all are pinned by name so a
//! restarted agent and the CLI find them under the pin directory. Capacities here are the
//! defaults; the agent overrides them at load time from its config.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray},
};
use sec_agent_common::{
    BanEntry, Counter, IfaceInfo, Note, NoteKey, RateConfig, RateKey, TokenBucket, Verdict,
    maps::{
        DEFAULT_ALLOW_ENTRIES, DEFAULT_BAN_ENTRIES, DEFAULT_NOTE_ENTRIES, DEFAULT_RANGE_ENTRIES,
        DEFAULT_RATE_ENTRIES, MAX_IFACES, PORT_SLOTS,
    },
};

#[map(name = "allow_v4")]
pub static ALLOW_V4: LpmTrie<[u8; 4], u8> = LpmTrie::pinned(DEFAULT_ALLOW_ENTRIES, 0);

#[map(name = "allow_v6")]
pub static ALLOW_V6: LpmTrie<[u8; 16], u8> = LpmTrie::pinned(DEFAULT_ALLOW_ENTRIES, 0);

// Exact bans are not preallocated: memory follows the number of bans, not the capacity,
// so a 1M-entry default costs nothing until it is used.
#[map(name = "ban_v4")]
pub static BAN_V4: HashMap<[u8; 4], BanEntry> =
    HashMap::pinned(DEFAULT_BAN_ENTRIES, BPF_F_NO_PREALLOC);

#[map(name = "ban_v6")]
pub static BAN_V6: HashMap<[u8; 16], BanEntry> =
    HashMap::pinned(DEFAULT_BAN_ENTRIES, BPF_F_NO_PREALLOC);

#[map(name = "range_v4")]
pub static RANGE_V4: LpmTrie<[u8; 4], BanEntry> = LpmTrie::pinned(DEFAULT_RANGE_ENTRIES, 0);

#[map(name = "range_v6")]
pub static RANGE_V6: LpmTrie<[u8; 16], BanEntry> = LpmTrie::pinned(DEFAULT_RANGE_ENTRIES, 0);

#[map(name = "rate_cfg")]
pub static RATE_CFG: Array<RateConfig> = Array::pinned(1, 0);

#[map(name = "rate_state")]
pub static RATE_STATE: LruHashMap<RateKey, TokenBucket> =
    LruHashMap::pinned(DEFAULT_RATE_ENTRIES, 0);

#[map(name = "ports")]
pub static PORTS: Array<u8> = Array::pinned(PORT_SLOTS, 0);

#[map(name = "stats")]
pub static STATS: PerCpuArray<Counter> = PerCpuArray::pinned(Verdict::COUNT, 0);

#[map(name = "http_ports")]
pub static HTTP_PORTS: Array<u8> = Array::pinned(PORT_SLOTS, 0);

// The two maps below are read and written by user space only; they live in the object so
// that they are created, sized and pinned together with the others.
#[map(name = "ban_notes")]
pub static BAN_NOTES: HashMap<NoteKey, Note> =
    HashMap::pinned(DEFAULT_NOTE_ENTRIES, BPF_F_NO_PREALLOC);

#[map(name = "ifaces")]
pub static IFACES: HashMap<u32, IfaceInfo> = HashMap::pinned(MAX_IFACES, 0);
