//! Decoy paths: requests for paths that no legitimate client of this host asks for (version
//! control directories, environment files, admin panels of software the host does not run).
//! Patterns are matched case-insensitively on the canonical path: `/x` exactly, `/x/` or
//! `/x*` as a prefix, `*/x` anywhere.

use super::{Detection, DetectionKind, Finding, RequestInfo};
use crate::normalize::Location;

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

enum Pattern {
    Exact(String),
    Prefix(String),
    Anywhere(String),
}

/// The decoy-path detection.
pub struct DecoyPath {
    patterns: Vec<Pattern>,
}

impl DecoyPath {
    /// Matches `paths` (see the module documentation for the syntax).
    pub fn new(paths: &[String]) -> Self {
        let patterns = paths
            .iter()
            .map(|p| {
                let p = p.to_ascii_lowercase();
                if let Some(rest) = p.strip_prefix('*') {
                    Pattern::Anywhere(rest.to_string())
                } else if let Some(prefix) = p.strip_suffix('*') {
                    Pattern::Prefix(prefix.to_string())
                } else if p.ends_with('/') {
                    Pattern::Prefix(p)
                } else {
                    Pattern::Exact(p)
                }
            })
            .collect();
        DecoyPath { patterns }
    }

    /// The pattern `path` hits, if any.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.to_ascii_lowercase();
        // `/.git` asks for the same thing as `/.git/`.
        let dir = format!("{}/", path.trim_end_matches('/'));
        self.patterns.iter().any(|p| match p {
            Pattern::Exact(e) => &path == e,
            Pattern::Prefix(pre) => path.starts_with(pre.as_str()) || dir == *pre,
            Pattern::Anywhere(s) => path.contains(s.as_str()) || dir.ends_with(s.as_str()),
        })
    }
}

impl Detection for DecoyPath {
    fn kind(&self) -> DetectionKind {
        DetectionKind::DecoyPath
    }

    fn on_request(&mut self, req: &RequestInfo<'_>, out: &mut Vec<Finding>) {
        if self.matches(&req.inspection.path) {
            out.push(Finding {
                detection: DetectionKind::DecoyPath,
                class: "decoy".into(),
                rule: "decoy_path".into(),
                location: Some(Location::Path),
                name: String::new(),
                fragment: req.inspection.path.chars().take(80).collect(),
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
        );
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
}
