//! Detection quality on hand-written corpora, through the same library call as
//! `sec-agent inspect`: realistic benign requests written for this project (names with
//! apostrophes, prose with SQL words, JSON APIs, long cookies, base64 tokens, search
//! queries) must produce no finding; each attack request must produce the finding its
//! `expect:` line names (`detection/class`).

use std::{net::IpAddr, path::Path};

use sec_agent::{
    config::Config,
    offline::{Offline, Sample, read_samples},
};

fn load(file: &str) -> Vec<Sample> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    read_samples(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
}

fn offline() -> Offline {
    Offline::new(&Config::default(), IpAddr::from([192, 0, 2, 1])).expect("default config")
}

#[test]
fn benign_corpus_has_no_false_positives() {
    let cases = load("benign_requests.http");
    assert!(cases.len() >= 25, "corpus too small: {}", cases.len());
    let mut offline = offline();
    let mut false_positives = Vec::new();
    for case in &cases {
        let verdict = offline
            .inspect(&case.raw)
            .unwrap_or_else(|| panic!("not parsed: {}", case.origin));
        for j in verdict.findings {
            let f = j.finding;
            false_positives.push(format!(
                "{}: {} {} in {:?} {:?}",
                case.origin, f.rule, f.class, f.location, f.fragment
            ));
        }
    }
    println!(
        "benign corpus: {} requests, {} false positives",
        cases.len(),
        false_positives.len()
    );
    assert!(
        false_positives.is_empty(),
        "false positives:\n{}",
        false_positives.join("\n")
    );
}

#[test]
fn attack_corpus_is_detected() {
    let cases = load("attack_requests.http");
    assert!(cases.len() >= 25, "corpus too small: {}", cases.len());
    let mut offline = offline();
    let mut missed = Vec::new();
    for case in &cases {
        let want = case
            .expect
            .as_deref()
            .expect("every attack names what it expects");
        let verdict = offline
            .inspect(&case.raw)
            .unwrap_or_else(|| panic!("not parsed: {}", case.origin));
        if !verdict.has(want) {
            let got: Vec<String> = verdict
                .findings
                .iter()
                .map(|j| {
                    format!(
                        "{}/{} -> {}",
                        j.finding.detection.name(),
                        j.finding.class,
                        j.outcome.name()
                    )
                })
                .collect();
            missed.push(format!("{}: want {want}, got {got:?}", case.origin));
        }
    }
    println!(
        "attack corpus: {}/{} detected",
        cases.len() - missed.len(),
        cases.len()
    );
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}
