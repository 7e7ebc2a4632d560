//! Request flood: more than `threshold` HTTP requests from one source within `window`
//! (the seed's MAX_REQUEST_PER_MINUTE, as a sliding window).

use std::time::Duration;

use super::{Detection, DetectionKind, Finding, RequestInfo, window::SourceWindows};

/// The request-flood detection.
pub struct RequestFlood {
    threshold: u32,
    windows: SourceWindows,
    window: Duration,
}

impl RequestFlood {
    /// Reports a source once it sends more than `threshold` requests in `window`; tracks at
    /// most `max_sources` sources.
    pub fn new(threshold: u32, window: Duration, max_sources: usize) -> Self {
        RequestFlood {
            threshold,
            windows: SourceWindows::new(window, max_sources),
            window,
        }
    }
}

impl Detection for RequestFlood {
    fn tracked_sources(&self) -> usize {
        self.windows.len()
    }

    fn kind(&self) -> DetectionKind {
        DetectionKind::RequestFlood
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        let n = self.windows.hit(req.source, req.now);
        if n > f64::from(self.threshold) {
            self.windows.reset(req.source);
            out.push(Finding {
                detection: DetectionKind::RequestFlood,
                class: "flood".into(),
                rule: format!("more than {} requests in {:?}", self.threshold, self.window),
                location: None,
                name: String::new(),
                fragment: format!("{:.0} requests", n),
            });
        }
    }
}
