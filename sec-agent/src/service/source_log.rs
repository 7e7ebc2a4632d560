//! What the agent remembers per source address for `sec-agent ip`: request and error
//! counts, bans issued, and the last detections. Bounded: least recently seen sources are
//! forgotten beyond the cap.

use std::{collections::VecDeque, net::IpAddr, sync::Mutex, time::SystemTime};

use serde::Serialize;

use crate::{
    inspect::{decide::Outcome, detect::DetectionKind},
    lru_table::{LruTable, MAX_CAPACITY},
    net::{SourceKey, source_key},
};

/// Detections shown per source.
const RECENT: usize = 10;

/// One remembered detection.
#[derive(Clone, Debug, Serialize)]
pub struct Recent {
    /// RFC 3339 time.
    pub time: String,
    /// Detection name.
    pub detection: String,
    /// Class.
    pub class: String,
    /// What was done.
    pub action: String,
    /// The fragment that matched.
    pub fragment: String,
}

/// What is known about one source.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceInfo {
    /// HTTP requests seen.
    pub requests: u64,
    /// 4xx responses sent to it.
    pub client_errors: u64,
    /// Bans issued to it by detections.
    pub bans: u64,
    /// Last detections (at most 10), oldest first.
    pub recent: VecDeque<Recent>,
}

/// The counters of one source, as updated by [`SourceLog::update`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Counters {
    /// HTTP requests seen.
    pub requests: u64,
    /// 4xx responses sent to it.
    pub client_errors: u64,
    /// Bans issued to it by detections.
    pub bans: u64,
}

/// A remembered detection, compact: typed names (no allocation), seconds, a boxed
/// fragment.
struct Stored {
    source: SourceKey,
    unix_secs: u64,
    detection: DetectionKind,
    class: &'static str,
    outcome: Outcome,
    fragment: Box<str>,
}

struct Inner {
    counters: LruTable<SourceKey, Counters>,
    /// The last detections of all sources together, oldest first, at most as many as
    /// sources are remembered: a per-source history of 10 would be 10 times the table,
    /// each with five strings (about 4 KiB per source, 400 MiB at the default cap).
    recent: VecDeque<Stored>,
}

/// Per-source memory shared by the pipeline (writer) and the control socket (reader):
/// counters for at most `capacity` sources (least recently seen forgotten) and the last
/// `capacity` detections of all sources together, of which `get` shows a source's last 10.
/// Both are fixed in size, so memory stops growing once they are full.
pub struct SourceLog {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl SourceLog {
    /// Remembers at most `capacity` sources and `capacity` detections.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        SourceLog {
            inner: Mutex::new(Inner {
                counters: LruTable::new(capacity),
                // Reserved (not touched) now: never reallocated, never beyond the cap.
                recent: VecDeque::with_capacity(capacity),
            }),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Updates the counters of `addr`.
    pub fn update(&self, addr: IpAddr, f: impl FnOnce(&mut Counters)) {
        f(self
            .lock()
            .counters
            .get_or_insert_with(source_key(addr), Counters::default));
    }

    /// Records a detection for `addr` and what came of it.
    pub fn detection(
        &self,
        addr: IpAddr,
        detection: DetectionKind,
        class: &'static str,
        outcome: Outcome,
        fragment: &str,
    ) {
        let source = source_key(addr);
        let unix_secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut inner = self.lock();
        let counters = inner.counters.get_or_insert_with(source, Counters::default);
        if matches!(outcome, Outcome::Banned { .. }) {
            counters.bans += 1;
        }
        if inner.recent.len() == self.capacity {
            inner.recent.pop_front();
        }
        inner.recent.push_back(Stored {
            source,
            unix_secs,
            detection,
            class,
            outcome,
            fragment: fragment.into(),
        });
    }

    /// A copy of what is known about `addr`.
    pub fn get(&self, addr: IpAddr) -> Option<SourceInfo> {
        let source = source_key(addr);
        let inner = self.lock();
        let c = *inner.counters.peek(&source)?;
        // A scan of at most `capacity` entries, on an operator's query only.
        let mut recent: VecDeque<Recent> = inner
            .recent
            .iter()
            .rev()
            .filter(|r| r.source == source)
            .take(RECENT)
            .map(|r| Recent {
                time: humantime::format_rfc3339_seconds(
                    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(r.unix_secs),
                )
                .to_string(),
                detection: r.detection.name().to_string(),
                class: r.class.to_string(),
                action: r.outcome.name().to_string(),
                fragment: r.fragment.to_string(),
            })
            .collect();
        recent.make_contiguous().reverse();
        Some(SourceInfo {
            requests: c.requests,
            client_errors: c.client_errors,
            bans: c.bans,
            recent,
        })
    }

    /// Sources remembered now.
    #[cfg(test)]
    pub fn sources(&self) -> usize {
        self.lock().counters.len()
    }

    /// Detections remembered now, all sources together (at most the capacity).
    #[cfg(test)]
    pub fn detections(&self) -> usize {
        self.lock().recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAN: Outcome = Outcome::Banned {
        ttl: std::time::Duration::from_secs(60),
        closed: None,
    };

    #[test]
    fn source_log_is_bounded_and_keeps_the_most_recent() {
        let log = SourceLog::new(100);
        for i in 0..10_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            log.update(ip, |s| s.requests += 1);
            log.detection(ip, DetectionKind::Payload, "sqli", BAN, "' or 1=1");
            assert!(log.sources() <= 100);
        }
        assert_eq!(log.sources(), 100);
        assert!(log.get(IpAddr::from(0u32.to_be_bytes())).is_none());
        let last = log.get(IpAddr::from(9_999u32.to_be_bytes())).unwrap();
        assert_eq!((last.requests, last.bans, last.recent.len()), (1, 1, 1));
        assert_eq!(log.detections(), 100);
    }

    #[test]
    fn a_source_shows_its_last_ten_detections_oldest_first() {
        let log = SourceLog::new(1000);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let other: IpAddr = "2001:db8::2".parse().unwrap();
        for i in 0..25 {
            log.detection(ip, DetectionKind::Payload, "sqli", BAN, &format!("#{i}"));
            log.detection(
                other,
                DetectionKind::UserAgent,
                "scanner",
                Outcome::Monitor,
                "x",
            );
        }
        let info = log.get(ip).unwrap();
        assert_eq!(info.bans, 25);
        let fragments: Vec<_> = info.recent.iter().map(|r| r.fragment.as_str()).collect();
        let want: Vec<_> = (15..25).map(|i| format!("#{i}")).collect();
        assert_eq!(fragments, want);
        let r = &log.get(other).unwrap().recent[0];
        assert_eq!(
            (r.detection.as_str(), r.class.as_str(), r.action.as_str()),
            ("user_agent", "scanner", "monitor")
        );
        assert_eq!(log.get(other).unwrap().bans, 0);
    }

    #[test]
    fn ipv4_and_its_mapped_ipv6_form_are_one_source() {
        let log = SourceLog::new(10);
        log.update("192.0.2.1".parse().unwrap(), |s| s.requests += 1);
        log.update("::ffff:192.0.2.1".parse().unwrap(), |s| s.requests += 1);
        assert_eq!(log.sources(), 1);
        assert_eq!(log.get("192.0.2.1".parse().unwrap()).unwrap().requests, 2);
    }
}
