//! Enumeration: many error responses (404, 401, 403 by default) to one source within a
//! sliding window: directory brute forcing, credential stuffing, ID walking.

use std::time::Duration;

use super::{Detection, DetectionKind, Finding, ResponseInfo, window::SourceWindows};

/// The enumeration detection.
pub struct Enumeration {
    statuses: Vec<u16>,
    threshold: u32,
    window: Duration,
    windows: SourceWindows,
}

impl Enumeration {
    /// Reports a client that receives `threshold` responses with one of `statuses` within
    /// `window`; tracks at most `max_sources` clients.
    pub fn new(statuses: Vec<u16>, threshold: u32, window: Duration, max_sources: usize) -> Self {
        Enumeration {
            statuses,
            threshold,
            window,
            windows: SourceWindows::new(window, max_sources),
        }
    }
}

impl Detection for Enumeration {
    fn tracked_sources(&self) -> usize {
        self.windows.len()
    }

    fn kind(&self) -> DetectionKind {
        DetectionKind::Enumeration
    }

    fn on_response(&mut self, resp: &ResponseInfo<'_>, out: &mut Vec<Finding>) {
        if !self.statuses.contains(&resp.status) {
            return;
        }
        let n = self.windows.hit(resp.client, resp.now);
        if n >= f64::from(self.threshold) {
            self.windows.reset(resp.client);
            out.push(Finding {
                detection: DetectionKind::Enumeration,
                class: "enumeration".into(),
                rule: format!("{} error responses in {:?}", self.threshold, self.window),
                location: None,
                name: String::new(),
                fragment: match resp.request {
                    Some(r) => format!("{} {} -> {}", r.method(), r.target(), resp.status),
                    None => format!("-> {}", resp.status),
                },
            });
        }
    }
}
