//! Decoy paths: requests for paths that no legitimate client of this host asks for (version
//! control directories, environment files, admin panels of software the host does not run).
//! Patterns are matched case-insensitively on the canonical path: `/x` exactly, `/x/` or
//! `/x*` as a prefix, `*/x` anywhere.

use std::time::Duration;

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::{BuildContext, Detection, DetectionKind, Finding, Mode, Policy, RequestInfo, Section};
use crate::inspect::normalize::Location;

/// `[detections.decoy_path]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "crate::de::duration")]
    pub ttl: Duration,
    /// Decoy paths: `/x` exact, `/x/` or `/x*` prefix, `*/x` anywhere.
    pub paths: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            paths: DEFAULT_DECOYS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl Section for Config {
    const CLASSES: &'static [&'static str] = &["decoy"];

    fn policy(&self, _class: &str) -> Policy {
        Policy::new(self.mode, self.ttl)
    }

    fn build(&self, _context: &BuildContext) -> Result<Box<dyn Detection>> {
        Ok(Box::new(DecoyPath::new(&self.paths)?))
    }
}

/// Built-in decoys. Remove `/wp-*` from the config on a WordPress host.
pub const DEFAULT_DECOYS: &[&str] = &[
    "/.env*",
    "*/.git/",
    "/.git*",
    "/.svn/",
    "/.hg/",
    "/.ds_store",
    "/.aws/",
    "/.ssh/",
    "/.htpasswd",
    "/wp-login.php",
    "/wp-admin/",
    "/xmlrpc.php",
    "/phpmyadmin/",
    "/pma/",
    "/myadmin/",
    "/server-status",
    "/actuator/env",
    "/actuator/heapdump",
    "/config.php.bak",
    "/backup.sql",
    "/dump.sql",
    "/database.sql",
    "/vendor/phpunit/",
    "/cgi-bin/",
    "/hnap1",
    "/boaform/",
    "/shell.php",
    "/.vscode/",
    "/.idea/",
    "/web.config",
    "/owa/",
    "/solr/admin/",
    "/console/",
    "/manager/html",
];

/// How a pattern string must sit in the path for a hit.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// `/x`: the whole path.
    Exact,
    /// `/x*` or `/x/`: a prefix of the path.
    Prefix,
    /// `*/x`: anywhere.
    Anywhere,
    /// A `/x/` prefix without its final slash: the whole path once trailing slashes are
    /// trimmed (`/.git` asks for the same thing as `/.git/`).
    PrefixDir,
    /// A `*/x/` pattern without its final slash: the end of the path once trailing slashes
    /// are trimmed.
    AnywhereDir,
}

/// The decoy-path detection.
pub struct DecoyPath {
    /// Every pattern string (lowercase), and the directory forms of those ending in `/`,
    /// matched ASCII-case-insensitively in one overlapping pass.
    automaton: AhoCorasick,
    /// The rule of each automaton pattern, by pattern id.
    rules: Vec<Rule>,
}

impl DecoyPath {
    /// Matches `paths` (see the module documentation for the syntax).
    ///
    /// # Errors
    /// The patterns are too many or too long for the automaton.
    pub fn new(paths: &[String]) -> Result<Self> {
        let mut strings = Vec::new();
        let mut rules = Vec::new();
        for p in paths {
            let p = p.to_ascii_lowercase();
            let (s, rule) = if let Some(rest) = p.strip_prefix('*') {
                (rest.to_string(), Rule::Anywhere)
            } else if let Some(prefix) = p.strip_suffix('*') {
                (prefix.to_string(), Rule::Prefix)
            } else if p.ends_with('/') {
                (p, Rule::Prefix)
            } else {
                (p, Rule::Exact)
            };
            let dir = match rule {
                Rule::Prefix => Some(Rule::PrefixDir),
                Rule::Anywhere => Some(Rule::AnywhereDir),
                _ => None,
            };
            if let (Some(dir), Some(trimmed)) = (dir, s.strip_suffix('/')) {
                strings.push(trimmed.to_string());
                rules.push(dir);
            }
            strings.push(s);
            rules.push(rule);
        }
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&strings)
            .context("building the decoy path matcher")?;
        Ok(DecoyPath { automaton, rules })
    }

    /// The pattern `path` hits, if any.
    pub fn matches(&self, path: &str) -> bool {
        // Trailing slashes trimmed: the directory form compares against the rest.
        let trimmed = path.trim_end_matches('/').len();
        self.automaton.find_overlapping_iter(path).any(|m| {
            let (start, end) = (m.start(), m.end());
            match self.rules[m.pattern().as_usize()] {
                Rule::Exact => start == 0 && end == path.len(),
                Rule::Prefix => start == 0,
                Rule::Anywhere => true,
                Rule::PrefixDir => start == 0 && end == trimmed,
                Rule::AnywhereDir => end == trimmed,
            }
        })
    }
}

impl Detection for DecoyPath {
    fn kind(&self) -> DetectionKind {
        DetectionKind::DecoyPath
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        if self.matches(req.inspection.path()) {
            out.push(Finding {
                location: Some(Location::Path),
                fragment: req.inspection.path().chars().take(80).collect(),
                ..Finding::new(DetectionKind::DecoyPath, "decoy", "decoy_path")
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoys_match_exact_prefix_and_anywhere() {
        let d = DecoyPath::new(
            &DEFAULT_DECOYS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        for hit in [
            "/.env",
            "/.env.backup",
            "/.git/config",
            "/.git",
            "/app/.git/HEAD",
            "/WP-LOGIN.PHP",
            "/wp-admin/install.php",
            "/phpmyadmin/index.php",
        ] {
            assert!(d.matches(hit), "{hit}");
        }
        for miss in [
            "/",
            "/environment",
            "/api/.envelope",
            "/blog/wp-login-help",
            "/gitlab/",
            "/static/app.js",
        ] {
            assert!(!d.matches(miss), "{miss}");
        }
    }

    /// The matcher before the automaton: two strings and one search per pattern.
    fn matches_naive(paths: &[String], path: &str) -> bool {
        let path = path.to_ascii_lowercase();
        let dir = format!("{}/", path.trim_end_matches('/'));
        paths.iter().any(|p| {
            let p = p.to_ascii_lowercase();
            if let Some(s) = p.strip_prefix('*') {
                path.contains(s) || dir.ends_with(s)
            } else if let Some(pre) = p.strip_suffix('*') {
                path.starts_with(pre) || dir == pre
            } else if p.ends_with('/') {
                path.starts_with(&p) || dir == p
            } else {
                path == p
            }
        })
    }

    #[test]
    fn automaton_agrees_with_the_naive_matcher() {
        let mut pattern_sets: Vec<Vec<String>> =
            vec![DEFAULT_DECOYS.iter().map(|s| s.to_string()).collect()];
        pattern_sets.push(
            [
                "*", "/", "*/", "/a*", "*/b/", "/c/", "/D", "", "/", "/é/", "*x/y",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        );
        let mut paths: Vec<String> = [
            "",
            "/",
            "//",
            "/a",
            "/A/",
            "/.git",
            "/.git//",
            "/x/.GIT",
            "/x/.git/",
            "/b",
            "/q/b",
            "/q/b//",
            "/qb/",
            "/c",
            "/c/d",
            "/d",
            "/D/",
            "/é",
            "/É/",
            "/é//",
            "/x/y",
            "/x/y/",
            "/zx/y/z",
            "/.env",
            "/.ENVX",
            "/wp-admin",
            "/WP-ADMIN//x",
            "/cgi-bin",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for raw in crate::testing::mixed() {
            if let Some(msg) = crate::inspect::parse::parse_request(&raw, &Default::default()) {
                paths.push(
                    crate::inspect::normalize::Inspection::of(&msg)
                        .path()
                        .to_string(),
                );
            }
        }
        for patterns in &pattern_sets {
            let d = DecoyPath::new(patterns).unwrap();
            for p in &paths {
                assert_eq!(
                    d.matches(p),
                    matches_naive(patterns, p),
                    "{p:?} {patterns:?}"
                );
            }
        }
    }
}
