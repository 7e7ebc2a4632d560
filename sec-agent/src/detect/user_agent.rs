//! User-Agent: attack tools and scanners that announce themselves (their default
//! User-Agent strings contain their names), the operator's extra names and regexes, and the
//! missing or empty User-Agent policy (every browser and mainstream HTTP library sends one).

use aho_corasick::AhoCorasick;
use anyhow::{Context as _, Result};
use regex::RegexSet;

use super::{Detection, DetectionKind, Finding, RequestInfo};
use crate::normalize::Location;

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
}

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
        })
    }
}

impl Detection for UserAgent {
    fn kind(&self) -> DetectionKind {
        DetectionKind::UserAgent
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        let finding = |class: &str, rule: String, fragment: String| Finding {
            detection: DetectionKind::UserAgent,
            class: class.into(),
            rule,
            location: Some(Location::UserAgent),
            name: "User-Agent".into(),
            fragment,
        };
        let ua = match req.inspection.user_agent().map(str::trim) {
            None | Some("") => {
                out.push(finding(
                    "missing_user_agent",
                    "user_agent:missing".into(),
                    String::new(),
                ));
                return;
            }
            Some(ua) => ua,
        };
        if let Some(m) = self.names.find(ua) {
            out.push(finding(
                "scanner",
                "user_agent:scanner".into(),
                ua[m.start()..].chars().take(80).collect(),
            ));
        } else if self.regexes.as_ref().is_some_and(|r| r.is_match(ua)) {
            out.push(finding(
                "scanner",
                "user_agent:regex".into(),
                ua.chars().take(80).collect(),
            ));
        }
    }
}
