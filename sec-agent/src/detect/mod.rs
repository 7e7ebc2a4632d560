//! Detect: the detections, each in its own module behind one trait, built in one place
//! ([`registry`]). Adding a detection is adding a file and a line there.
//!
//! A detection sees every inspected request (and, if it wants, every response with the
//! request it answers) and reports [`Finding`]s. What happens next (log only, or ban, and
//! for how long) is the decide stage's business, from the detection's configured mode.

pub mod decoy;
pub mod enumeration;
pub mod flood;
pub mod payload;
pub mod user_agent;
mod window;

use std::{net::IpAddr, time::Instant};

use anyhow::Result;
use serde::Deserialize;

use crate::{
    config::DetectionsConfig,
    normalize::{Inspection, Location},
    parse::RequestLine,
};

/// The detections, with stable names and numeric codes (the code goes into the kernel ban
/// entry as `BanReason::Detection(code)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionKind {
    /// Malicious payloads (SQLi, XSS, command injection, traversal, SSRF, custom).
    Payload = 1,
    /// Attack tools and scanners by User-Agent, and the missing User-Agent policy.
    UserAgent = 2,
    /// Many 4xx responses to one source: probing for resources or credentials.
    Enumeration = 3,
    /// Too many requests from one source.
    RequestFlood = 4,
    /// Requests for paths no legitimate client asks for.
    DecoyPath = 5,
}

impl DetectionKind {
    /// Every detection.
    pub const ALL: [DetectionKind; 5] = [
        DetectionKind::Payload,
        DetectionKind::UserAgent,
        DetectionKind::Enumeration,
        DetectionKind::RequestFlood,
        DetectionKind::DecoyPath,
    ];

    /// Stable name (config section, events, metrics).
    pub fn name(self) -> &'static str {
        match self {
            DetectionKind::Payload => "payload",
            DetectionKind::UserAgent => "user_agent",
            DetectionKind::Enumeration => "enumeration",
            DetectionKind::RequestFlood => "request_flood",
            DetectionKind::DecoyPath => "decoy_path",
        }
    }

    /// Numeric code stored in ban entries.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The kind of a ban-entry code.
    pub fn from_code(code: u32) -> Option<DetectionKind> {
        DetectionKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One thing a detection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Which detection.
    pub detection: DetectionKind,
    /// Class within the detection: `sqli`, `xss`, `cmdi`, `traversal`, `lfi`, `ssrf`,
    /// `rfi`, `custom`, `scanner`, `missing_user_agent`, `enumeration`, `flood`, `decoy`.
    pub class: String,
    /// The rule that matched (`sqli:tautology`), or the threshold crossed.
    pub rule: String,
    /// Where in the request, for request findings.
    pub location: Option<Location>,
    /// Parameter, header or cookie name, when there is one.
    pub name: String,
    /// The matching part of the value (at most 80 bytes), or a description.
    pub fragment: String,
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
    /// Sources with per-source state now (bounded by `max_sources`).
    fn tracked_sources(&self) -> usize {
        0
    }
}

/// Builds every detection whose mode is not `off`, from the config. The one place that
/// lists the detections.
///
/// # Errors
/// Operator pattern files that cannot be read or compiled.
pub fn registry(config: &DetectionsConfig) -> Result<Vec<Box<dyn Detection>>> {
    use crate::config::Mode::Off;
    let mut out: Vec<Box<dyn Detection>> = Vec::new();
    let p = &config.payload;
    if p.mode != Off {
        let patterns = payload::patterns::Patterns::load(&p.literal_files, &p.regex_files)?;
        out.push(Box::new(payload::Payload::new(p.classes.clone(), patterns)));
    }
    let u = &config.user_agent;
    if u.mode != Off || u.missing != Off {
        out.push(Box::new(user_agent::UserAgent::new(
            &u.scanners,
            &u.regexes,
        )?));
    }
    let e = &config.enumeration;
    if e.mode != Off {
        out.push(Box::new(enumeration::Enumeration::new(
            e.statuses.clone(),
            e.threshold,
            e.window,
            config.max_sources,
        )));
    }
    let f = &config.request_flood;
    if f.mode != Off {
        out.push(Box::new(flood::RequestFlood::new(
            f.threshold,
            f.window,
            config.max_sources,
        )));
    }
    let d = &config.decoy_path;
    if d.mode != Off {
        out.push(Box::new(decoy::DecoyPath::new(&d.paths)?));
    }
    Ok(out)
}
