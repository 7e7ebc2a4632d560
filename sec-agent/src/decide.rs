//! Decide: what a finding leads to. The detection's mode says log only (`monitor`) or ban;
//! allowlisted sources are never banned; a source banned moments ago is not banned again
//! for the same burst; repeat offenders get longer bans (fail2ban's `bantime.increment`:
//! the n-th ban lasts `ttl * factor^(n-1)`, capped at `max_ttl`).

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::{
    config::{DecideSection, DetectionsConfig, Mode},
    detect::{DetectionKind, Finding},
    {
        lru_table::LruTable,
        sources::{SourceKey, source_key},
    },
};

/// Findings from a source within this long after its ban belong to the same burst
/// (requests already in flight) and do not ban it again.
const BURST: Duration = Duration::from_secs(5);

/// What to do with a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Log it only (monitor mode).
    Monitor,
    /// Ban the source for this long.
    Ban(Duration),
    /// The source is allowlisted: log only.
    Allowlisted,
    /// The source was banned a moment ago for the same burst: log only.
    AlreadyBanned,
}

impl Action {
    /// Name used in events.
    pub fn name(self) -> &'static str {
        match self {
            Action::Monitor => "monitor",
            Action::Ban(_) => "ban",
            Action::Allowlisted => "allowlisted",
            Action::AlreadyBanned => "already_banned",
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
    decide: DecideSection,
    offenders: LruTable<SourceKey, Offender>,
}

impl Decider {
    /// A decider with the policies of `detections` and the escalation of `decide`.
    pub fn new(detections: DetectionsConfig, decide: DecideSection) -> Self {
        Decider {
            offenders: LruTable::new(detections.max_sources),
            detections,
            decide,
        }
    }

    /// The mode and base TTL that apply to a finding.
    pub fn policy(&self, finding: &Finding) -> (Mode, Duration) {
        let (mode, ttl) = self.detections.policy(finding.detection);
        if finding.detection == DetectionKind::UserAgent && finding.class == "missing_user_agent" {
            return (self.detections.user_agent.missing, ttl);
        }
        (mode, ttl)
    }

    /// Decides about `finding` from `source` at `now`; `allowlisted` says whether the
    /// source is in the kernel allowlist. A `Ban` is recorded as given.
    pub fn decide(
        &mut self,
        source: IpAddr,
        finding: &Finding,
        allowlisted: bool,
        now: Instant,
    ) -> Action {
        let (mode, base) = self.policy(finding);
        if mode != Mode::Ban {
            return Action::Monitor;
        }
        if allowlisted {
            return Action::Allowlisted;
        }
        let key = source_key(source);
        let offender = self.offenders.get_mut(&key).copied();
        if let Some(o) = offender
            && now.saturating_duration_since(o.last_ban) < BURST.min(base)
        {
            return Action::AlreadyBanned;
        }
        let bans = offender.map_or(0, |o| o.bans) + 1;
        let ttl = if self.decide.ban_increment {
            let factor = self
                .decide
                .factor
                .max(1.0)
                .powi(bans.saturating_sub(1).min(64) as i32);
            Duration::from_secs_f64(
                (base.as_secs_f64() * factor).min(self.decide.max_ttl.as_secs_f64()),
            )
        } else {
            base
        };
        self.offenders.insert(
            key,
            Offender {
                bans,
                last_ban: now,
            },
        );
        Action::Ban(ttl)
    }

    /// Sources with a ban history now (at most `max_sources`).
    pub fn tracked_sources(&self) -> usize {
        self.offenders.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: DetectionKind, class: &str) -> Finding {
        Finding {
            detection: kind,
            class: class.into(),
            rule: String::new(),
            location: None,
            name: String::new(),
            fragment: String::new(),
        }
    }

    #[test]
    fn repeat_offenders_get_longer_bans_up_to_the_cap() {
        let mut d = Decider::new(
            DetectionsConfig::default(),
            DecideSection {
                max_ttl: Duration::from_secs(3 * 3600),
                ..DecideSection::default()
            },
        );
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let f = finding(DetectionKind::Payload, "sqli");
        let t0 = Instant::now();
        let ttls: Vec<_> = (0..4)
            .map(|i| d.decide(ip, &f, false, t0 + Duration::from_secs(60 * i)))
            .collect();
        assert_eq!(
            ttls,
            [
                Action::Ban(Duration::from_secs(3600)),
                Action::Ban(Duration::from_secs(7200)),
                Action::Ban(Duration::from_secs(3 * 3600)),
                Action::Ban(Duration::from_secs(3 * 3600)),
            ]
        );
    }

    #[test]
    fn offender_history_is_bounded_by_max_sources() {
        let mut d = Decider::new(
            DetectionsConfig {
                max_sources: 50,
                ..DetectionsConfig::default()
            },
            DecideSection::default(),
        );
        let f = finding(DetectionKind::Payload, "sqli");
        let now = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(matches!(d.decide(ip, &f, false, now), Action::Ban(_)));
            assert!(d.tracked_sources() <= 50);
        }
        assert_eq!(d.tracked_sources(), 50);
        // The most recent offenders are remembered; the oldest are first offenders again.
        let later = now + Duration::from_secs(60);
        let recent = IpAddr::from(9_999u32.to_be_bytes());
        assert_eq!(
            d.decide(recent, &f, false, later),
            Action::Ban(Duration::from_secs(2 * 3600))
        );
        let forgotten = IpAddr::from(0u32.to_be_bytes());
        assert_eq!(
            d.decide(forgotten, &f, false, later),
            Action::Ban(Duration::from_secs(3600))
        );
    }

    #[test]
    fn bursts_allowlist_and_modes() {
        let mut d = Decider::new(DetectionsConfig::default(), DecideSection::default());
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        let now = Instant::now();
        let f = finding(DetectionKind::Payload, "xss");
        assert!(matches!(d.decide(ip, &f, false, now), Action::Ban(_)));
        assert_eq!(
            d.decide(ip, &f, false, now + Duration::from_secs(1)),
            Action::AlreadyBanned
        );
        let other: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(d.decide(other, &f, true, now), Action::Allowlisted);
        let missing = finding(DetectionKind::UserAgent, "missing_user_agent");
        assert_eq!(
            d.decide(other, &missing, false, now),
            Action::Monitor,
            "missing UA is monitor by default"
        );
    }
}
