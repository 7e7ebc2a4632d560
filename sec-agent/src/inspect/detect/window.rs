//! Per-source sliding-window counters with bounded memory.
//!
//! The window is estimated from two fixed buckets (the previous and the current one),
//! weighting the previous by how much of it still overlaps the sliding window: O(1) memory
//! and time per source, within a few percent of an exact log for steady traffic (the
//! approach Cloudflare describes for its rate limiter).
//!
//! Memory: one 40-byte slot per source (16-byte key, 16-byte counters, recency links) in an
//! [`LruTable`] reserved for `capacity` sources, plus its index: fixed, however many
//! sources pass through.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::{
    lru_table::{LruTable, seeded_fast_hasher},
    net::{SourceKey, source_key},
};

#[derive(Clone, Copy, Debug)]
struct Buckets {
    /// Start of the current bucket, in nanoseconds since the table's epoch (8 bytes where an
    /// `Instant` takes 16).
    start: u64,
    previous: u32,
    current: u32,
}

/// Counters for up to `capacity` sources (least recently seen evicted).
pub struct SourceWindows {
    /// Hashed with keyed foldhash, not SipHash: one lookup per request (flood) or error
    /// response (enumeration) on the inspection path.
    sources: LruTable<SourceKey, Buckets, foldhash::quality::SeedableRandomState>,
    window: Duration,
    epoch: Instant,
}

impl SourceWindows {
    /// Counters over `window`, for at most `capacity` sources.
    pub fn new(window: Duration, capacity: usize) -> Self {
        SourceWindows {
            sources: LruTable::with_hasher(capacity, seeded_fast_hasher()),
            window: window.max(Duration::from_millis(1)),
            epoch: Instant::now(),
        }
    }

    /// Counts one event from `source` at `now`; returns the estimated number of events in
    /// the sliding window ending now.
    pub fn hit(&mut self, source: IpAddr, now: Instant) -> f64 {
        let window = nanos(self.window);
        // Times before the epoch count as the epoch.
        let now = nanos(now.saturating_duration_since(self.epoch));
        let b = self
            .sources
            .get_or_insert_with(source_key(source), || Buckets {
                start: now,
                previous: 0,
                current: 0,
            });
        let elapsed = now.saturating_sub(b.start);
        if elapsed >= window.saturating_mul(2) {
            *b = Buckets {
                start: now,
                previous: 0,
                current: 0,
            };
        } else if elapsed >= window {
            b.previous = b.current;
            b.current = 0;
            b.start += window;
        }
        b.current = b.current.saturating_add(1);
        let into = now.saturating_sub(b.start) as f64 / window as f64;
        f64::from(b.previous) * (1.0 - into).max(0.0) + f64::from(b.current)
    }

    /// Forgets `source` (after it was reported, so that it must build up again).
    pub fn reset(&mut self, source: IpAddr) {
        self.sources.remove(&source_key(source));
    }

    /// Sources tracked now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.sources.len()
    }
}

/// `d` in nanoseconds, saturating (after 584 years).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_the_window_and_slides() {
        let mut w = SourceWindows::new(Duration::from_secs(60), 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..20 {
            let n = w.hit(ip, t0 + Duration::from_secs(i));
            assert!((n - (i + 1) as f64).abs() < 0.01, "{i}: {n}");
        }
        // Half a window later, half of the old bucket still counts.
        let n = w.hit(ip, t0 + Duration::from_secs(90));
        assert!((n - 11.0).abs() < 0.5, "{n}");
        // Two windows of silence forget everything.
        assert!((w.hit(ip, t0 + Duration::from_secs(300)) - 1.0).abs() < 0.01);
    }

    #[test]
    fn memory_is_bounded() {
        let mut w = SourceWindows::new(Duration::from_secs(60), 100);
        let now = Instant::now();
        for i in 0..10_000u32 {
            w.hit(IpAddr::from(i.to_be_bytes()), now);
        }
        assert_eq!(w.len(), 100);
    }

    #[test]
    fn churn_and_resets_stay_within_the_cap() {
        let mut w = SourceWindows::new(Duration::from_secs(60), 1000);
        let t0 = Instant::now();
        for i in 0..200_000u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            let now = t0 + Duration::from_millis(u64::from(i));
            assert!((w.hit(ip, now) - 1.0).abs() < 0.01);
            if i % 3 == 0 {
                w.reset(ip);
            }
            assert!(w.len() <= 1000);
        }
        assert_eq!(w.len(), 1000);
        // A source still tracked keeps counting.
        let last = IpAddr::from(199_999u32.to_be_bytes());
        assert!((w.hit(last, t0 + Duration::from_secs(200)) - 2.0).abs() < 0.01);
    }
}
