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

    fn check(
        self,
        location: Location,
        value: &str,
        shape: Shape,
        scratch: &mut sqli::Scratch,
    ) -> Option<Match> {
        use Location::*;
        if !shape.plausible(self, value) {
            return None;
        }
        match self {
            Class::Sqli => sqli::check_with(value, scratch),
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

/// Which characters a value holds, computed once per value so that a class is only run on
/// values that could carry it: most fields (ids, words, numbers) hold none of the
/// characters any injection needs, and skipping them is what keeps the pipeline fast.
#[derive(Clone, Copy, Default)]
struct Shape {
    quote: bool,
    lt: bool,
    colon: bool,
    shell: bool,
    slash: bool,
    sql: bool,
}

impl Shape {
    fn of(value: &str) -> Shape {
        let mut s = Shape::default();
        for b in value.bytes() {
            match b {
                b'`' => {
                    s.quote = true;
                    s.shell = true;
                }
                b'\'' | b'"' => s.quote = true,
                b'<' => s.lt = true,
                b':' => s.colon = true,
                b';' | b'|' | b'&' | b'\n' | b'$' => s.shell = true,
                b'/' | b'\\' => s.slash = true,
                b'=' | b'>' | b'#' | b'-' | b'(' | b'@' => s.sql = true,
                _ => {}
            }
        }
        s.sql |= s.quote || s.shell || s.lt;
        s
    }

    fn plausible(self, class: Class, value: &str) -> bool {
        match class {
            // Without quotes or operators only `1 UNION SELECT 1`-style input is left.
            Class::Sqli => {
                self.sql || contains_word_ci(value, &["union", "select", "order", "group"])
            }
            Class::Xss => self.lt || self.colon || self.quote,
            Class::Cmdi => self.shell || self.quote && value.contains("() {"),
            Class::Traversal => self.slash || value.contains(".."),
            Class::Ssrf => self.colon,
        }
    }
}

/// Whether `value` contains one of the lowercase ASCII `words`, ignoring case. One pass:
/// only positions whose byte starts one of the words are compared.
fn contains_word_ci(value: &str, words: &[&str]) -> bool {
    let v = value.as_bytes();
    let mut firsts = [false; 256];
    for w in words {
        firsts[usize::from(w.as_bytes()[0])] = true;
    }
    v.iter().enumerate().any(|(i, &b)| {
        firsts[usize::from(b.to_ascii_lowercase())]
            && words.iter().any(|w| {
                v.get(i..i + w.len())
                    .is_some_and(|win| win.eq_ignore_ascii_case(w.as_bytes()))
            })
    })
}

/// The payload detection.
pub struct Payload {
    classes: Vec<Class>,
    patterns: patterns::Patterns,
    sqli: sqli::Scratch,
}

impl Payload {
    /// Runs `classes` and the operator `patterns`.
    pub fn new(classes: Vec<Class>, patterns: patterns::Patterns) -> Payload {
        Payload {
            classes,
            patterns,
            sqli: sqli::Scratch::default(),
        }
    }
}

impl Detection for Payload {
    fn kind(&self) -> DetectionKind {
        DetectionKind::Payload
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        for field in req.inspection.fields() {
            let shape = Shape::of(field.value);
            let hit = self
                .classes
                .iter()
                .find_map(|c| c.check(field.location, field.value, shape, &mut self.sqli))
                .or_else(|| self.patterns.check(field.value));
            if let Some(m) = hit {
                out.push(Finding {
                    detection: DetectionKind::Payload,
                    class: m.class().to_string(),
                    rule: m.rule.to_string(),
                    location: Some(field.location),
                    name: field.name.to_string(),
                    fragment: m.fragment,
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
    fn the_prefilter_lets_every_attack_shape_through() {
        let cases: &[(Class, &[&str])] = &[
            (
                Class::Sqli,
                &[
                    "1 union select 1",
                    "-1 UNION ALL SELECT 1,2,3",
                    "' OR 1=1",
                    "sleep(5)",
                    "1 AND 2>1",
                    "admin'#",
                    "1;DROP TABLE x",
                ],
            ),
            (
                Class::Xss,
                &[
                    "<svg onload=alert(1)>",
                    "javascript:alert(1)",
                    "\" onmouseover=\"x",
                    "';alert(1)//",
                ],
            ),
            (
                Class::Cmdi,
                &[
                    "x|id",
                    "`id`",
                    "$(whoami)",
                    "a\nwhoami",
                    "() { :; }; /bin/bash",
                    "x;id",
                ],
            ),
            (
                Class::Traversal,
                &[
                    "../../etc/passwd",
                    "..\\..\\win.ini",
                    "/etc/shadow",
                    "php://filter/x",
                ],
            ),
            (
                Class::Ssrf,
                &["http://127.0.0.1/", "file:///etc/passwd", "gopher://x"],
            ),
        ];
        for (class, attacks) in cases {
            for a in *attacks {
                assert!(
                    Shape::of(a).plausible(*class, a),
                    "{} would skip {a}",
                    class.name()
                );
            }
        }
        for plain in [
            "hello world",
            "12345",
            "O Brien",
            "red shoes",
            "550e8400-e29b-41d4",
        ] {
            for class in Class::ALL {
                if class == Class::Sqli && plain.contains('-') {
                    continue;
                }
                assert!(
                    !Shape::of(plain).plausible(class, plain),
                    "{} runs on {plain}",
                    class.name()
                );
            }
        }
    }
}
