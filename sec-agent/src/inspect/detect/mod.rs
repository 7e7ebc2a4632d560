//! Detect: the detections, each in its own module behind one trait, listed in one place
//! (the `detections!` registry below).
//!
//! A detection module holds everything about that detection: its `[detections.NAME]`
//! config section (a [`Section`]: serde struct, defaults, mode and TTL), the classes its
//! findings carry, and the [`Detection`] that runs. Adding one is a new file, a line in
//! the registry (the `detections!` list below), its block in `config/sec-agent.toml` and
//! its row in the README's table of detections (tests fail when either is missing).
//!
//! A detection sees every inspected request (and, if it wants, every response with the
//! request it answers) and reports [`Finding`]s. What happens next (log only, or ban, and
//! for how long) is the decide stage's business, from the [`Policy`] its section gives.

mod clean_memo;
mod inspector;
#[macro_use]
mod registry;
mod window;

use std::{borrow::Cow, fmt::Debug, net::IpAddr, time::Duration, time::Instant};

use anyhow::Result;
use serde::{Deserialize, de::DeserializeOwned};

pub use inspector::{Inspected, Inspector};

use crate::{
    inspect::normalize::{Inspection, Location},
    inspect::parse::RequestLine,
};

// The registry: the one list of detections (see `registry.rs`). Adding a detection is a
// file `NAME.rs` with its `Config` section and its `Detection`, and a line here.
detections! {
    /// Malicious payloads (SQLi, XSS, command injection, traversal, SSRF, custom).
    Payload = 1, payload in payload;
    /// Attack tools and scanners by User-Agent, and the missing User-Agent policy.
    UserAgent = 2, user_agent in user_agent;
    /// Many 4xx responses to one source: probing for resources or credentials.
    Enumeration = 3, enumeration in enumeration;
    /// Too many requests from one source.
    RequestFlood = 4, request_flood in flood;
    /// Requests for paths no legitimate client asks for.
    DecoyPath = 5, decoy_path in decoy;
}

/// What a detection does with its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Not run at all.
    Off,
    /// Findings are logged as events; nobody is banned.
    Monitor,
    /// Findings are logged and the source is banned in the kernel.
    Ban,
}

impl Mode {
    /// Config name, also the `mode` label of `sec_agent_detections_total`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Monitor => "monitor",
            Mode::Ban => "ban",
        }
    }
}

/// What a finding leads to, before the decide stage looks at the source's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Off, monitor or ban.
    pub mode: Mode,
    /// Base ban TTL (before repeat-offender escalation).
    pub ttl: Duration,
}

impl Policy {
    /// `mode` with base TTL `ttl`.
    pub fn new(mode: Mode, ttl: Duration) -> Policy {
        Policy { mode, ttl }
    }
}

/// What every detection's build may use besides its own section.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext {
    /// `[detections] max_sources`: sources a per-source detection tracks at most.
    pub max_sources: usize,
}

/// A detection's config section, `[detections.NAME]`: every key optional (the `Default`
/// is the shipped value), unknown keys refused.
pub trait Section: Clone + Debug + Default + DeserializeOwned {
    /// Every class its findings carry (`Finding::class`); the names events, metrics and
    /// the README use.
    const CLASSES: &'static [&'static str];

    /// Mode and base TTL for a finding of `class` (one of [`Section::CLASSES`]).
    fn policy(&self, class: &str) -> Policy;

    /// The detection this section configures.
    ///
    /// # Errors
    /// Operator patterns or files that cannot be read or compiled.
    fn build(&self, context: &BuildContext) -> Result<Box<dyn Detection>>;

    /// Whether any of its classes is not `off` (an all-off detection is not built).
    fn enabled(&self) -> bool {
        Self::CLASSES
            .iter()
            .any(|c| self.policy(c).mode != Mode::Off)
    }
}

/// One thing a detection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which detection.
    pub detection: DetectionKind,
    /// Class within the detection, one of its section's [`Section::CLASSES`].
    pub class: &'static str,
    /// The rule that matched (`sqli:tautology`), or the threshold crossed.
    pub rule: Cow<'static, str>,
    /// Where in the request, for request findings.
    pub location: Option<Location>,
    /// Parameter, header or cookie name, when there is one.
    pub name: String,
    /// The matching part of the decoded value (at most 80 bytes), or a description.
    pub fragment: String,
    /// The field's value as it arrived, before any decoding (`..%2f..%2fetc%2fpasswd`),
    /// at most [`MAX_RAW`] bytes; filled in by the [`Inspector`] for request findings
    /// with a location.
    pub raw: Option<String>,
}

/// Longest [`Finding::raw`] kept, in bytes.
pub const MAX_RAW: usize = 160;

impl Finding {
    /// A finding of `detection`/`class` with nothing else filled in.
    pub fn new(
        detection: DetectionKind,
        class: &'static str,
        rule: impl Into<Cow<'static, str>>,
    ) -> Finding {
        Finding {
            detection,
            class,
            rule: rule.into(),
            location: None,
            name: String::new(),
            fragment: String::new(),
            raw: None,
        }
    }
}

/// A request as the detections see it.
pub struct RequestInfo<'a> {
    /// Source address of the client.
    pub source: IpAddr,
    /// When it was seen.
    pub now: Instant,
    /// The decoded request.
    pub inspection: &'a Inspection,
}

/// A response as the detections see it.
pub struct ResponseInfo<'a> {
    /// The client the response goes to.
    pub client: IpAddr,
    /// When it was seen.
    pub now: Instant,
    /// Status code.
    pub status: u16,
    /// The request it answers, when known.
    pub request: Option<&'a RequestLine>,
}

/// A detection.
pub trait Detection: Send {
    /// Which one it is.
    fn kind(&self) -> DetectionKind;
    /// Looks at a request.
    fn on_request(&mut self, _req: &RequestInfo<'_>, _out: &mut Vec<Finding>) {}
    /// Looks at a response.
    fn on_response(&mut self, _resp: &ResponseInfo<'_>, _out: &mut Vec<Finding>) {}
    /// Whether it also sees requests under `[detections] ignore_paths` (which skip
    /// inspection, not counting: a flood of health checks is still a flood).
    fn runs_on_ignored_paths(&self) -> bool {
        false
    }
}

/// Builds every detection that is not off.
///
/// # Errors
/// As [`Section::build`], naming the section.
pub fn registry(config: &DetectionsConfig) -> Result<Vec<Box<dyn Detection>>> {
    config.build()
}
