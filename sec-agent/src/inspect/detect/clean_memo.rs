//! A memo of values a detection found clean, so that a value a client repeats on every
//! request is checked once.
//!
//! Browsers and API clients send the same `User-Agent`, `Cookie` and custom headers on
//! every request of a session, and those are the costliest values to check: a browser
//! User-Agent holds `(`, `;` and `/`, which admit SQL injection, XSS, command injection,
//! traversal and LDAP checks at once, and every User-Agent is searched for scanner names.
//! A detection's verdict on a value depends only on the value and its location (the
//! configuration is fixed for the detection's lifetime), so a remembered clean verdict is
//! exact: the memo compares the whole value, never a hash alone, and a detection never
//! remembers a value that matched.

use std::hash::BuildHasher;

use crate::inspect::normalize::Location;
use crate::lru_table::seeded_fast_hasher;

/// Longest value remembered, in bytes: bounds a memo's memory to about
/// `slots × MAX_LEN`; longer values (rare in headers) are checked each time.
const MAX_LEN: usize = 512;

/// A direct-mapped memo: each value has one slot (by a keyed hash, so that an attacker
/// cannot choose values that evict each other offline); a newer value takes the slot.
pub(super) struct CleanMemo {
    slots: Box<[Slot]>,
    hasher: foldhash::quality::SeedableRandomState,
}

#[derive(Default)]
struct Slot {
    /// The hash of `location` and `value`; 0 when empty.
    hash: u64,
    location: Option<Location>,
    value: String,
}

impl CleanMemo {
    /// An empty memo of `slots` values (a power of two, at least 1); a slot's buffer is
    /// allocated when a value first takes it.
    pub(super) fn new(slots: usize) -> CleanMemo {
        assert!(slots.is_power_of_two(), "memo slots are a power of two");
        CleanMemo {
            slots: (0..slots).map(|_| Slot::default()).collect(),
            hasher: seeded_fast_hasher(),
        }
    }

    /// The key of `value` in `location`, for [`CleanMemo::contains`] and
    /// [`CleanMemo::insert`] (never 0); `None` for a value too long to remember, which
    /// then costs no hash.
    pub(super) fn key(&self, location: Location, value: &str) -> Option<u64> {
        (value.len() <= MAX_LEN).then(|| self.hasher.hash_one((location as u8, value)) | 1)
    }

    /// Whether `value` in `location` (of `key`) was found clean.
    pub(super) fn contains(&self, key: u64, location: Location, value: &str) -> bool {
        let slot = &self.slots[key as usize & (self.slots.len() - 1)];
        slot.hash == key && slot.location == Some(location) && slot.value == value
    }

    /// Remembers `value` in `location` (of `key`) as clean, in place of its slot's value;
    /// the slot's buffer is reused, so a warm memo allocates only for a longer value.
    pub(super) fn insert(&mut self, key: u64, location: Location, value: &str) {
        let slot = &mut self.slots[key as usize & (self.slots.len() - 1)];
        slot.hash = key;
        slot.location = Some(location);
        slot.value.clear();
        slot.value.push_str(value);
    }
}

/// The first finding's rule of `detection` on each of `user_agents`, sent one request
/// after another (`GET /?q=1` with that User-Agent): how the detections' tests check that
/// a remembered value never hides a finding.
#[cfg(test)]
pub(super) fn first_rules(
    detection: &mut dyn super::Detection,
    user_agents: &[&str],
) -> Vec<Option<String>> {
    user_agents
        .iter()
        .map(|ua| {
            let raw = format!("GET /?q=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: {ua}\r\n\r\n");
            let inspection = crate::inspect::normalize::Inspection::of(
                &crate::inspect::parse::parse_request(raw.as_bytes(), &Default::default())
                    .expect("a request"),
            );
            let info = super::RequestInfo {
                source: std::net::IpAddr::from([192, 0, 2, 1]),
                now: std::time::Instant::now(),
                inspection: &inspection,
            };
            let mut out = Vec::new();
            detection.on_request(&info, &mut out);
            out.first().map(|f| f.rule.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_values_per_location() {
        let mut memo = CleanMemo::new(64);
        let ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0";
        let key = memo.key(Location::UserAgent, ua).unwrap();
        assert!(!memo.contains(key, Location::UserAgent, ua));
        memo.insert(key, Location::UserAgent, ua);
        assert!(memo.contains(key, Location::UserAgent, ua));
        // Another location is another key; a forged key with another value is refused.
        let other = memo.key(Location::Cookies, ua).unwrap();
        assert_ne!(other, key);
        assert!(!memo.contains(other, Location::Cookies, ua));
        assert!(!memo.contains(key, Location::UserAgent, "Mozilla/5.0"));
        assert!(!memo.contains(key, Location::Cookies, ua));
    }

    #[test]
    fn long_values_are_not_remembered() {
        let memo = CleanMemo::new(64);
        assert!(
            memo.key(Location::HeadersValues, &"a".repeat(MAX_LEN))
                .is_some()
        );
        assert_eq!(
            memo.key(Location::HeadersValues, &"a".repeat(MAX_LEN + 1)),
            None
        );
    }
}
