//! Enumeration: many error responses (404, 401, 403 by default) to one source within a
//! sliding window: directory brute forcing, credential stuffing, ID walking.

use std::time::Duration;

use anyhow::Result;
use serde::Deserialize;

use super::{
    BuildContext, Detection, DetectionKind, Finding, Mode, Policy, ResponseInfo, Section,
    window::SourceWindows,
};

/// `[detections.enumeration]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
    /// Response codes that count.
    pub statuses: Vec<u16>,
    /// Responses within `window` that trigger.
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
            statuses: vec![401, 403, 404],
            threshold: 20,
            window: Duration::from_secs(60),
        }
    }
}

impl Section for Config {
    const CLASSES: &'static [&'static str] = &["enumeration"];

    fn policy(&self, _class: &str) -> Policy {
        Policy::new(self.mode, self.ttl)
    }

    fn build(&self, context: &BuildContext) -> Result<Box<dyn Detection>> {
        Ok(Box::new(Enumeration::new(
            self.statuses.clone(),
            self.threshold,
            self.window,
            context.max_sources,
        )))
    }
}

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
                fragment: match resp.request {
                    Some(r) => format!("{} {} -> {}", r.method(), r.target(), resp.status),
                    None => format!("-> {}", resp.status),
                },
                ..Finding::new(
                    DetectionKind::Enumeration,
                    "enumeration",
                    format!("{} error responses in {:?}", self.threshold, self.window),
                )
            });
        }
    }
}
