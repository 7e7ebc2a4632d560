//! Folding of repeated findings in the event log. A finding that bans is always written:
//! the source is cut off, so it cannot repeat much. A finding that does not ban (monitor
//! mode, an allowlisted source) can repeat on every request of a busy client, e.g. a
//! monitored missing User-Agent under load: written each time, it would cost more than the
//! inspection and flood the log. So one (source, detection, class) is written at most once
//! per [`REPEAT_WINDOW`]; the next event written for it carries how many were folded.
//! Metrics and the per-source log still count every finding.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::{
    inspect::detect::DetectionKind,
    lru_table::LruTable,
    net::{SourceKey, source_key},
};

/// Shortest time between two events of one (source, detection, class) that did not ban.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);

struct Seen {
    last_written: Instant,
    folded: u64,
}

/// Which non-banning findings to write; bounded by the number of sources tracked.
pub struct RepeatFilter {
    seen: LruTable<(SourceKey, u64), Seen>,
}

impl RepeatFilter {
    /// A filter remembering at most `capacity` (source, detection, class) triples.
    pub fn new(capacity: usize) -> Self {
        RepeatFilter {
            seen: LruTable::new(capacity),
        }
    }

    /// Whether to write this finding now: `Some(folded)` with the number of repeats not
    /// written since the last event, or `None` to fold it.
    pub fn admit(
        &mut self,
        source: IpAddr,
        detection: DetectionKind,
        class: &str,
        now: Instant,
    ) -> Option<u64> {
        let mut h = DefaultHasher::new();
        (detection, class).hash(&mut h);
        let key = (source_key(source), h.finish());
        match self.seen.get_mut(&key) {
            Some(seen) if now.duration_since(seen.last_written) < REPEAT_WINDOW => {
                seen.folded += 1;
                None
            }
            Some(seen) => {
                let folded = seen.folded;
                *seen = Seen {
                    last_written: now,
                    folded: 0,
                };
                Some(folded)
            }
            None => {
                self.seen.insert(
                    key,
                    Seen {
                        last_written: now,
                        folded: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_folded_within_the_window_and_counted_in_the_next_event() {
        let mut f = RepeatFilter::new(16);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t = Instant::now();
        assert_eq!(f.admit(a, DetectionKind::UserAgent, "missing", t), Some(0));
        for i in 1..=5 {
            assert_eq!(
                f.admit(
                    a,
                    DetectionKind::UserAgent,
                    "missing",
                    t + Duration::from_secs(i)
                ),
                None
            );
        }
        // Another class, another source: their own first events.
        assert_eq!(f.admit(a, DetectionKind::UserAgent, "scanner", t), Some(0));
        assert_eq!(f.admit(b, DetectionKind::UserAgent, "missing", t), Some(0));
        assert_eq!(
            f.admit(a, DetectionKind::UserAgent, "missing", t + REPEAT_WINDOW),
            Some(5)
        );
        assert_eq!(
            f.admit(a, DetectionKind::UserAgent, "missing", t + REPEAT_WINDOW),
            None
        );
    }
}
