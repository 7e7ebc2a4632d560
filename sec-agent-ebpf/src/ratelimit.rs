//! Per-source token bucket (the classic policer of RFC 2697's single-rate meter, one bucket).
//!
//! Concurrency trade-off: a bucket is read-modified-written in place without a lock. Two
//! CPUs handling the same source at the same instant can both read the same token count
//! and each take one token from it, so one of the two decrements is lost: the limiter then
//! admits at most one extra packet per racing CPU per race, never fewer than configured.
//! A `bpf_spin_lock` in the value would make the update exact, but costs a locked
//! operation on every packet of every source, and a per-CPU bucket would multiply the
//! effective rate by the number of CPUs receiving the source. NICs steer a flow to one
//! RX queue (RSS), so a source's packets mostly stay on one CPU and races are rare; a small
//! over-admission under a multi-queue flood is the accepted cost of a lock-free fast path.

use sec_agent_common::{NANOS_PER_SEC, RateConfig, RateKey, TokenBucket};

use crate::maps::RATE_STATE;

/// Takes one token from `key`'s bucket; `false` when the bucket is empty (drop).
#[inline(always)]
pub fn admit(cfg: &RateConfig, key: &RateKey, now_ns: u64) -> bool {
    let Some(bucket) = RATE_STATE.get_ptr_mut(key) else {
        // First packet of this source: a full bucket minus this packet. A failed insert
        // (another CPU inserted first) only means this packet is not charged.
        let fresh = TokenBucket {
            tokens: cfg.capacity - NANOS_PER_SEC,
            last_ns: now_ns,
        };
        let _ = RATE_STATE.insert(key, fresh, 0);
        return true;
    };
    // SAFETY: the pointer comes from a successful lookup and stays valid for this program
    // run (LRU elements are RCU-freed).
    let bucket = unsafe { &mut *bucket };
    let elapsed = now_ns.saturating_sub(bucket.last_ns);
    let tokens = if elapsed >= cfg.fill_ns {
        cfg.capacity
    } else {
        // elapsed < fill_ns, so elapsed * pps <= capacity + pps: no overflow (see MAX_BURST).
        let refilled = bucket.tokens + elapsed * cfg.pps;
        if refilled > cfg.capacity {
            cfg.capacity
        } else {
            refilled
        }
    };
    bucket.last_ns = now_ns;
    if tokens >= NANOS_PER_SEC {
        bucket.tokens = tokens - NANOS_PER_SEC;
        true
    } else {
        bucket.tokens = tokens;
        false
    }
}
