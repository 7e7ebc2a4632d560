//! Detection quality on the development corpus (`../shared/corpus/`, or
//! `$SEC_AGENT_CORPUS`), through the agent's own inspection path ([`Offline`], the call
//! behind `sec-agent inspect`), with the default config.
//!
//! Each attack payload travels in two real requests, a query string (`GET /search?q=`,
//! percent-encoded) and a JSON body (`{"q": ...}`); each benign value in one, where its
//! `context` says it travels (query string or urlencoded form). A request counts as
//! detected when any detection reports anything, as a 403 counts for a WAF. Request floods
//! are off: every request comes from one source at one instant, which is no flood.
//! Payloads stored in wire form (`undecodable`, overlong UTF-8) are sent as they are.

use std::{collections::BTreeMap, fmt::Write as _, net::IpAddr, path::PathBuf};

use anyhow::{Context as _, Result};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sec_agent::{config::Config, offline::Offline};
use serde::Deserialize;

#[derive(Deserialize)]
struct Attack {
    class: String,
    payload: String,
    source: String,
    #[serde(default)]
    undecodable: bool,
}

#[derive(Deserialize)]
struct Benign {
    payload: String,
    context: String,
    hard: bool,
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("SEC_AGENT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

fn read<T: for<'de> Deserialize<'de>>(file: &str) -> Result<Vec<T>> {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (set SEC_AGENT_CORPUS)", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), n + 1))
        })
        .collect()
}

const HEAD: &str = "Host: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\r\nAccept: */*";

/// `value` in a query string, percent-encoded unless it is already in wire form.
fn query_request(value: &str, wire: bool) -> Vec<u8> {
    let q = if wire {
        value.to_string()
    } else {
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
    };
    format!("GET /search?q={q} HTTP/1.1\r\n{HEAD}\r\n\r\n").into_bytes()
}

fn body_request(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /api/items HTTP/1.1\r\n{HEAD}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn json_request(value: &str) -> Vec<u8> {
    let body = serde_json::json!({ "q": value }).to_string();
    body_request("application/json", &body)
}

fn form_request(value: &str) -> Vec<u8> {
    let body = format!("q={}", utf8_percent_encode(value, NON_ALPHANUMERIC));
    body_request("application/x-www-form-urlencoded", &body)
}

#[derive(Default)]
struct Tally {
    requests: u64,
    detected: u64,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.requests += 1;
        self.detected += u64::from(hit);
    }

    fn pct(&self) -> f64 {
        100.0 * self.detected as f64 / self.requests.max(1) as f64
    }
}

/// The short name of a corpus source (`repository:path` to its repository's name).
fn source_name(source: &str) -> &str {
    let repo = source.split(':').next().unwrap_or(source);
    repo.rsplit('/').next().unwrap_or(repo)
}

pub fn quality(out: &mut String) -> Result<()> {
    if !corpus_dir().join("attacks.jsonl").exists() {
        // The corpus lives beside the repository, not in it: a checkout without it still
        // runs every other section.
        let _ = writeln!(
            out,
            "## Detection quality (development corpus, default config)\n\nNo corpus at {} (set SEC_AGENT_CORPUS): not measured.\n",
            corpus_dir().display()
        );
        return Ok(());
    }
    let attacks: Vec<Attack> = read("attacks.jsonl")?;
    let benign: Vec<Benign> = read("benign.jsonl")?;
    let config = Config::parse("[detections.request_flood]\nmode = \"off\"\n", "quality")?;
    let mut offline = Offline::new(&config, IpAddr::from([198, 51, 100, 7]))?;
    let mut detected = |raw: &[u8]| offline.inspect(raw).is_some_and(|v| !v.findings.is_empty());

    // `SEC_AGENT_QUALITY_MISSES=traversal` prints that class's missed payloads on stderr.
    let show_misses = std::env::var("SEC_AGENT_QUALITY_MISSES").unwrap_or_default();
    let mut by_class: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_source: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for a in &attacks {
        for raw in [
            query_request(&a.payload, a.undecodable),
            json_request(&a.payload),
        ] {
            let hit = detected(&raw);
            if !hit && show_misses == a.class {
                let how = String::from_utf8_lossy(&raw[..4]).trim().to_string();
                eprintln!("quality: missed {how} {}", serde_json::json!(a.payload));
            }
            by_class.entry(&a.class).or_default().add(hit);
            by_source
                .entry((&a.class, source_name(&a.source)))
                .or_default()
                .add(hit);
        }
    }
    let (mut hard, mut plain) = (Tally::default(), Tally::default());
    let mut examples = Vec::new();
    for b in &benign {
        let raw = if b.context == "form_value" {
            form_request(&b.payload)
        } else {
            query_request(&b.payload, false)
        };
        let hit = detected(&raw);
        if hit && examples.len() < 40 {
            examples.push(b.payload.clone());
        }
        if b.hard { &mut hard } else { &mut plain }.add(hit);
    }
    for e in &examples {
        eprintln!("quality: false positive: {e:?}");
    }

    let _ = writeln!(
        out,
        "## Detection quality (development corpus, default config)\n"
    );
    let _ = writeln!(
        out,
        "`../shared/corpus/`: each attack payload in two requests (query string, JSON body), each benign value in one (query string or form, as its context says), through the agent's own inspection path (`sec-agent inspect`'s library call). A request counts as detected when any detection reports anything.\n"
    );
    let _ = writeln!(out, "| class | requests | sec-agent |");
    let _ = writeln!(out, "|---|---|---|");
    for (class, t) in &by_class {
        let _ = writeln!(out, "| {class} | {} | {:.1}% |", t.requests, t.pct());
    }
    let _ = writeln!(
        out,
        "| false positives, hard benign | {} | {:.2}% |",
        hard.requests,
        hard.pct()
    );
    let _ = writeln!(
        out,
        "| false positives, plain benign | {} | {:.2}% |",
        plain.requests,
        plain.pct()
    );
    let _ = writeln!(out, "\nRecall per source:\n");
    let _ = writeln!(out, "| class | source | requests | sec-agent |");
    let _ = writeln!(out, "|---|---|---|---|");
    for ((class, source), t) in &by_source {
        let _ = writeln!(
            out,
            "| {class} | {source} | {} | {:.1}% |",
            t.requests,
            t.pct()
        );
    }
    let worst = by_class
        .values()
        .map(Tally::pct)
        .fold(f64::INFINITY, f64::min);
    let met = worst >= 97.0 && hard.pct() <= 0.1 && plain.pct() <= 0.02;
    let _ = writeln!(
        out,
        "\nTarget: recall at least 97% in every class, false positives at most 0.1% (hard) and 0.02% (plain): lowest recall {worst:.1}%, false positives {:.2}% / {:.2}%, **{}**.\n",
        hard.pct(),
        plain.pct(),
        if met { "met" } else { "not met" }
    );
    Ok(())
}
