//! The corpus and the requests built from it: one [`Probe`] per request, holding the raw
//! bytes every engine that reads HTTP gets and the value the application would receive.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::Deserialize;

/// One line of `attacks.jsonl`.
#[derive(Deserialize)]
pub struct Attack {
    /// `sqli`, `xss`, `cmdi`, `traversal` or `ssrf`.
    pub class: String,
    /// The value as a parameter carries it (in wire form when `undecodable`).
    pub payload: String,
    /// `repository:path` of the list it came from.
    pub source: String,
    /// The payload is stored percent-encoded because its bytes are not UTF-8.
    #[serde(default)]
    pub undecodable: bool,
}

/// One line of `benign.jsonl` (or of a file in `sec-agent/tests/data/benign/`).
#[derive(Deserialize)]
pub struct Benign {
    /// The value.
    pub payload: String,
    /// Where it travels: `qs_value` or `form_value`.
    pub context: String,
    /// It holds characters detectors key on (quotes, `<`, `;`, `..`, ...).
    pub hard: bool,
}

/// The corpus directory: `$SEC_AGENT_CORPUS`, or `shared/corpus` beside the repository.
pub fn corpus_dir() -> PathBuf {
    std::env::var_os("SEC_AGENT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// The extra benign sets, `sec-agent/tests/data/benign/*.jsonl`, sorted by name (none when
/// the directory does not exist).
pub fn extra_benign_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sec-agent/tests/data/benign");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// Every line of a JSON-lines file, parsed.
pub fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (set SEC_AGENT_CORPUS)", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| format!("{}:{}", path.display(), n + 1))
        })
        .collect()
}

/// Where a request carries its value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// `GET /search?q=...`
    Query,
    /// `POST` with `{"q": ...}`.
    Json,
    /// `POST` with `q=...` (urlencoded form).
    Form,
}

impl Carrier {
    /// A short name for the misses printed on stderr.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::Query => "query",
            Carrier::Json => "json",
            Carrier::Form => "form",
        }
    }
}

/// What a request is, for the tallies.
#[derive(Clone, Copy)]
pub enum Label {
    /// `attacks[i]`.
    Attack(usize),
    /// A benign value of benign set `set` (0 is `benign.jsonl`).
    Benign { set: usize, hard: bool },
}

/// One request, as every engine sees it.
pub struct Probe {
    /// The HTTP/1.1 request, byte for byte (sec-agent and ModSecurity get these).
    pub raw: Vec<u8>,
    /// The parameter's value as the application receives it, decoded once (libinjection
    /// gets this).
    pub value: String,
    /// Where the value travels.
    pub carrier: Carrier,
    /// What it is.
    pub label: Label,
}

const HEAD: &str = "Host: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\r\nAccept: */*";

/// `value` in a query string, percent-encoded unless it is already in wire form. A wire
/// form keeps its escapes and characters as they are, except those no request line may
/// hold (spaces, controls, non-ASCII), which are percent-encoded as a client would: sent
/// raw they make the request line invalid, and a server refuses it before any WAF sees it.
fn query_request(value: &str, wire: bool) -> Vec<u8> {
    let q = if wire {
        value
            .bytes()
            .map(|b| {
                if b <= b' ' || b >= 0x7f {
                    format!("%{b:02X}")
                } else {
                    char::from(b).to_string()
                }
            })
            .collect()
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

/// Every request of the run: two per attack (query string, JSON body), then one per benign
/// value of each set in order (query string or form, as its `context` says).
pub fn probes(attacks: &[Attack], benign_sets: &[Vec<Benign>]) -> Vec<Probe> {
    let mut out =
        Vec::with_capacity(attacks.len() * 2 + benign_sets.iter().map(Vec::len).sum::<usize>());
    for (i, a) in attacks.iter().enumerate() {
        // Decoded once, as the application's query parser would: wire-form payloads are
        // percent-decoded here, bytes that are not UTF-8 replaced.
        let decoded = if a.undecodable {
            percent_decode_str(&a.payload)
                .decode_utf8_lossy()
                .into_owned()
        } else {
            a.payload.clone()
        };
        out.push(Probe {
            raw: query_request(&a.payload, a.undecodable),
            value: decoded,
            carrier: Carrier::Query,
            label: Label::Attack(i),
        });
        out.push(Probe {
            raw: json_request(&a.payload),
            value: a.payload.clone(),
            carrier: Carrier::Json,
            label: Label::Attack(i),
        });
    }
    for (set, values) in benign_sets.iter().enumerate() {
        for b in values {
            let (raw, carrier) = if b.context == "form_value" {
                (form_request(&b.payload), Carrier::Form)
            } else {
                (query_request(&b.payload, false), Carrier::Query)
            };
            out.push(Probe {
                raw,
                value: b.payload.clone(),
                carrier,
                label: Label::Benign { set, hard: b.hard },
            });
        }
    }
    out
}
