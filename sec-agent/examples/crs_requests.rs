//! Runs the CRS regression requests (`crs-requests.jsonl` of the development corpus:
//! whole requests, base64, labelled `attack` or `benign`) through the agent's offline
//! inspection with the default config, and prints recall and false positives per class.
//! A map of where attacks travel (headers, cookies, multipart, XML), not a PL1 target.
//!
//! `cargo run --release -p sec-agent --example crs_requests -- [CORPUS_DIR] [CLASS]`:
//! with a class, its misses (and benign hits) are printed as JSON lines on stderr.

use std::{collections::BTreeMap, net::IpAddr};

use base64::Engine as _;
use sec_agent::{config::Config, offline::Offline};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "../shared/corpus".into());
    let show = args.next().unwrap_or_default();
    let text = std::fs::read_to_string(format!("{dir}/crs-requests.jsonl"))?;
    let config = Config::parse("[detections.request_flood]\nmode = \"off\"\n", "crs")?;
    let mut offline = Offline::new(&config, IpAddr::from([198, 51, 100, 7]))?;
    let mut tally: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let (class, expect) = (
            row["class"].as_str().unwrap_or(""),
            row["expect"].as_str().unwrap_or(""),
        );
        let raw = base64::engine::general_purpose::STANDARD
            .decode(row["raw_b64"].as_str().unwrap_or(""))?;
        let verdict = offline.inspect(&raw);
        let hit = verdict.as_ref().is_some_and(|v| !v.findings.is_empty());
        let t = tally
            .entry((class.to_string(), expect.to_string()))
            .or_default();
        t.0 += 1;
        t.1 += u32::from(hit);
        if class == show && hit != (expect == "attack") {
            let rules: Vec<String> = verdict
                .iter()
                .flat_map(|v| v.findings.iter().map(|f| f.finding.rule.to_string()))
                .collect();
            eprintln!(
                "{}",
                serde_json::json!({"id": row["id"], "expect": expect, "rules": rules,
                    "raw": String::from_utf8_lossy(&raw[..raw.len().min(600)])})
            );
        }
    }
    for ((class, expect), (n, hit)) in &tally {
        println!(
            "{class:10} {expect:7} {hit:5}/{n:5} {:5.1}%",
            100.0 * f64::from(*hit) / f64::from(*n)
        );
    }
    Ok(())
}
