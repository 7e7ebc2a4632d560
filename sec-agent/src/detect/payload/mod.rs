//! Payload detection: SQL injection, XSS, command injection, path traversal / LFI, and
//! SSRF / RFI in every decoded field, plus the operator's own literal and regex patterns.

pub mod cmdi;
pub mod patterns;
pub mod sqli;
pub mod ssrf;
pub mod traversal;
pub mod xss;

use super::{Detection, DetectionKind, Finding, RequestInfo};
use crate::normalize::Location;

/// Longest fragment quoted in a finding, in bytes.
pub const MAX_FRAGMENT: usize = 80;

/// Where a payload matched: the rule and the quoted part of the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// `class:shape`, e.g. `sqli:tautology`.
    pub rule: &'static str,
    /// The matching part of the value, at most [`MAX_FRAGMENT`] bytes.
    pub fragment: String,
}

impl Match {
    /// The match of `value[start..end]`, clamped to the value and to character boundaries.
    pub fn new(rule: &'static str, value: &str, start: usize, end: usize) -> Match {
        let mut s = start.min(value.len());
        while !value.is_char_boundary(s) {
            s -= 1;
        }
        let mut e = end.clamp(s, value.len()).min(s + MAX_FRAGMENT);
        while !value.is_char_boundary(e) {
            e -= 1;
        }
        Match {
            rule,
            fragment: value[s..e].to_string(),
        }
    }

    /// The class part of the rule (`sqli`, `xss`, ...).
    pub fn class(&self) -> &'static str {
        self.rule.split(':').next().unwrap_or(self.rule)
    }
}

/// The payload classes, each with the locations it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// SQL injection.
    Sqli,
    /// Cross-site scripting.
    Xss,
    /// OS command injection.
    Cmdi,
    /// Path traversal and local file inclusion.
    Traversal,
    /// SSRF and remote file inclusion.
    Ssrf,
}

impl Class {
    /// All built-in classes.
    pub const ALL: [Class; 5] = [
        Class::Sqli,
        Class::Xss,
        Class::Cmdi,
        Class::Traversal,
        Class::Ssrf,
    ];

    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            Class::Sqli => "sqli",
            Class::Xss => "xss",
            Class::Cmdi => "cmdi",
            Class::Traversal => "traversal",
            Class::Ssrf => "ssrf",
        }
    }

    /// Parses a config name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    fn check(self, location: Location, value: &str) -> Option<Match> {
        use Location::*;
        match self {
            Class::Sqli => sqli::check(value),
            Class::Xss => xss::check(value),
            // Header values such as Accept lists and cookies rarely hold shell syntax, but
            // they do reach CGI scripts and loggers: inspected everywhere.
            Class::Cmdi => cmdi::check(value),
            Class::Traversal => traversal::check(value, location == Path),
            // Referer and Origin carry URLs of every kind legitimately.
            Class::Ssrf if matches!(location, HeadersValues | UserAgent | Path) => None,
            Class::Ssrf => ssrf::check(value),
        }
    }
}

/// The payload detection.
pub struct Payload {
    classes: Vec<Class>,
    patterns: patterns::Patterns,
}

impl Payload {
    /// Runs `classes` and the operator `patterns`.
    pub fn new(classes: Vec<Class>, patterns: patterns::Patterns) -> Payload {
        Payload { classes, patterns }
    }
}

impl Detection for Payload {
    fn kind(&self) -> DetectionKind {
        DetectionKind::Payload
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        for field in &req.inspection.fields {
            let hit = self
                .classes
                .iter()
                .find_map(|c| c.check(field.location, &field.value))
                .or_else(|| self.patterns.check(&field.value));
            if let Some(m) = hit {
                out.push(Finding {
                    detection: DetectionKind::Payload,
                    class: m.class().to_string(),
                    rule: m.rule.to_string(),
                    location: Some(field.location),
                    name: field.name.clone(),
                    fragment: m.fragment,
                });
                return; // One finding per request is enough to decide.
            }
        }
    }
}
