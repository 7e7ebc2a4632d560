//! User-Agent: attack tools and scanners that announce themselves (their default
//! User-Agent strings contain their names), the operator's extra names and regexes, and the
//! missing or empty User-Agent policy (every browser and mainstream HTTP library sends one).

use std::time::Duration;

use aho_corasick::AhoCorasick;
use anyhow::{Context as _, Result};
use regex::RegexSet;
use serde::Deserialize;

use super::clean_memo::CleanMemo;
use super::{BuildContext, Detection, DetectionKind, Finding, Mode, Policy, RequestInfo, Section};
use crate::inspect::normalize::Location;

/// `[detections.user_agent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// off, monitor or ban, for scanner User-Agents.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
    /// What a missing or empty User-Agent gets: off, monitor or ban.
    pub missing: Mode,
    /// Case-insensitive substrings that name a scanner.
    pub scanners: Vec<String>,
    /// Regular expressions matched against the whole User-Agent.
    pub regexes: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            missing: Mode::Monitor,
            scanners: DEFAULT_SCANNERS.iter().map(|s| s.to_string()).collect(),
            regexes: Vec::new(),
        }
    }
}

/// Class of a scanner finding.
const SCANNER: &str = "scanner";
/// Class of a missing or empty User-Agent: its own mode, `missing`.
const MISSING: &str = "missing_user_agent";

impl Section for Config {
    const CLASSES: &'static [&'static str] = &[SCANNER, MISSING];

    fn policy(&self, class: &str) -> Policy {
        Policy {
            mode: if class == MISSING {
                self.missing
            } else {
                self.mode
            },
            ttl: self.ttl,
        }
    }

    fn build(&self, _context: &BuildContext) -> Result<Box<dyn Detection>> {
        Ok(Box::new(UserAgent::new(&self.scanners, &self.regexes)?))
    }
}

/// Built-in scanner names: tools whose default User-Agent contains the name.
pub const DEFAULT_SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "dirbuster",
    "gobuster",
    "ffuf",
    "fuzz faster u fool",
    "wfuzz",
    "nuclei",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "arachni",
    "whatweb",
    "wpscan",
    "joomscan",
    "hydra",
    "havij",
    "netsparker",
    "appscan",
    "skipfish",
    "zmeu",
    "feroxbuster",
    "dirb/",
    "commix",
    "xsstrike",
    "jaeles",
    "burpsuite",
    "zap/",
    "paros",
    "webinspect",
    "jorgee",
    "morfeus",
    "zgrab2",
    "dotdotpwn",
    "grabber",
    "bbqsql",
    "sqlninja",
    "fimap",
    "wapiti",
    "vega/",
    "nuclei -",
];

/// The User-Agent detection.
pub struct UserAgent {
    names: AhoCorasick,
    regexes: Option<RegexSet>,
    /// User-Agents that matched neither: a client sends the same one on every request.
    clean: CleanMemo,
}

/// User-Agents remembered clean: the distinct clients of the last few seconds.
const MEMO_SLOTS: usize = 256;

impl UserAgent {
    /// Matches `names` (case-insensitive substrings) and `regexes`.
    ///
    /// # Errors
    /// An invalid regex.
    pub fn new(names: &[String], regexes: &[String]) -> Result<Self> {
        Ok(UserAgent {
            names: AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(names)
                .context("building the scanner name matcher")?,
            regexes: (!regexes.is_empty())
                .then(|| RegexSet::new(regexes))
                .transpose()
                .context("user_agent regexes")?,
            clean: CleanMemo::new(MEMO_SLOTS),
        })
    }
}

impl Detection for UserAgent {
    fn kind(&self) -> DetectionKind {
        DetectionKind::UserAgent
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        let finding = |class: &'static str, rule: &'static str, fragment: String| Finding {
            location: Some(Location::UserAgent),
            name: "User-Agent".into(),
            fragment,
            ..Finding::new(DetectionKind::UserAgent, class, rule)
        };
        let ua = match req.inspection.user_agent().map(str::trim) {
            None | Some("") => {
                out.push(finding(MISSING, "user_agent:missing", String::new()));
                return;
            }
            Some(ua) => ua,
        };
        let key = self.clean.key(Location::UserAgent, ua);
        if key.is_some_and(|k| self.clean.contains(k, Location::UserAgent, ua)) {
            return;
        }
        if let Some(m) = self.names.find(ua) {
            out.push(finding(
                SCANNER,
                "user_agent:scanner",
                ua[m.start()..].chars().take(80).collect(),
            ));
        } else if self.regexes.as_ref().is_some_and(|r| r.is_match(ua)) {
            out.push(finding(
                SCANNER,
                "user_agent:regex",
                ua.chars().take(80).collect(),
            ));
        } else if let Some(key) = key {
            self.clean.insert(key, Location::UserAgent, ua);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners_are_found_on_every_request_clean_clients_never() {
        let mut d = UserAgent::new(&["sqlmap".into(), "nikto".into()], &["^evil/".into()]).unwrap();
        let browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0";
        let got = super::super::clean_memo::first_rules(
            &mut d,
            &[browser, "sqlmap/1.8", browser, "sqlmap/1.8", "evil/2", "evil/2", browser],
        );
        let scanner = Some("user_agent:scanner".to_string());
        let regex = Some("user_agent:regex".to_string());
        assert_eq!(
            got,
            [None, scanner.clone(), None, scanner, regex.clone(), regex, None]
        );
    }
}
