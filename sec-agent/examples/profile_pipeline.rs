//! Callgrind driver: `profile_pipeline <full|parse|normalize|payload|sqli> <passes>` runs the
//! stage over the mixed corpus `passes` times. Instructions per request = (run of 12 − run of 2) / (10 × corpus).

use std::{hint::black_box, net::IpAddr};

use sec_agent::{
    inspect::detect::{DetectionsConfig, Inspector, payload::sqli},
    inspect::normalize::Inspection,
    inspect::parse::{Limits, parse_request},
    testing::{self as corpus, parse},
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "full".into());
    let passes: usize = args.next().and_then(|p| p.parse().ok()).unwrap_or(2);
    let raw = corpus::mixed();
    let source = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    let config = DetectionsConfig::default();
    let mut detections = config.build().unwrap();
    let mut inspector = Inspector::new(&config).unwrap();
    let msgs: Vec<_> = raw.iter().map(|r| parse(r)).collect();
    let inspections: Vec<_> = msgs.iter().map(Inspection::of).collect();
    let mut total = 0usize;
    for _ in 0..passes {
        match mode.as_str() {
            "full" => {
                for r in &raw {
                    let now = std::time::Instant::now();
                    total += inspector
                        .request(&parse(black_box(r)), source, now)
                        .findings
                        .len();
                }
            }
            "parse" => {
                for r in &raw {
                    total += usize::from(parse_request(black_box(r), &Limits::default()).is_some());
                }
            }
            "normalize" => {
                for m in &msgs {
                    total += Inspection::of(black_box(m)).fields().len();
                }
            }
            "payload" => {
                let d = detections
                    .iter_mut()
                    .find(|d| d.kind().name() == "payload")
                    .unwrap();
                total += corpus::detect_each(d.as_mut(), black_box(&inspections), source);
            }
            "sqli" => {
                let mut s = sqli::Scratch::default();
                for inspection in &inspections {
                    for f in inspection.fields() {
                        total +=
                            usize::from(sqli::check_with(black_box(f.value), &mut s).is_some());
                    }
                }
            }
            other => {
                eprintln!("unknown mode {other:?} (full, parse, normalize, payload, sqli)");
                std::process::exit(2);
            }
        }
    }
    println!("{} requests x {passes}, {total} findings", raw.len());
}
