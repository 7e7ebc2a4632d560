//! Request flood: more than `threshold` HTTP requests from one source within `window`
//! (the seed's MAX_REQUEST_PER_MINUTE, as a sliding window).

use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use super::{
    BuildContext, Detection, DetectionKind, Finding, Mode, Policy, RequestInfo, Section,
    window::SourceWindows,
};

/// `[detections.request_flood]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
    /// Requests within `window` above which a source floods.
    pub threshold: u32,
    /// Sliding window.
    #[serde(deserialize_with = "crate::de::duration")]
    pub window: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Ban,
            ttl: Duration::from_secs(600),
            threshold: 600,
            window: Duration::from_secs(60),
        }
    }
}

impl Section for Config {
    const CLASSES: &'static [&'static str] = &["flood"];

    fn policy(&self, _class: &str) -> Policy {
        Policy::new(self.mode, self.ttl)
    }

    fn build(&self, context: &BuildContext) -> Result<Box<dyn Detection>> {
        Ok(Box::new(RequestFlood::new(
            self.threshold,
            self.window,
            context.max_sources,
        )))
    }
}

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
    fn kind(&self) -> DetectionKind {
        DetectionKind::RequestFlood
    }

    fn runs_on_ignored_paths(&self) -> bool {
        true
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        let n = self.windows.hit(req.source, req.now);
        if n > f64::from(self.threshold) {
            self.windows.reset(req.source);
            out.push(Finding {
                fragment: format!("{:.0} requests", n),
                ..Finding::new(
                    DetectionKind::RequestFlood,
                    "flood",
                    format!("more than {} requests in {:?}", self.threshold, self.window),
                )
            });
        }
    }
}
