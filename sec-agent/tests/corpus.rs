//! Detection quality on hand-written corpora: realistic benign requests written for this
//! project (names with apostrophes, prose with SQL words, JSON APIs, long cookies, base64
//! tokens, search queries) must produce no finding; each attack request must produce the
//! finding its `expect:` line names (`detection/class`).

use std::{net::IpAddr, time::Instant};

use sec_agent::{
    config::DetectionsConfig,
    detect::{self, Finding, RequestInfo},
    normalize::Inspection,
    parse::{Limits, parse_request},
};

struct Case {
    name: String,
    raw: Vec<u8>,
    expect: Option<String>,
}

fn load(file: &str) -> Vec<Case> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut cases = Vec::new();
    for block in text.split("### ").filter(|b| !b.trim().is_empty()) {
        let (name, rest) = block.split_once('\n').expect("name line");
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
        let raw = format!("{}\r\n\r\n{body}", lines.join("\r\n")).into_bytes();
        cases.push(Case {
            name: name.trim().to_string(),
            raw,
            expect,
        });
    }
    cases
}

fn findings(raw: &[u8]) -> Vec<Finding> {
    let request = parse_request(raw, &Limits::default())
        .unwrap_or_else(|| panic!("not parsed: {}", String::from_utf8_lossy(raw)));
    let inspection = Inspection::of(&request);
    let info = RequestInfo {
        source: IpAddr::from([192, 0, 2, 1]),
        now: Instant::now(),
        inspection: &inspection,
    };
    let mut out = Vec::new();
    for d in detect::registry(&DetectionsConfig::default())
        .unwrap()
        .iter_mut()
    {
        d.on_request(&info, &mut out);
    }
    out
}

#[test]
fn benign_corpus_has_no_false_positives() {
    let cases = load("benign_requests.http");
    assert!(cases.len() >= 25, "corpus too small: {}", cases.len());
    let mut false_positives = Vec::new();
    for case in &cases {
        for f in findings(&case.raw) {
            false_positives.push(format!(
                "{}: {} {} in {:?} {:?}",
                case.name, f.rule, f.class, f.location, f.fragment
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
    let mut missed = Vec::new();
    for case in &cases {
        let want = case
            .expect
            .as_deref()
            .expect("every attack names what it expects");
        let got: Vec<String> = findings(&case.raw)
            .iter()
            .map(|f| format!("{}/{}", f.detection.name(), f.class))
            .collect();
        if !got.iter().any(|g| g == want) {
            missed.push(format!("{}: want {want}, got {got:?}", case.name));
        }
    }
    println!(
        "attack corpus: {}/{} detected",
        cases.len() - missed.len(),
        cases.len()
    );
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}
