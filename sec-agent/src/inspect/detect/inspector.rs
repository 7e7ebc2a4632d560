//! The one path a request takes from parsed message to findings: normalize it, skip the
//! detections `ignore_paths` exempts it from, run the others, and attach to each finding
//! the raw value that carried it. The pipeline, `sec-agent inspect`, the corpus tests and
//! the benchmarks all inspect through this type, so they cannot disagree.

use std::{net::IpAddr, time::Instant};

use anyhow::Result;

use super::{Detection, DetectionsConfig, Finding, MAX_RAW, RequestInfo, ResponseInfo};
use crate::{
    inspect::normalize::{Inspection, raw_value},
    inspect::parse::{Message, RequestLine},
};

/// Normalizer and detections, with the buffers they reuse from one request to the next.
pub struct Inspector {
    detections: Vec<Box<dyn Detection>>,
    ignore_paths: Vec<String>,
    /// The last request's inspection, kept for its buffers (see [`Inspection::refill`]).
    inspection: Inspection,
    findings: Vec<Finding>,
}

/// What inspecting one request gave: its decoded form and the findings.
pub struct Inspected<'a> {
    /// The decoded request.
    pub inspection: &'a Inspection,
    /// What the detections found, in registry order.
    pub findings: &'a [Finding],
}

impl Inspector {
    /// An inspector running every detection `config` turns on.
    ///
    /// # Errors
    /// As [`DetectionsConfig::build`].
    pub fn new(config: &DetectionsConfig) -> Result<Inspector> {
        Ok(Inspector {
            detections: config.build()?,
            ignore_paths: config.ignore_paths.clone(),
            inspection: Inspection::default(),
            findings: Vec::new(),
        })
    }

    /// Inspects `request` from `source`, seen at `now`.
    pub fn request(&mut self, request: &Message, source: IpAddr, now: Instant) -> Inspected<'_> {
        self.inspection.refill(request);
        self.findings.clear();
        let ignored = self
            .ignore_paths
            .iter()
            .any(|p| self.inspection.path().starts_with(p.as_str()));
        let info = RequestInfo {
            source,
            now,
            inspection: &self.inspection,
        };
        for d in &mut self.detections {
            if !ignored || d.runs_on_ignored_paths() {
                d.on_request(&info, &mut self.findings);
            }
        }
        for f in &mut self.findings {
            if let (Some(location), None) = (f.location, &f.raw) {
                f.raw = raw_value(request, location, &f.name, &f.fragment).map(clip);
            }
        }
        Inspected {
            inspection: &self.inspection,
            findings: &self.findings,
        }
    }

    /// Shows the detections a response with `status` to `client`, answering `request`.
    pub fn response(
        &mut self,
        client: IpAddr,
        status: u16,
        request: Option<&RequestLine>,
        now: Instant,
    ) -> &[Finding] {
        self.findings.clear();
        let info = ResponseInfo {
            client,
            now,
            status,
            request,
        };
        for d in &mut self.detections {
            d.on_response(&info, &mut self.findings);
        }
        &self.findings
    }
}

/// At most [`MAX_RAW`] bytes of `raw`, as text (invalid UTF-8 replaced).
fn clip(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(MAX_RAW)]).into_owned()
}
