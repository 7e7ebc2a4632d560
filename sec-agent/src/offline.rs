//! Offline inspection: raw HTTP/1.x requests from files, run through the same
//! [`Inspector`] and [`Decider`] as the running agent, with a [`MemoryEnforcer`] in place
//! of the kernel. Behind `sec-agent inspect` (the way fail2ban-regex tests a filter against
//! a log, and go-ftw runs CRS tests), the corpus tests and the quality benchmark.
//!
//! Input is a file of one raw request, a file in the annotated `.http` format, a
//! directory of such files, or standard input. The annotated format (that of
//! `sec-agent/tests/data/`): blocks that start with `### name`, then the request line and
//! headers one per line, optional `expect: detection/class` lines, a blank line and the
//! body; line ends become CRLF and `Content-Length` is added for a body.

use std::{
    io::Read as _,
    net::IpAddr,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context as _, Result};

use crate::{
    config::Config,
    inspect::{
        decide::{Decider, MemoryEnforcer, Outcome},
        detect::{Finding, Inspector},
        parse::{Head, Limits, parse_request},
    },
};

/// One request to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Where it came from: `file`, or `file#n name` for a block of an annotated file.
    pub origin: String,
    /// The raw request.
    pub raw: Vec<u8>,
    /// What an annotated block says it must produce (`detection/class`), if anything.
    pub expect: Option<String>,
}

/// Reads the samples of `path` (`-` for standard input): a directory's request files (`.http`, `.txt`, `.req` or no extension) in name
/// order, recursively; each file annotated when its first line starts with `### `.
///
/// # Errors
/// A file or directory that cannot be read.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    if path == Path::new("-") {
        let mut raw = Vec::new();
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("reading standard input")?;
        return Ok(samples_of("-", &raw));
    }
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("reading {}", path.display()))?;
        files.sort();
        let mut out = Vec::new();
        // Request files only: a directory of samples may hold data sets and scripts too
        // (`tests/data/benign/*.jsonl`), which are no requests.
        files.retain(|f| {
            f.is_dir()
                || f.extension()
                    .is_none_or(|e| e == "http" || e == "txt" || e == "req")
        });
        for f in files {
            out.extend(read_samples(&f)?);
        }
        return Ok(out);
    }
    let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(samples_of(&path.display().to_string(), &raw))
}

fn samples_of(origin: &str, raw: &[u8]) -> Vec<Sample> {
    match std::str::from_utf8(raw) {
        Ok(text) if text.starts_with("### ") => parse_annotated(origin, text),
        _ => vec![Sample {
            origin: origin.to_string(),
            raw: raw.to_vec(),
            expect: None,
        }],
    }
}

/// The blocks of an annotated `.http` text (see the module documentation).
pub fn parse_annotated(origin: &str, text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for (n, block) in text
        .split("### ")
        .filter(|b| !b.trim().is_empty())
        .enumerate()
    {
        let (name, rest) = block.split_once('\n').unwrap_or((block, ""));
        let (head, body) = rest.split_once("\n\n").unwrap_or((rest, ""));
        let mut expect = None;
        let mut lines = Vec::new();
        for line in head.lines() {
            match line.strip_prefix("expect: ") {
                Some(e) => expect = Some(e.trim().to_string()),
                None => lines.push(line.to_string()),
            }
        }
        let body = body.trim_end_matches('\n');
        if !body.is_empty() {
            lines.push(format!("Content-Length: {}", body.len()));
        }
        out.push(Sample {
            origin: format!("{origin}#{} {}", n + 1, name.trim()),
            raw: format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes(),
            expect,
        });
    }
    out
}

/// A finding and what the agent would do about it.
#[derive(Clone, Debug)]
pub struct Judged {
    /// What was found.
    pub finding: Finding,
    /// What the agent would do.
    pub outcome: Outcome,
}

/// The result for one request.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Method and target as sent.
    pub request_line: String,
    /// Findings in registry order, with their outcomes.
    pub findings: Vec<Judged>,
}

impl Verdict {
    /// The strongest outcome: `ban`, `ban_failed`, `allowlisted`, `already_banned`,
    /// `monitor`, or `pass` without a finding.
    pub fn decision(&self) -> &'static str {
        const ORDER: [&str; 5] = [
            "ban",
            "ban_failed",
            "allowlisted",
            "already_banned",
            "monitor",
        ];
        ORDER
            .into_iter()
            .find(|o| self.findings.iter().any(|j| j.outcome.name() == *o))
            .unwrap_or("pass")
    }

    /// Whether a finding is `detection/class`.
    pub fn has(&self, detection_class: &str) -> bool {
        self.findings.iter().any(|j| {
            detection_class
                .split_once('/')
                .is_some_and(|(d, c)| j.finding.detection.name() == d && j.finding.class == c)
        })
    }
}

/// Inspects requests as the agent configured by a [`Config`] would.
pub struct Offline {
    inspector: Inspector,
    decider: Decider,
    enforcer: MemoryEnforcer,
    limits: Limits,
    source: IpAddr,
}

impl Offline {
    /// Requests are taken to come from `source`. Each is decided as if it were the
    /// source's first offence (its ban history is forgotten after each request); the
    /// per-source detections (request floods) count across requests, all at one instant.
    ///
    /// # Errors
    /// Detection setup failed (unreadable pattern file, invalid regex).
    pub fn new(config: &Config, source: IpAddr) -> Result<Offline> {
        Ok(Offline {
            inspector: Inspector::new(&config.detections)?,
            decider: Decider::new(config.detections.clone(), config.decide.clone()),
            enforcer: MemoryEnforcer {
                allowlist: config.allowlist.cidrs.iter().map(|c| c.0).collect(),
                ..MemoryEnforcer::default()
            },
            limits: config.http,
            source,
        })
    }

    /// Parses, inspects and decides one raw request; `None` when it is not one complete
    /// HTTP/1.x request.
    pub fn inspect(&mut self, raw: &[u8]) -> Option<Verdict> {
        let message = parse_request(raw, &self.limits)?;
        let Head::Request(line) = &message.head else {
            return None;
        };
        let request_line = format!("{} {}", line.method(), line.target());
        let now = Instant::now();
        let inspected = self.inspector.request(&message, self.source, now);
        let findings = inspected
            .findings
            .iter()
            .map(|f| Judged {
                finding: f.clone(),
                outcome: self.decider.decide(self.source, f, now, &mut self.enforcer),
            })
            .collect();
        self.decider.forget(self.source);
        Some(Verdict {
            request_line,
            findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotated_blocks_become_crlf_requests_with_a_length() {
        let text = "### one\nGET /a HTTP/1.1\nHost: h\nexpect: payload/sqli\n\n### two\nPOST /b HTTP/1.1\nHost: h\n\nx=1\n";
        let s = parse_annotated("f.http", text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].origin, "f.http#1 one");
        assert_eq!(s[0].expect.as_deref(), Some("payload/sqli"));
        assert_eq!(s[0].raw, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(
            s[1].raw,
            b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nx=1"
        );
    }

    #[test]
    fn decisions_follow_the_config() {
        let source: IpAddr = "192.0.2.1".parse().unwrap();
        let sqli =
            b"GET /item?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\n\r\n";
        let mut o = Offline::new(&Config::default(), source).unwrap();
        for _ in 0..2 {
            // Each request is judged as a first offence.
            let v = o.inspect(sqli).unwrap();
            assert!(v.has("payload/sqli"), "{v:?}");
            assert_eq!(v.decision(), "ban");
            assert_eq!(
                v.findings[0].outcome.ttl(),
                Some(std::time::Duration::from_secs(3600))
            );
        }
        let benign = b"GET /products?page=2 HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0\r\n\r\n";
        assert_eq!(o.inspect(benign).unwrap().decision(), "pass");
        assert!(o.inspect(b"not http at all\r\n\r\n").is_none());

        let config = Config::parse("[allowlist]\ncidrs = [\"192.0.2.0/24\"]\n", "t").unwrap();
        let mut allowed = Offline::new(&config, source).unwrap();
        assert_eq!(allowed.inspect(sqli).unwrap().decision(), "allowlisted");
        let config = Config::parse("[detections.payload]\nmode = \"monitor\"\n", "t").unwrap();
        let mut monitored = Offline::new(&config, source).unwrap();
        assert_eq!(monitored.inspect(sqli).unwrap().decision(), "monitor");
    }
}
