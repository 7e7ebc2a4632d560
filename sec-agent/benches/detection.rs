//! Micro-benchmarks of the user-space detection path on the mixed corpus shared with
//! `sec-agent-bench` ([`sec_agent::testing::mixed`]): parse, normalize, each payload
//! class on its own, each detection, and the full pipeline. Every iteration handles the
//! whole corpus (100 requests), so the reported throughput is requests per second.
//!
//! `cargo bench -p sec-agent --features testing --bench detection [filter]`

use std::{net::IpAddr, sync::LazyLock, time::Instant};

use divan::{Bencher, black_box, counter::ItemsCount};
use sec_agent::{
    inspect::detect::{
        Detection, DetectionsConfig, Inspector, RequestInfo,
        payload::{cmdi, sqli, ssrf, traversal, xss},
    },
    inspect::normalize::{Inspection, Location},
    inspect::parse::Message,
    testing::{self as corpus, parse},
};

fn main() {
    divan::main();
}

static RAW: LazyLock<Vec<Vec<u8>>> = LazyLock::new(corpus::mixed);
static PARSED: LazyLock<Vec<Message>> = LazyLock::new(|| RAW.iter().map(|r| parse(r)).collect());
static INSPECTED: LazyLock<Vec<Inspection>> =
    LazyLock::new(|| PARSED.iter().map(Inspection::of).collect());

const SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

fn requests() -> ItemsCount {
    ItemsCount::new(RAW.len())
}

fn registry() -> Vec<Box<dyn Detection>> {
    DetectionsConfig::default()
        .build()
        .expect("default detections build")
}

/// HTTP parsing only.
#[divan::bench]
fn parse_only(b: Bencher) {
    b.counter(requests()).bench(|| {
        for raw in RAW.iter() {
            black_box(parse(black_box(raw)));
        }
    });
}

/// `Inspection::of` on parsed requests.
#[divan::bench]
fn normalize(b: Bencher) {
    b.counter(requests()).bench(|| {
        for msg in PARSED.iter() {
            black_box(Inspection::of(black_box(msg)));
        }
    });
}

/// Each detection on its own, on normalized requests.
#[divan::bench(args = ["payload", "user_agent", "enumeration", "request_flood", "decoy_path"])]
fn detection(b: Bencher, name: &str) {
    let mut detections = registry();
    let d = detections
        .iter_mut()
        .find(|d| d.kind().name() == name)
        .expect("enabled by default");
    let mut findings = Vec::new();
    b.counter(requests()).bench_local(|| {
        for inspection in INSPECTED.iter() {
            let info = RequestInfo {
                source: SOURCE,
                now: Instant::now(),
                inspection,
            };
            d.on_request(&info, &mut findings);
            findings.clear();
        }
    });
}

/// Each payload class checker on every field of every request, without the prefilter
/// (what a class costs on a value it is run on).
#[divan::bench(args = ["sqli", "xss", "cmdi", "traversal", "ssrf"])]
fn payload_class_unfiltered(b: Bencher, class: &str) {
    let check: fn(&str, Location) -> bool = match class {
        "sqli" => |v, _| sqli::check(v).is_some(),
        "xss" => |v, _| xss::check(v).is_some(),
        "cmdi" => |v, _| cmdi::check(v).is_some(),
        "traversal" => |v, l| traversal::check(v, l == Location::Path).is_some(),
        _ => |v, _| ssrf::check(v).is_some(),
    };
    b.counter(requests()).bench(|| {
        let mut hits = 0;
        for inspection in INSPECTED.iter() {
            for f in inspection.fields() {
                hits += usize::from(check(black_box(f.value), f.location));
            }
        }
        hits
    });
}

/// Parse, normalize and every detection: what the pipeline pays per request.
#[divan::bench]
fn full_pipeline(b: Bencher) {
    let mut inspector =
        Inspector::new(&DetectionsConfig::default()).expect("default detections build");
    b.counter(requests()).bench_local(|| {
        for raw in RAW.iter() {
            black_box(inspector.request(&parse(black_box(raw)), SOURCE, Instant::now()));
        }
    });
}
