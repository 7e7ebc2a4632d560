//! Payload detection: SQL injection, XSS, command injection, path traversal / LFI, SSRF /
//! RFI, template injection, XXE, CRLF injection, NoSQL operators, JNDI lookups, prototype
//! pollution, serialized objects and LDAP filters in every decoded field, plus the
//! operator's own literal and regex patterns.

pub mod cmdi;
pub mod crlf;
pub mod deserialization;
pub mod jndi;
pub mod ldap;
pub mod nosql;
pub mod patterns;
pub mod prototype;
mod shape;
pub mod sqli;
pub mod ssrf;
pub mod ssti;
pub mod traversal;
pub mod xss;
pub mod xxe;

use std::{borrow::Cow, path::PathBuf, time::Duration};

use anyhow::Result;
use serde::{Deserialize, Deserializer, de};

use super::clean_memo::CleanMemo;
use super::{BuildContext, Detection, DetectionKind, Finding, Mode, Policy, RequestInfo, Section};
use crate::inspect::normalize::{Location, compatible};
use shape::{LT, NONASCII, Shape, find, shell_byte};

/// `[detections.payload]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL (before escalation).
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
    /// The classes reported, from [`CLASSES`]; a checker runs when one of its classes
    /// is listed (`traversal` and `lfi` share one, as do `ssrf` and `rfi`), `evasion` is
    /// an encoding no client writes (overlong UTF-8, `%%32`, `%u002e`, triple encoding),
    /// and `custom` covers the pattern files.
    #[serde(deserialize_with = "classes")]
    pub classes: Vec<&'static str>,
    /// Files of literal patterns (one per line, case-insensitive).
    pub literal_files: Vec<PathBuf>,
    /// Files of regular expressions (one per line).
    pub regex_files: Vec<PathBuf>,
}

/// The index of `evasion` in [`CLASSES`].
const EVASION: usize = 7;

/// Every class a payload finding carries (at most 32: [`Payload`] keeps them as bits).
pub const CLASSES: &[&str] = &[
    "sqli",
    "xss",
    "cmdi",
    "traversal",
    "lfi",
    "ssrf",
    "rfi",
    "evasion",
    "ssti",
    "xxe",
    "crlf",
    "nosql",
    "jndi",
    "prototype_pollution",
    "deserialization",
    "ldap",
    "custom",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            classes: CLASSES.to_vec(),
            literal_files: Vec::new(),
            regex_files: Vec::new(),
        }
    }
}

impl Section for Config {
    const CLASSES: &'static [&'static str] = CLASSES;

    fn policy(&self, _class: &str) -> Policy {
        Policy::new(self.mode, self.ttl)
    }

    fn build(&self, _context: &BuildContext) -> Result<Box<dyn Detection>> {
        traversal::build_matchers();
        let patterns = if self.classes.contains(&"custom") {
            patterns::Patterns::load(&self.literal_files, &self.regex_files)?
        } else {
            patterns::Patterns::default()
        };
        Ok(Box::new(Payload::new(&self.classes, patterns)))
    }
}

/// The `classes` list: names from [`CLASSES`], kept as its `&'static str`s.
fn classes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|n| {
            CLASSES.iter().copied().find(|c| c == n).ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown payload class `{n}` ({})",
                    CLASSES.join(", ")
                ))
            })
        })
        .collect()
}

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

    /// The class part of the rule (`sqli`, `xss`, ...), one of [`CLASSES`].
    pub fn class(&self) -> &'static str {
        self.rule.split(':').next().unwrap_or(self.rule)
    }

    /// The index of [`Match::class`] in [`CLASSES`] (that of `custom` for a class not
    /// there, which no built-in rule has).
    fn class_index(&self) -> usize {
        let class = self.class();
        CLASSES
            .iter()
            .position(|c| *c == class)
            .unwrap_or(CLASSES.len() - 1)
    }
}

/// The payload checkers, each with the locations it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checker {
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
    /// Server-side template injection.
    Ssti,
    /// XML external entities.
    Xxe,
    /// CRLF and header injection.
    Crlf,
    /// NoSQL query operators.
    Nosql,
    /// JNDI lookups (Log4Shell).
    Jndi,
    /// Prototype pollution.
    Prototype,
    /// Serialized objects.
    Deserialization,
    /// LDAP filter injection.
    Ldap,
}

impl Checker {
    /// All built-in checkers, in the order they run: those of one precise shape first,
    /// so that an XML document with an entity reading `file:///etc/passwd` is reported as
    /// XXE rather than as the SSRF its URL also looks like.
    pub const ALL: [Checker; 13] = [
        Checker::Jndi,
        Checker::Xxe,
        Checker::Deserialization,
        Checker::Ssti,
        Checker::Nosql,
        Checker::Prototype,
        Checker::Crlf,
        Checker::Sqli,
        Checker::Xss,
        Checker::Cmdi,
        Checker::Traversal,
        Checker::Ssrf,
        Checker::Ldap,
    ];

    /// The classes of [`CLASSES`] its matches carry.
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            Checker::Sqli => &["sqli"],
            Checker::Xss => &["xss"],
            Checker::Cmdi => &["cmdi"],
            Checker::Traversal => &["traversal", "lfi"],
            Checker::Ssrf => &["ssrf", "rfi"],
            Checker::Ssti => &["ssti"],
            Checker::Xxe => &["xxe"],
            Checker::Crlf => &["crlf"],
            Checker::Nosql => &["nosql"],
            Checker::Jndi => &["jndi"],
            Checker::Prototype => &["prototype_pollution"],
            Checker::Deserialization => &["deserialization"],
            Checker::Ldap => &["ldap"],
        }
    }

    /// Its first class, which names it.
    pub fn name(self) -> &'static str {
        self.classes()[0]
    }

    fn check(
        self,
        location: Location,
        value: &str,
        shape: Shape,
        scratch: &mut Scratch,
    ) -> Option<Match> {
        use Location::*;
        if !shape.plausible(self, value) {
            return None;
        }
        match self {
            Checker::Sqli => sqli::check_with(value, &mut scratch.sqli),
            Checker::Xss => xss::check_with(value, &mut scratch.xss),
            // Header values such as Accept lists and cookies rarely hold shell syntax, but
            // they do reach CGI scripts and loggers: inspected everywhere.
            Checker::Cmdi => check_cmdi(value, shape, location),
            Checker::Traversal => traversal::check_shaped(value, location == Path, shape.0),
            // Referer and Origin carry URLs of every kind legitimately.
            Checker::Ssrf if matches!(location, HeadersValues | UserAgent | Path) => None,
            Checker::Ssrf => ssrf::check(value),
            Checker::Ssti => ssti::check(value),
            Checker::Xxe => xxe::check(value),
            Checker::Crlf => crlf::check(value),
            Checker::Nosql => nosql::check(location, value),
            Checker::Jndi => jndi::check(value),
            Checker::Prototype => prototype::check(location, value),
            Checker::Deserialization => deserialization::check_shaped(value, shape.has(shape::MARKED)),
            Checker::Ldap => ldap::check(value),
        }
    }
}

/// Command injection on a value that passed the prefilter: out of line, since most values
/// never get here and every checker's call would pay for its registers otherwise.
#[inline(never)]
fn check_cmdi(value: &str, shape: Shape, location: Location) -> Option<Match> {
    if shape.has(LT)
        && let Some(m) = cmdi::server_side_include(value)
    {
        return Some(m);
    }
    cmdi::check_in(value, shape.cmdi(location))
}

/// Header values remembered clean ([`CleanMemo`]): a busy host's distinct User-Agents,
/// cookies and custom headers of the last few seconds, in at most 512 KiB.
const MEMO_SLOTS: usize = 1024;

/// Whether the payload verdicts of values in `location` are remembered: header values,
/// which clients repeat. Query and body values change from request to request, and the
/// memo would only cost them a hash.
fn remembered(location: Location) -> bool {
    matches!(
        location,
        Location::UserAgent | Location::HeadersValues | Location::Cookies | Location::CookieNames
    )
}

/// The payload detection.
pub struct Payload {
    /// Bit `i` set: [`Checker::ALL`]`[i]` runs (one of its classes is configured).
    enabled: u16,
    /// Bit `i` set: class `CLASSES[i]` is reported.
    reported: u32,
    /// `None` without operator patterns: most hosts have none, and every field would pay
    /// the call.
    patterns: Option<patterns::Patterns>,
    /// Whether command injection runs (see [`Shape::at`]).
    cmdi: bool,
    scratch: Scratch,
    /// Header values found clean, checked once however often clients repeat them.
    clean: CleanMemo,
}

/// Buffers the checkers reuse from one value to the next instead of allocating.
#[derive(Default)]
struct Scratch {
    sqli: sqli::Scratch,
    xss: xss::Scratch,
}

impl Payload {
    /// The first reported match in `value`: the built-in checkers, then the operator's
    /// patterns. A checker whose match is of a class left out of the config (`lfi` without
    /// `traversal`, say) has found nothing to report.
    #[inline]
    fn check(&mut self, location: Location, value: &str, shape: Shape) -> Option<Match> {
        let (scratch, reported) = (&mut self.scratch, self.reported);
        // Only the checkers whose bytes the value holds, in [`Checker::ALL`] order: a
        // value is plausible for two or three of them, and testing all thirteen one by one
        // cost more than the bit mask.
        let mut candidates = shape.candidates(value.len()) & self.enabled;
        while candidates != 0 {
            let c = Checker::ALL[candidates.trailing_zeros() as usize];
            candidates &= candidates - 1;
            if let Some(m) = c.check(location, value, shape, scratch)
                && reported & (1 << m.class_index()) != 0
            {
                return Some(m);
            }
        }
        self.patterns.as_ref().and_then(|p| p.check(value))
    }

    /// [`Payload::check`] on the compatibility form of a non-ASCII value: lookalikes of
    /// ASCII (`．．／ｅｔｃ`) are read as what they look like.
    #[cold]
    fn check_compatible(&mut self, location: Location, value: &str) -> Option<Match> {
        let Cow::Owned(folded) = compatible(value) else {
            return None;
        };
        let m = self.check(location, &folded, Shape::at(&folded, location, self.cmdi))?;
        Some(Match::new(m.rule, value, 0, value.len()))
    }

    /// Reports `classes` (names from [`CLASSES`]; others are ignored) and the operator
    /// `patterns`.
    pub fn new(classes: &[&str], patterns: patterns::Patterns) -> Payload {
        let reported = CLASSES
            .iter()
            .enumerate()
            .filter(|(_, c)| classes.contains(c))
              .fold(0u32, |bits, (i, _)| bits | 1 << i);
        let enabled = Checker::ALL
            .into_iter()
            .enumerate()
            .filter(|(_, c)| c.classes().iter().any(|k| classes.contains(k)))
            .fold(0u16, |bits, (i, _)| bits | 1 << i);
        Payload {
            cmdi: enabled & shape::checker_bit(Checker::Cmdi) != 0,
            enabled,
            reported,
            patterns: (!patterns.is_empty()).then_some(patterns),
            scratch: Scratch::default(),
            clean: CleanMemo::new(MEMO_SLOTS),
        }
    }
}

impl Detection for Payload {
    fn kind(&self) -> DetectionKind {
        DetectionKind::Payload
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        for field in req.inspection.fields() {
            let shape = Shape::at(field.value, field.location, self.cmdi);
            if shape.inert(field.value.len()) && !field.evasive && self.patterns.is_none() {
                continue;
            }
            // An evasive value is a finding whatever the checkers say: never memoized.
            let memo = (remembered(field.location) && !field.evasive)
                .then(|| self.clean.key(field.location, field.value))
                .flatten();
            if let Some(key) = memo
                && self.clean.contains(key, field.location, field.value)
            {
                continue;
            }
            let mut hit = self.check(field.location, field.value, shape);
            if hit.is_none() && shape.has(NONASCII) {
                hit = self.check_compatible(field.location, field.value);
            }
            if let Some(key) = memo
                && hit.is_none()
            {
                self.clean.insert(key, field.location, field.value);
                continue;
            }
            // An encoding that no client writes is evidence enough, whatever it hides.
            if hit.is_none() && field.evasive && self.reported & (1 << EVASION) != 0 {
                hit = Some(Match::new("evasion:encoding", field.value, 0, field.value.len()));
            }
            if let Some(m) = hit {
                let class = CLASSES[m.class_index()];
                out.push(Finding {
                    location: Some(field.location),
                    name: field.name.to_string(),
                    fragment: m.fragment,
                    ..Finding::new(DetectionKind::Payload, class, m.rule)
                });
                return; // One finding per request is enough to decide.
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_evasion_index_names_evasion() {
        assert_eq!(CLASSES[EVASION], "evasion");
        assert_eq!(CLASSES.last(), Some(&"custom"));
    }

    #[test]
    fn remembered_clean_values_never_hide_a_finding() {
        let mut payload = Payload::new(CLASSES, patterns::Patterns::default());
        let browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0";
        let attack = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0' OR '1'='1";
        let got = crate::inspect::detect::clean_memo::first_rules(
            &mut payload,
            &[browser, attack, browser, attack, attack],
        );
        assert_eq!(got[0], None);
        assert_eq!(got[2], None);
        for i in [1, 3, 4] {
            assert!(got[i].as_ref().is_some_and(|r| r.starts_with("sqli:")), "{got:?}");
        }
    }
}
