//! A ban's vocabulary: the desired ban ([`BanState`]), a request to make one
//! ([`BanRequest`], with what to do about the allowlist and when to return), and the one
//! name of its origin ([`origin_name`]) that `ban list`, `ip`, events and metrics share.

use std::{borrow::Cow, time::Duration};

use sec_agent_common::{BanEntry, BanReason};

use crate::{clock, inspect::detect::DetectionKind, net::Target};

/// A ban as the agent wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanState {
    /// Expiry in ms since the Unix epoch; 0 = permanent.
    pub expires_ms: u64,
    /// Who or what banned.
    pub reason: BanReason,
    /// Note shown by `ban list`.
    pub note: Option<String>,
}

impl BanState {
    pub(super) fn active(&self, now_ms: u64) -> bool {
        self.expires_ms == 0 || now_ms < self.expires_ms
    }

    /// The kernel entry for this ban: wall-clock expiry turned into boot-time ns.
    pub(super) fn entry(&self, now_ms: u64) -> BanEntry {
        let expires_ns = if self.expires_ms == 0 {
            0
        } else {
            let left_ms = self.expires_ms.saturating_sub(now_ms).max(1);
            clock::boot_ns().saturating_add(left_ms.saturating_mul(1_000_000))
        };
        BanEntry {
            expires_ns,
            reason: self.reason.code(),
            _pad: 0,
        }
    }
}

/// A ban to make: what, how long, why, and how careful to be.
#[derive(Clone, Copy, Debug)]
pub struct BanRequest<'a> {
    /// Address or range.
    pub target: Target,
    /// TTL; `None` is permanent.
    pub ttl: Option<Duration>,
    /// Who or what bans.
    pub reason: BanReason,
    /// Note shown by `ban list` (at most 64 bytes kept).
    pub note: Option<&'a str>,
    /// What to do when the target overlaps the allowlist.
    pub overlap: Overlap,
    /// When to return.
    pub durability: Durability,
}

/// A ban that overlaps an allowlisted network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overlap {
    /// Refuse it (an operator's ban without `--force`).
    Refuse,
    /// Store it anyway (the allowlist still wins in the kernel); detection bans, whose
    /// source the decide stage already checked.
    Force,
}

/// When a ban call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Once the journal line is synced to disk (operator changes: acknowledged means
    /// kept).
    Synced,
    /// Once the kernel map holds the ban; the journal line follows with the next sync
    /// (detection bans: latency first).
    KernelFirst,
}

/// The name of a ban's origin, the same in `ban list`, `ip`, events and metrics, with or
/// without the agent: `manual`, `imported`, a detection name, `detection:N` for a
/// detection code this build does not know, `unknown` otherwise.
pub fn origin_name(reason: BanReason) -> Cow<'static, str> {
    match reason {
        BanReason::Manual => "manual".into(),
        BanReason::Imported => "imported".into(),
        BanReason::Detection(k) => DetectionKind::from_code(k)
            .map_or_else(|| format!("detection:{k}").into(), |d| d.name().into()),
        BanReason::Unknown(_) => "unknown".into(),
    }
}
