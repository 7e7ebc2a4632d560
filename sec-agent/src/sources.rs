//! What the agent remembers per source address for `sec-agent ip`: request and error
//! counts, bans issued, and the last detections. Bounded: least recently seen sources are
//! forgotten beyond the cap.

use std::{collections::VecDeque, net::IpAddr, num::NonZeroUsize, sync::Mutex, time::SystemTime};

use lru::LruCache;
use serde::Serialize;

/// Detections kept per source.
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

/// Counters of one source.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceInfo {
    /// HTTP requests seen.
    pub requests: u64,
    /// 4xx responses sent to it.
    pub client_errors: u64,
    /// Bans issued to it by detections.
    pub bans: u64,
    /// Last detections, oldest first.
    pub recent: VecDeque<Recent>,
}

/// Per-source memory shared by the pipeline (writer) and the control socket (reader).
pub struct SourceLog {
    inner: Mutex<LruCache<IpAddr, SourceInfo>>,
}

impl SourceLog {
    /// Remembers at most `capacity` sources.
    pub fn new(capacity: usize) -> Self {
        SourceLog {
            inner: Mutex::new(LruCache::new(
                NonZeroUsize::new(capacity.max(1)).expect("non-zero"),
            )),
        }
    }

    /// Updates the entry of `addr`.
    pub fn update(&self, addr: IpAddr, f: impl FnOnce(&mut SourceInfo)) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(map.get_or_insert_mut(addr.to_canonical(), SourceInfo::default));
    }

    /// Records a detection for `addr`.
    pub fn detection(
        &self,
        addr: IpAddr,
        detection: &str,
        class: &str,
        action: &str,
        fragment: &str,
    ) {
        self.update(addr, |s| {
            if s.recent.len() == RECENT {
                s.recent.pop_front();
            }
            s.recent.push_back(Recent {
                time: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
                detection: detection.into(),
                class: class.into(),
                action: action.into(),
                fragment: fragment.into(),
            });
            if action == "ban" {
                s.bans += 1;
            }
        });
    }

    /// A copy of what is known about `addr`.
    pub fn get(&self, addr: IpAddr) -> Option<SourceInfo> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.peek(&addr.to_canonical()).cloned()
    }
}
