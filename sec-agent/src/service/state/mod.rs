//! State that survives: the desired bans and allowlist, kept in a journal on disk and
//! enforced in the kernel maps.
//!
//! The running agent is the only writer of the journal. Every change goes journal-side and
//! map-side through [`Store`], which the inspection pipeline, the control socket and the
//! sweeper share.
//!
//! On start the journal is replayed, expired bans are dropped and the rest restored with
//! their remaining TTL (fail2ban's restore semantics). Entries that only the pinned maps
//! hold are adopted into the journal: they are bans made by the CLI while the agent was
//! down, or detection bans whose journal line a crash cut off. Entries the journal says
//! were removed are removed from the maps too. While the agent runs, [`Store::reconcile`]
//! makes the maps match the desired state again (missing entries re-added, extra ones
//! removed, stale expiries refreshed) and counts each repair, which covers the bouncer
//! failure modes where live decisions silently go missing from the kernel set and re-bans
//! do not extend the expiry.

mod ban;
pub mod journal;

pub use ban::{BanRequest, BanState, Durability, Overlap, origin_name};

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    net::IpAddr,
    path::Path,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, Result};
use ipnet::IpNet;
use journal::{Journal, Record, Ticket};
use sec_agent_common::{BanEntry, BanReason};

use crate::{clock, error::input_error, kernel::KernelMaps, net::Target};

/// Repairs made by reconciliation (monotonic counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Desired entries that were missing from the maps.
    pub missing: u64,
    /// Map entries that were not desired.
    pub extra: u64,
    /// Bans whose expiry or reason in the map differed.
    pub stale: u64,
}

impl Repairs {
    /// Total repairs.
    pub fn total(&self) -> u64 {
        self.missing + self.extra + self.stale
    }
}

/// What the start-up restore did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Bans restored from the journal.
    pub bans: usize,
    /// Journal bans dropped because they had expired.
    pub expired: usize,
    /// Entries adopted from the pinned maps.
    pub adopted: usize,
    /// Torn or unreadable journal lines skipped.
    pub skipped_lines: usize,
    /// Repairs applied to the maps to match.
    pub repairs: u64,
}

/// Everything about one address, for `sec-agent ip`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressInfo {
    /// The ban covering it (exact first, then the longest range), if any.
    pub ban: Option<(Target, BanState)>,
    /// Whether it is allowlisted.
    pub allowlisted: bool,
}

struct Inner {
    journal: Journal,
    maps: KernelMaps,
    bans: HashMap<Target, BanState>,
    /// Allowlist changes made at run time (journaled).
    allow: BTreeSet<IpNet>,
    /// Allowlist entries from the config (not journaled: the config is their record).
    config_allow: BTreeSet<IpNet>,
    lines: usize,
    repairs: Repairs,
}

/// The desired state, its journal and the maps, behind one lock.
pub struct Store {
    inner: Mutex<Inner>,
}

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Store {
    /// Opens the journal in `state_dir`, restores it, adopts map-only entries, makes the maps
    /// match and compacts the journal.
    ///
    /// # Errors
    /// The state directory or journal cannot be used, or the maps cannot be read.
    pub fn open(
        state_dir: &Path,
        maps: KernelMaps,
        config_allow: &[IpNet],
    ) -> Result<(Store, Restored)> {
        let (journal, loaded) = Journal::open(state_dir)?;
        let mut report = Restored {
            skipped_lines: loaded.skipped,
            ..Restored::default()
        };
        let mut bans = HashMap::new();
        let mut allow = BTreeSet::new();
        let mut removed: HashSet<Target> = HashSet::new();
        let mut disallowed: HashSet<IpNet> = HashSet::new();
        for record in &loaded.records {
            match record {
                Record::Ban {
                    target,
                    expires_ms,
                    reason,
                    note,
                } => {
                    if let Ok(t) = target.parse::<Target>() {
                        removed.remove(&t);
                        bans.insert(
                            t,
                            BanState {
                                expires_ms: *expires_ms,
                                reason: BanReason::from_code(*reason),
                                note: note.clone(),
                            },
                        );
                    }
                }
                Record::Unban { target } => {
                    if let Ok(t) = target.parse::<Target>() {
                        bans.remove(&t);
                        removed.insert(t);
                    }
                }
                Record::Allow { net } => {
                    if let Ok(n) = crate::net::parse_net(net) {
                        disallowed.remove(&n);
                        allow.insert(n);
                    }
                }
                Record::Disallow { net } => {
                    if let Ok(n) = crate::net::parse_net(net) {
                        allow.remove(&n);
                        disallowed.insert(n);
                    }
                }
            }
        }
        let now = now_ms();
        let before = bans.len();
        bans.retain(|_, b| b.active(now));
        report.expired = before - bans.len();
        report.bans = bans.len();
        let mut inner = Inner {
            journal,
            maps,
            bans,
            allow,
            config_allow: config_allow.iter().copied().collect(),
            lines: loaded.records.len(),
            repairs: Repairs::default(),
        };
        report.adopted = inner.adopt(&removed, &disallowed, now)?;
        report.repairs = inner.reconcile(now)?.total();
        inner.repairs = Repairs::default();
        inner.compact().context("compacting the journal")?;
        Ok((
            Store {
                inner: Mutex::new(inner),
            },
            report,
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bans `request.target` (re-ban: replaces TTL, reason and note); returns once the
    /// change is as durable as `request.durability` asks.
    ///
    /// # Errors
    /// As [`KernelMaps::ban`] (allowlist overlap with [`Overlap::Refuse`], full map), or the
    /// journal failed (then the ban is rolled back).
    pub fn ban(&self, request: BanRequest<'_>) -> Result<()> {
        let BanRequest {
            target,
            ttl,
            reason,
            note,
            overlap,
            durability,
        } = request;
        let (force, wait) = (overlap == Overlap::Force, durability == Durability::Synced);
        let now = now_ms();
        let state = BanState {
            expires_ms: ttl.map_or(0, |t| now.saturating_add(t.as_millis() as u64)),
            reason,
            note: note.map(str::to_string),
        };
        let record = Record::Ban {
            target: target.to_string(),
            expires_ms: state.expires_ms,
            reason: state.reason.code(),
            note: state.note.clone(),
        };
        let ticket = {
            let mut inner = self.lock();
            inner.maps.ban(target, state.entry(now), note, force)?;
            let previous = inner.bans.insert(target, state);
            let ticket = inner.append(&record, wait);
            (ticket, previous)
        };
        if let (Some(t), previous) = ticket
            && let Err(e) = t.wait()
        {
            let mut inner = self.lock();
            match previous {
                Some(p) => {
                    let entry = p.entry(now);
                    let _ = inner.maps.ban(target, entry, p.note.as_deref(), true);
                    inner.bans.insert(target, p);
                }
                None => {
                    let _ = inner.maps.unban(target);
                    inner.bans.remove(&target);
                }
            }
            return Err(e).context("journal write failed; ban not applied");
        }
        Ok(())
    }

    /// Removes the ban of exactly `target`; returns whether there was one. Durable on return.
    pub fn unban(&self, target: Target) -> Result<bool> {
        let ticket = {
            let mut inner = self.lock();
            let in_map = inner.maps.unban(target)?;
            let known = inner.bans.remove(&target).is_some();
            if !in_map && !known {
                return Ok(false);
            }
            inner.append(
                &Record::Unban {
                    target: target.to_string(),
                },
                true,
            )
        };
        durable(ticket)?;
        Ok(true)
    }

    /// Adds `net` to the allowlist. Durable on return.
    pub fn allow(&self, net: IpNet) -> Result<()> {
        let ticket = {
            let mut inner = self.lock();
            inner.maps.allow(net)?;
            inner.allow.insert(net);
            inner.append(
                &Record::Allow {
                    net: net.to_string(),
                },
                true,
            )
        };
        durable(ticket)?;
        Ok(())
    }

    /// Removes `net` from the allowlist; returns whether it was there. Durable on return.
    ///
    /// # Errors
    /// [`crate::error::InputError`] for an entry that comes from the config file (edit the
    /// file and reload instead).
    pub fn disallow(&self, net: IpNet) -> Result<bool> {
        let ticket = {
            let mut inner = self.lock();
            if inner.config_allow.contains(&net) {
                return Err(input_error(format!(
                    "{net} is allowlisted by the config file; remove it there and reload"
                )));
            }
            let in_map = inner.maps.disallow(net)?;
            let known = inner.allow.remove(&net);
            if !in_map && !known {
                return Ok(false);
            }
            inner.append(
                &Record::Disallow {
                    net: net.to_string(),
                },
                true,
            )
        };
        durable(ticket)?;
        Ok(true)
    }

    /// Replaces the config allowlist (after a reload), updating the maps.
    pub fn set_config_allow(&self, nets: &[IpNet]) -> Result<()> {
        let mut inner = self.lock();
        let new: BTreeSet<IpNet> = nets.iter().copied().collect();
        let gone: Vec<IpNet> = inner.config_allow.difference(&new).copied().collect();
        for n in gone {
            if !inner.allow.contains(&n) {
                inner.maps.disallow(n)?;
            }
        }
        for n in &new {
            inner.maps.allow(*n)?;
        }
        inner.config_allow = new;
        Ok(())
    }

    /// Whether `addr` is allowlisted (kernel lookup).
    pub fn allowlisted(&self, addr: IpAddr) -> Result<bool> {
        self.lock().maps.allowlisted(addr)
    }

    /// Removes expired bans everywhere; returns them.
    pub fn sweep(&self) -> Result<Vec<(Target, BanState)>> {
        let mut inner = self.lock();
        let now = now_ms();
        let expired: Vec<(Target, BanState)> = inner
            .bans
            .iter()
            .filter(|(_, b)| !b.active(now))
            .map(|(t, b)| (*t, b.clone()))
            .collect();
        for (t, _) in &expired {
            inner.bans.remove(t);
            inner.maps.unban(*t)?;
            inner.append(
                &Record::Unban {
                    target: t.to_string(),
                },
                false,
            );
        }
        // Expired entries the maps hold without the agent knowing them (CLI fallback).
        let boot = clock::boot_ns();
        for b in inner.maps.bans()? {
            if !b.entry.active(boot) && !inner.bans.contains_key(&b.target) {
                inner.maps.unban(b.target)?;
            }
        }
        inner.maybe_compact();
        Ok(expired)
    }

    /// Makes the maps match the desired state; returns the repairs of this pass.
    pub fn reconcile(&self) -> Result<Repairs> {
        let mut inner = self.lock();
        let now = now_ms();
        let r = inner.reconcile(now)?;
        inner.repairs.missing += r.missing;
        inner.repairs.extra += r.extra;
        inner.repairs.stale += r.stale;
        Ok(r)
    }

    /// Repairs counted since start.
    pub fn repairs(&self) -> Repairs {
        self.lock().repairs
    }

    /// Active bans by origin (for metrics).
    pub fn bans_by_reason(&self) -> HashMap<BanReason, usize> {
        let inner = self.lock();
        let now = now_ms();
        let mut out = HashMap::new();
        for b in inner.bans.values().filter(|b| b.active(now)) {
            *out.entry(b.reason).or_default() += 1;
        }
        out
    }

    /// What is known about `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Result<AddressInfo> {
        let inner = self.lock();
        let now = now_ms();
        let addr = addr.to_canonical();
        let exact = inner
            .bans
            .get(&Target::Addr(addr))
            .filter(|b| b.active(now))
            .map(|b| (Target::Addr(addr), b.clone()));
        let range = inner
            .bans
            .iter()
            .filter(|(t, b)| matches!(t, Target::Range(n) if n.contains(&addr)) && b.active(now))
            .max_by_key(|(t, _)| t.net().prefix_len())
            .map(|(t, b)| (*t, b.clone()));
        Ok(AddressInfo {
            ban: exact.or(range),
            allowlisted: inner.maps.allowlisted(addr)?,
        })
    }

    /// Runs `f` on the maps (for status and metrics reads).
    pub fn with_maps<T>(&self, f: impl FnOnce(&mut KernelMaps) -> T) -> T {
        f(&mut self.lock().maps)
    }
}

impl Inner {
    fn append(&mut self, record: &Record, wait: bool) -> Option<Ticket> {
        self.lines += 1;
        if wait {
            Some(self.journal.append(record))
        } else {
            self.journal.append_nowait(record);
            None
        }
    }

    fn snapshot(&self) -> Vec<Record> {
        let mut out: Vec<Record> = self
            .bans
            .iter()
            .map(|(t, b)| Record::Ban {
                target: t.to_string(),
                expires_ms: b.expires_ms,
                reason: b.reason.code(),
                note: b.note.clone(),
            })
            .collect();
        out.extend(
            self.allow
                .iter()
                .map(|n| Record::Allow { net: n.to_string() }),
        );
        out
    }

    fn compact(&mut self) -> std::io::Result<()> {
        let snap = self.snapshot();
        self.lines = snap.len();
        self.journal.compact(snap)
    }

    fn maybe_compact(&mut self) {
        let live = self.bans.len() + self.allow.len();
        if self.lines > journal::COMPACT_MIN.max(2 * live)
            && let Err(e) = self.compact()
        {
            tracing::warn!(error = %e, "journal compaction failed; the old journal stays");
        }
    }

    /// Takes into the desired state what only the maps hold (see the module docs); returns
    /// how many entries were adopted.
    fn adopt(
        &mut self,
        removed: &HashSet<Target>,
        disallowed: &HashSet<IpNet>,
        now: u64,
    ) -> Result<usize> {
        let boot = clock::boot_ns();
        let mut adopted = 0;
        for b in self.maps.bans()? {
            if self.bans.contains_key(&b.target)
                || removed.contains(&b.target)
                || !b.entry.active(boot)
            {
                continue;
            }
            let expires_ms = match clock::remaining(b.entry.expires_ns) {
                None => 0,
                Some(left) => now.saturating_add(left.as_millis() as u64),
            };
            let state = BanState {
                expires_ms,
                reason: BanReason::from_code(b.entry.reason),
                note: b.note,
            };
            self.append(
                &Record::Ban {
                    target: b.target.to_string(),
                    expires_ms,
                    reason: state.reason.code(),
                    note: state.note.clone(),
                },
                false,
            );
            self.bans.insert(b.target, state);
            adopted += 1;
        }
        for net in self.maps.allowlist()? {
            if self.allow.contains(&net)
                || self.config_allow.contains(&net)
                || disallowed.contains(&net)
            {
                continue;
            }
            self.append(
                &Record::Allow {
                    net: net.to_string(),
                },
                false,
            );
            self.allow.insert(net);
            adopted += 1;
        }
        Ok(adopted)
    }

    fn reconcile(&mut self, now: u64) -> Result<Repairs> {
        let mut r = Repairs::default();
        let in_map: HashMap<Target, BanEntry> = self
            .maps
            .bans()?
            .into_iter()
            .map(|b| (b.target, b.entry))
            .collect();
        let desired: Vec<(Target, BanState)> = self
            .bans
            .iter()
            .filter(|(_, b)| b.active(now))
            .map(|(t, b)| (*t, b.clone()))
            .collect();
        for (target, state) in &desired {
            let want = state.entry(now);
            match in_map.get(target) {
                None => r.missing += 1,
                Some(have) if !same_ban(have, &want) => r.stale += 1,
                Some(_) => continue,
            }
            self.maps.ban(*target, want, state.note.as_deref(), true)?;
        }
        for target in in_map.keys() {
            if !self.bans.contains_key(target) {
                self.maps.unban(*target)?;
                r.extra += 1;
            }
        }
        let map_allow: BTreeSet<IpNet> = self.maps.allowlist()?.into_iter().collect();
        let want_allow: BTreeSet<IpNet> = self.allow.union(&self.config_allow).copied().collect();
        for n in want_allow.difference(&map_allow) {
            self.maps.allow(*n)?;
            r.missing += 1;
        }
        for n in map_allow.difference(&want_allow) {
            self.maps.disallow(*n)?;
            r.extra += 1;
        }
        Ok(r)
    }
}

/// Waits for a journaled change to be on disk.
fn durable(ticket: Option<Ticket>) -> Result<()> {
    match ticket {
        Some(t) => t.wait().context("journal write failed"),
        None => Ok(()),
    }
}

/// Whether a map entry matches the desired one: same reason, same permanence, expiry within
/// 2 s (the wall-to-boot clock conversion is not exact).
fn same_ban(have: &BanEntry, want: &BanEntry) -> bool {
    const SLACK_NS: u64 = 2_000_000_000;
    have.reason == want.reason
        && (have.expires_ns == 0) == (want.expires_ns == 0)
        && have.expires_ns.abs_diff(want.expires_ns) <= SLACK_NS
}
