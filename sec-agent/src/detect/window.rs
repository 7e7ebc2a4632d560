//! Per-source sliding-window counters with bounded memory.
//!
//! The window is estimated from two fixed buckets (the previous and the current one),
//! weighting the previous by how much of it still overlaps the sliding window: O(1) memory
//! and time per source, within a few percent of an exact log for steady traffic (the
//! approach Cloudflare describes for its rate limiter).

use std::{
    net::IpAddr,
    num::NonZeroUsize,
    time::{Duration, Instant},
};

use lru::LruCache;

#[derive(Clone, Copy, Debug)]
struct Buckets {
    start: Instant,
    previous: u32,
    current: u32,
}

/// Counters for up to `capacity` sources (least recently seen evicted).
pub struct SourceWindows {
    sources: LruCache<IpAddr, Buckets>,
    window: Duration,
}

impl SourceWindows {
    /// Counters over `window`, for at most `capacity` sources.
    pub fn new(window: Duration, capacity: usize) -> Self {
        SourceWindows {
            sources: LruCache::new(NonZeroUsize::new(capacity.max(1)).expect("non-zero")),
            window: window.max(Duration::from_millis(1)),
        }
    }

    /// Counts one event from `source` at `now`; returns the estimated number of events in
    /// the sliding window ending now.
    pub fn hit(&mut self, source: IpAddr, now: Instant) -> f64 {
        let window = self.window;
        let b = self.sources.get_or_insert_mut(source, || Buckets {
            start: now,
            previous: 0,
            current: 0,
        });
        let elapsed = now.saturating_duration_since(b.start);
        if elapsed >= window * 2 {
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
        let into = now.saturating_duration_since(b.start).as_secs_f64() / window.as_secs_f64();
        f64::from(b.previous) * (1.0 - into).max(0.0) + f64::from(b.current)
    }

    /// Forgets `source` (after it was reported, so that it must build up again).
    pub fn reset(&mut self, source: IpAddr) {
        self.sources.pop(&source);
    }

    /// Sources tracked now.
    pub fn len(&self) -> usize {
        self.sources.len()
    }
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
}
