//! Decide: what a finding leads to, carried out through an [`Enforcer`]. The detection's
//! mode says log only (`monitor`) or ban; allowlisted sources are never banned; a source
//! banned moments ago is not banned again for the same burst; repeat offenders get longer
//! bans (fail2ban's `bantime.increment`: the n-th ban lasts `ttl * factor^(n-1)`, capped at
//! `max_ttl`).
//!
//! The [`Enforcer`] trait is the seam between inspection and the kernel: the agent's
//! implementation writes the pinned maps and destroys connections through sock_diag;
//! tests and `sec-agent inspect` use [`MemoryEnforcer`].

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use anyhow::Result;
use ipnet::IpNet;
use serde::Deserialize;

use crate::{
    inspect::detect::{DetectionsConfig, Finding, Mode},
    lru_table::LruTable,
    net::{SourceKey, source_key},
};

/// Findings from a source within this long after its ban belong to the same burst
/// (requests already in flight) and do not ban it again.
const BURST: Duration = Duration::from_secs(5);

/// `[decide]`: repeat offenders get longer bans (fail2ban's `bantime.increment`): the n-th
/// ban of a source lasts `ttl * factor^(n-1)`, at most `max_ttl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecideConfig {
    /// Whether bans grow for repeat offenders.
    pub ban_increment: bool,
    /// Growth factor per previous ban (>= 1).
    pub factor: f64,
    /// Longest ban a detection issues.
    #[serde(deserialize_with = "crate::de::duration")]
    pub max_ttl: Duration,
}

impl Default for DecideConfig {
    fn default() -> Self {
        DecideConfig {
            ban_increment: true,
            factor: 2.0,
            max_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What the decide stage needs from the kernel side.
pub trait Enforcer {
    /// Whether `addr` is allowlisted (never banned).
    ///
    /// # Errors
    /// The allowlist cannot be read; the finding then does not ban.
    fn allowlisted(&mut self, addr: IpAddr) -> Result<bool>;

    /// Bans `source` for `ttl` because of `finding`; the ban drops traffic on return.
    ///
    /// # Errors
    /// The ban could not be written (full map, ...).
    fn ban(&mut self, source: IpAddr, ttl: Duration, finding: &Finding) -> Result<()>;

    /// Destroys `source`'s established TCP connections to this host; returns how many.
    ///
    /// # Errors
    /// The kernel cannot do it (no `CONFIG_INET_DIAG_DESTROY`, no permission).
    fn close_connections(&mut self, source: IpAddr) -> Result<usize>;
}

/// What came of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Logged only: the detection is in monitor mode.
    Monitor,
    /// Logged only: the source is allowlisted.
    Allowlisted,
    /// Logged only: the source was banned a moment ago, for the same burst.
    AlreadyBanned,
    /// The source is banned for `ttl`; `closed` of its connections were destroyed (`None`
    /// when destroying them failed).
    Banned {
        /// Ban duration, escalation included.
        ttl: Duration,
        /// Connections destroyed.
        closed: Option<usize>,
    },
    /// The ban was decided but could not be applied (logged).
    BanFailed {
        /// The duration it would have had.
        ttl: Duration,
    },
}

impl Outcome {
    /// Name in events (`action`), `sec-agent ip` and `inspect`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Monitor => "monitor",
            Outcome::Allowlisted => "allowlisted",
            Outcome::AlreadyBanned => "already_banned",
            Outcome::Banned { .. } => "ban",
            Outcome::BanFailed { .. } => "ban_failed",
        }
    }

    /// The mode of the detection that gave it.
    pub fn mode(self) -> Mode {
        match self {
            Outcome::Monitor => Mode::Monitor,
            _ => Mode::Ban,
        }
    }

    /// The ban's TTL, for a ban decided (applied or not).
    pub fn ttl(self) -> Option<Duration> {
        match self {
            Outcome::Banned { ttl, .. } | Outcome::BanFailed { ttl } => Some(ttl),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Offender {
    bans: u32,
    last_ban: Instant,
}

/// The decider: per-source ban history, bounded by `max_sources` (least recently banned
/// forgotten) in a table whose memory is fixed when it is made.
pub struct Decider {
    detections: DetectionsConfig,
    decide: DecideConfig,
    offenders: LruTable<SourceKey, Offender>,
}

impl Decider {
    /// A decider with the policies of `detections` and the escalation of `decide`.
    pub fn new(detections: DetectionsConfig, decide: DecideConfig) -> Self {
        Decider {
            offenders: LruTable::new(detections.max_sources),
            detections,
            decide,
        }
    }

    /// Decides about `finding` from `source` at `now` and carries it out through
    /// `enforcer`. The allowlist is looked up only for a finding that would ban: a
    /// monitored finding repeating on every request must not pay a map lookup.
    pub fn decide(
        &mut self,
        source: IpAddr,
        finding: &Finding,
        now: Instant,
        enforcer: &mut dyn Enforcer,
    ) -> Outcome {
        let policy = self.detections.policy(finding);
        if policy.mode != Mode::Ban {
            return Outcome::Monitor;
        }
        match enforcer.allowlisted(source) {
            Ok(false) => {}
            Ok(true) => return Outcome::Allowlisted,
            Err(e) => {
                tracing::error!(%source, error = %format!("{e:#}"), "allowlist lookup failed; not banning");
                return Outcome::BanFailed { ttl: policy.ttl };
            }
        }
        let key = source_key(source);
        let offender = self.offenders.get_mut(&key).copied();
        if let Some(o) = offender
            && now.saturating_duration_since(o.last_ban) < BURST.min(policy.ttl)
        {
            return Outcome::AlreadyBanned;
        }
        let bans = offender.map_or(0, |o| o.bans) + 1;
        let ttl = self.escalated(policy.ttl, bans);
        self.offenders.insert(
            key,
            Offender {
                bans,
                last_ban: now,
            },
        );
        if let Err(e) = enforcer.ban(source, ttl, finding) {
            tracing::error!(%source, error = %format!("{e:#}"), "ban failed");
            return Outcome::BanFailed { ttl };
        }
        Outcome::Banned {
            ttl,
            closed: enforcer.close_connections(source).ok(),
        }
    }

    /// The TTL of a source's `bans`-th ban (1 for a first offender).
    fn escalated(&self, base: Duration, bans: u32) -> Duration {
        if !self.decide.ban_increment {
            return base;
        }
        let factor = self
            .decide
            .factor
            .max(1.0)
            .powi(bans.saturating_sub(1).min(64) as i32);
        Duration::from_secs_f64(
            (base.as_secs_f64() * factor).min(self.decide.max_ttl.as_secs_f64()),
        )
    }

    /// Forgets `source`'s ban history: its next ban is a first offence again.
    pub fn forget(&mut self, source: IpAddr) {
        self.offenders.remove(&source_key(source));
    }

    /// Sources with a ban history now (at most `max_sources`).
    #[cfg(test)]
    pub fn tracked_sources(&self) -> usize {
        self.offenders.len()
    }
}

/// An [`Enforcer`] without a kernel: an allowlist given up front, and the bans it was asked
/// for, in order. For `sec-agent inspect` (what the agent would do) and tests.
#[derive(Debug, Default)]
pub struct MemoryEnforcer {
    /// Networks never banned.
    pub allowlist: Vec<IpNet>,
    /// Every ban applied: source, TTL, the finding's `detection/class`.
    pub bans: Vec<(IpAddr, Duration, String)>,
    /// Fail every ban (to test the failure path).
    pub fail_bans: bool,
    /// Connections "destroyed" per ban.
    pub connections: usize,
}

impl Enforcer for MemoryEnforcer {
    fn allowlisted(&mut self, addr: IpAddr) -> Result<bool> {
        let addr = addr.to_canonical();
        Ok(self.allowlist.iter().any(|n| n.contains(&addr)))
    }

    fn ban(&mut self, source: IpAddr, ttl: Duration, finding: &Finding) -> Result<()> {
        if self.fail_bans {
            anyhow::bail!("ban map full (simulated)");
        }
        self.bans.push((
            source,
            ttl,
            format!("{}/{}", finding.detection.name(), finding.class),
        ));
        Ok(())
    }

    fn close_connections(&mut self, _source: IpAddr) -> Result<usize> {
        Ok(self.connections)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::detect::DetectionKind;

    fn finding(kind: DetectionKind, class: &'static str) -> Finding {
        Finding::new(kind, class, "")
    }

    fn decide(d: &mut Decider, ip: IpAddr, f: &Finding, now: Instant) -> Outcome {
        d.decide(ip, f, now, &mut MemoryEnforcer::default())
    }

    fn banned(hours: u64) -> Outcome {
        Outcome::Banned {
            ttl: Duration::from_secs(hours * 3600),
            closed: Some(0),
        }
    }

    #[test]
    fn repeat_offenders_get_longer_bans_up_to_the_cap() {
        let mut d = Decider::new(
            DetectionsConfig::default(),
            DecideConfig {
                max_ttl: Duration::from_secs(3 * 3600),
                ..DecideConfig::default()
            },
        );
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let f = finding(DetectionKind::Payload, "sqli");
        let t0 = Instant::now();
        let ttls: Vec<_> = (0..4)
            .map(|i| decide(&mut d, ip, &f, t0 + Duration::from_secs(60 * i)))
            .collect();
        assert_eq!(ttls, [banned(1), banned(2), banned(3), banned(3)]);
        d.forget(ip);
        assert_eq!(
            decide(&mut d, ip, &f, t0 + Duration::from_secs(600)),
            banned(1)
        );
    }

    #[test]
    fn offender_history_is_bounded_by_max_sources() {
        let mut d = Decider::new(
            DetectionsConfig {
                max_sources: 50,
                ..DetectionsConfig::default()
            },
            DecideConfig::default(),
        );
        let f = finding(DetectionKind::Payload, "sqli");
        let now = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(matches!(
                decide(&mut d, ip, &f, now),
                Outcome::Banned { .. }
            ));
            assert!(d.tracked_sources() <= 50);
        }
        assert_eq!(d.tracked_sources(), 50);
        // The most recent offenders are remembered; the oldest are first offenders again.
        let later = now + Duration::from_secs(60);
        let recent = IpAddr::from(9_999u32.to_be_bytes());
        assert_eq!(decide(&mut d, recent, &f, later), banned(2));
        let forgotten = IpAddr::from(0u32.to_be_bytes());
        assert_eq!(decide(&mut d, forgotten, &f, later), banned(1));
    }

    #[test]
    fn bursts_allowlist_modes_and_failures() {
        let mut d = Decider::new(DetectionsConfig::default(), DecideConfig::default());
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let now = Instant::now();
        let f = finding(DetectionKind::Payload, "xss");
        assert!(matches!(
            decide(&mut d, ip, &f, now),
            Outcome::Banned { .. }
        ));
        assert_eq!(
            decide(&mut d, ip, &f, now + Duration::from_secs(1)),
            Outcome::AlreadyBanned
        );
        let other: IpAddr = "192.0.2.10".parse().unwrap();
        let mut allow = MemoryEnforcer {
            allowlist: vec!["192.0.2.0/24".parse().unwrap()],
            ..MemoryEnforcer::default()
        };
        assert_eq!(d.decide(other, &f, now, &mut allow), Outcome::Allowlisted);
        assert!(allow.bans.is_empty());
        let missing = finding(DetectionKind::UserAgent, "missing_user_agent");
        assert_eq!(
            decide(&mut d, other, &missing, now),
            Outcome::Monitor,
            "missing UA is monitor by default"
        );
        let mut full = MemoryEnforcer {
            fail_bans: true,
            ..MemoryEnforcer::default()
        };
        let third: IpAddr = "2001:db8::3".parse().unwrap();
        assert_eq!(
            d.decide(third, &f, now, &mut full),
            Outcome::BanFailed {
                ttl: Duration::from_secs(3600)
            }
        );
    }
}
