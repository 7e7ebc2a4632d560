//! The operator verbs (`ban add|del`, `allow add|del`, `ip`), written once over [`Ops`].
//! The running agent applies them to its journaled [`Store`]; the CLI, when no agent
//! answers, to the pinned maps. Either way the same checks run, the same errors come
//! back and `ip` describes an address in the same words.

use std::{
    net::IpAddr,
    time::{Duration, UNIX_EPOCH},
};

use anyhow::Result;
use ipnet::IpNet;
use sec_agent_common::{BanEntry, BanReason};
use serde_json::{Value, json};

use super::{
    source_log::SourceInfo,
    state::{AddressInfo, BanRequest, BanState, Overlap, Store, now_ms, origin_name},
};
use crate::{clock, error::input_error, kernel::KernelMaps, net::Target};

/// What the verbs change and read.
pub trait Ops {
    /// Bans a target.
    ///
    /// # Errors
    /// Allowlist overlap without [`Overlap::Force`] (input error), full map, journal.
    fn ban(&mut self, request: BanRequest<'_>) -> Result<()>;
    /// Removes the ban of exactly `target`; whether there was one.
    ///
    /// # Errors
    /// The maps or the journal failed.
    fn unban(&mut self, target: Target) -> Result<bool>;
    /// Allowlists `net`.
    ///
    /// # Errors
    /// Full map, journal.
    fn allow(&mut self, net: IpNet) -> Result<()>;
    /// Removes `net` from the allowlist; whether it was there.
    ///
    /// # Errors
    /// An entry of the config file (input error), the maps or the journal failed.
    fn disallow(&mut self, net: IpNet) -> Result<bool>;
    /// The ban covering `addr` (exact first, then the longest range) and whether it is
    /// allowlisted.
    ///
    /// # Errors
    /// The maps cannot be read.
    fn lookup(&mut self, addr: IpAddr) -> Result<AddressInfo>;
}

impl Ops for &Store {
    fn ban(&mut self, request: BanRequest<'_>) -> Result<()> {
        Store::ban(self, request)
    }
    fn unban(&mut self, target: Target) -> Result<bool> {
        Store::unban(self, target)
    }
    fn allow(&mut self, net: IpNet) -> Result<()> {
        Store::allow(self, net)
    }
    fn disallow(&mut self, net: IpNet) -> Result<bool> {
        Store::disallow(self, net)
    }
    fn lookup(&mut self, addr: IpAddr) -> Result<AddressInfo> {
        Store::lookup(self, addr)
    }
}

/// Directly on the pinned maps: not journaled (the agent adopts such entries when it
/// starts), expiries on the boot clock.
impl Ops for KernelMaps {
    fn ban(&mut self, request: BanRequest<'_>) -> Result<()> {
        let entry = BanEntry {
            expires_ns: clock::expiry_after(request.ttl),
            reason: request.reason.code(),
            _pad: 0,
        };
        KernelMaps::ban(
            self,
            request.target,
            entry,
            request.note,
            request.overlap == Overlap::Force,
        )
    }
    fn unban(&mut self, target: Target) -> Result<bool> {
        KernelMaps::unban(self, target)
    }
    fn allow(&mut self, net: IpNet) -> Result<()> {
        KernelMaps::allow(self, net)
    }
    fn disallow(&mut self, net: IpNet) -> Result<bool> {
        KernelMaps::disallow(self, net)
    }
    fn lookup(&mut self, addr: IpAddr) -> Result<AddressInfo> {
        let addr = addr.to_canonical();
        let now = clock::boot_ns();
        let ban = self
            .bans()?
            .into_iter()
            .filter(|b| b.entry.active(now) && b.target.net().contains(&addr))
            .max_by_key(|b| {
                (
                    matches!(b.target, Target::Addr(_)),
                    b.target.net().prefix_len(),
                )
            })
            .map(|b| {
                let expires_ms = clock::remaining(b.entry.expires_ns)
                    .map_or(0, |left| now_ms().saturating_add(left.as_millis() as u64));
                let state = BanState {
                    expires_ms,
                    reason: BanReason::from_code(b.entry.reason),
                    note: b.note,
                };
                (b.target, state)
            });
        Ok(AddressInfo {
            ban,
            allowlisted: self.allowlisted(addr)?,
        })
    }
}

/// An operator's ban of `target` for `ttl` (`None`: permanent).
///
/// # Errors
/// As [`Ops::ban`].
pub fn ban(
    ops: &mut impl Ops,
    target: Target,
    ttl: Option<Duration>,
    note: Option<&str>,
    force: bool,
    durability: super::state::Durability,
) -> Result<()> {
    ops.ban(BanRequest {
        target,
        ttl,
        reason: BanReason::Manual,
        note,
        overlap: if force {
            Overlap::Force
        } else {
            Overlap::Refuse
        },
        durability,
    })
}

/// Removes each of `items` with `remove`; returns those removed.
///
/// # Errors
/// [`crate::error::InputError`] `"{absent}: a, b"` naming those that were not there (the
/// others are removed all the same), or the first failure of `remove`.
pub fn remove_each<T: Copy + std::fmt::Display>(
    items: &[T],
    mut remove: impl FnMut(T) -> Result<bool>,
    absent: &str,
) -> Result<(Vec<T>, Result<()>)> {
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for &item in items {
        if remove(item)? {
            done.push(item);
        } else {
            missing.push(item.to_string());
        }
    }
    let rest = if missing.is_empty() {
        Ok(())
    } else {
        Err(input_error(format!("{absent}: {}", missing.join(", "))))
    };
    Ok((done, rest))
}

/// `sec-agent ip`: what is known about `addr`; `source` is the agent's per-source memory
/// (absent without an agent).
///
/// # Errors
/// As [`Ops::lookup`].
pub fn address(ops: &mut impl Ops, addr: IpAddr, source: Option<SourceInfo>) -> Result<Value> {
    let info = ops.lookup(addr)?;
    let mut out = json!({
        "address": addr.to_canonical().to_string(),
        "banned": info.ban.is_some(),
        "ban": info.ban.map(|(t, b)| json!({
            "target": t.to_string(),
            "origin": origin_name(b.reason),
            "note": b.note,
            "permanent": b.expires_ms == 0,
            "expires": (b.expires_ms != 0).then(|| rfc3339_ms(b.expires_ms)),
            "ttl_remaining_secs": (b.expires_ms != 0).then(|| b.expires_ms.saturating_sub(now_ms()) / 1000),
        })),
        "allowlisted": info.allowlisted,
    });
    if let Some(s) = source {
        out["requests"] = json!(s.requests);
        out["client_errors"] = json!(s.client_errors);
        out["bans_issued"] = json!(s.bans);
        out["recent_detections"] = json!(s.recent);
    }
    Ok(out)
}

fn rfc3339_ms(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}
