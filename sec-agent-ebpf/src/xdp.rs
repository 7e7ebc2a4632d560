//! The XDP entry point and the verdict order.

use aya_ebpf::{
    bindings::xdp_action,
    helpers::bpf_ktime_get_boot_ns,
    macros::xdp,
    maps::{HashMap, LpmTrie, lpm_trie::Key},
    programs::XdpContext,
};
use sec_agent_common::{BanEntry, RateConfig, RateKey, Verdict};

use crate::{
    maps::{ALLOW_V4, ALLOW_V6, BAN_V4, BAN_V6, PORTS, RANGE_V4, RANGE_V6, RATE_CFG, STATS},
    parse::{self, Frame, L4},
    ratelimit,
};

#[xdp]
pub fn sec_agent(ctx: XdpContext) -> u32 {
    let verdict = match parse::parse(&ctx) {
        Frame::V4 { src, l4 } => judge(
            src,
            l4,
            Family {
                allow: &ALLOW_V4,
                ban: &BAN_V4,
                range: &RANGE_V4,
            },
        ),
        Frame::V6 { src, l4 } => judge(
            src,
            l4,
            Family {
                allow: &ALLOW_V6,
                ban: &BAN_V6,
                range: &RANGE_V6,
            },
        ),
        Frame::NonIp => Verdict::PassNonIp,
        Frame::Malformed => Verdict::PassMalformed,
    };
    count(verdict, (ctx.data_end() - ctx.data()) as u64);
    if verdict.is_drop() {
        xdp_action::XDP_DROP
    } else {
        xdp_action::XDP_PASS
    }
}

/// The maps of one address family; `N` is the address length in bytes (4 or 16).
struct Family<const N: usize> {
    allow: &'static LpmTrie<[u8; N], u8>,
    ban: &'static HashMap<[u8; N], BanEntry>,
    range: &'static LpmTrie<[u8; N], BanEntry>,
}

/// Boot-time clock read at most once per packet, and only when a rule needs it.
struct Clock(u64);

impl Clock {
    #[inline(always)]
    fn now(&mut self) -> u64 {
        if self.0 == 0 {
            // SAFETY: helper without arguments, available from Linux 5.8.
            self.0 = unsafe { bpf_ktime_get_boot_ns() };
        }
        self.0
    }
}

/// The verdict for a source. The allowlist beats every drop, but it is looked up only when
/// a rule would drop or rate-limit the packet: a clean packet (the common case) then costs
/// no LPM trie walk, and `pass_allowlist` counts the packets the allowlist actually saved.
#[inline(always)]
fn judge<const N: usize>(src: [u8; N], l4: Option<L4>, maps: Family<N>) -> Verdict {
    let full = Key::new((N * 8) as u32, src);
    let unless_allowed = |verdict: Verdict| {
        if maps.allow.get(&full).is_some() {
            Verdict::PassAllowlist
        } else {
            verdict
        }
    };
    if let Some(l4) = l4
        && let Some(restricted) = PORTS.get(l4.dst_port as u32)
        && *restricted & parse::port_bit(l4.proto) != 0
    {
        return unless_allowed(Verdict::DropRestrictedPort);
    }
    let mut clock = Clock(0);
    // SAFETY: BanEntry is plain data; a concurrent update by user space can at worst show
    // a torn old/new entry for this one packet.
    if let Some(entry) = unsafe { maps.ban.get(src) }
        && entry.active_with(|| clock.now())
    {
        return unless_allowed(Verdict::DropBanned);
    }
    if let Some(entry) = maps.range.get(&full)
        && entry.active_with(|| clock.now())
    {
        return unless_allowed(Verdict::DropRange);
    }
    if let Some(cfg) = RATE_CFG.get(0)
        && cfg.pps != 0
    {
        // Before the bucket: an allowlisted source takes no tokens and no LRU slot.
        if maps.allow.get(&full).is_some() {
            return Verdict::PassAllowlist;
        }
        if !ratelimit::admit(cfg, &rate_key(cfg, &src), clock.now()) {
            return Verdict::DropRatelimit;
        }
    }
    Verdict::Pass
}

/// The source masked to its bucket prefix; IPv4 is IPv4-mapped into 16 bytes.
#[inline(always)]
fn rate_key<const N: usize>(cfg: &RateConfig, src: &[u8; N]) -> RateKey {
    let mut key = RateKey::default();
    if N == 4 {
        key.addr[10] = 0xff;
        key.addr[11] = 0xff;
        for (k, (s, m)) in key.addr[12..].iter_mut().zip(src.iter().zip(cfg.v4_mask)) {
            *k = s & m;
        }
    } else {
        for (k, (s, m)) in key.addr.iter_mut().zip(src.iter().zip(cfg.v6_mask)) {
            *k = s & m;
        }
    }
    key
}

#[inline(always)]
fn count(verdict: Verdict, bytes: u64) {
    if let Some(counter) = STATS.get_ptr_mut(verdict as u32) {
        // SAFETY: per-CPU slot, no other writer while this program runs on this CPU.
        unsafe {
            (*counter).packets += 1;
            (*counter).bytes += bytes;
        }
    }
}
