//! User-space detection throughput on a generated mixed corpus, one thread.

use std::{fmt::Write as _, net::IpAddr, time::Instant};

use anyhow::Result;
use sec_agent::{
    inspect::detect::{DetectionsConfig, Inspector},
    inspect::normalize::Inspection,
    inspect::parse::Message,
    testing::{self as corpus, parse},
};

use crate::stats;

const RUNS: usize = 5;

pub fn detection_throughput(out: &mut String) -> Result<()> {
    let requests = corpus::mixed();
    let config = DetectionsConfig::default();
    let mut detections = config.build()?;
    let rounds = 200; // 20,000 requests per run
    let source = IpAddr::from([192, 0, 2, 1]);
    let mut full = Vec::new();
    let mut parse_only = Vec::new();
    let mut normalize_only = Vec::new();
    for _ in 0..RUNS {
        // Built outside the timed loop: building the matchers is setup, not inspection.
        let mut inspector = Inspector::new(&config)?;
        let t = Instant::now();
        for _ in 0..rounds {
            for raw in &requests {
                std::hint::black_box(inspector.request(&parse(raw), source, t).findings.len());
            }
        }
        full.push((rounds * requests.len()) as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..rounds {
            for raw in &requests {
                std::hint::black_box(parse(raw));
            }
        }
        parse_only.push((rounds * requests.len()) as f64 / t.elapsed().as_secs_f64());
        let parsed: Vec<Message> = requests.iter().map(|r| parse(r)).collect();
        // Buffers reused from request to request, as in the pipeline and the full row.
        let mut inspection = Inspection::default();
        let t = Instant::now();
        for _ in 0..rounds {
            for msg in &parsed {
                inspection.refill(msg);
                std::hint::black_box(&inspection);
            }
        }
        normalize_only.push((rounds * requests.len()) as f64 / t.elapsed().as_secs_f64());
    }
    let inspections: Vec<Inspection> = requests.iter().map(|r| Inspection::of(&parse(r))).collect();
    let mut per_detection = Vec::new();
    for d in detections.iter_mut() {
        let mut rates = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            for _ in 0..rounds {
                std::hint::black_box(corpus::detect_each(d.as_mut(), &inspections, source));
            }
            rates.push((rounds * inspections.len()) as f64 / t.elapsed().as_secs_f64());
        }
        per_detection.push((d.kind().name(), stats(rates)));
    }
    let _ = writeln!(
        out,
        "## Detection throughput (one thread, mixed corpus: 100 requests, 10 attacks, 20 JSON POSTs)\n"
    );
    let _ = writeln!(
        out,
        "requests per second, min / median / max over {RUNS} runs of 20,000 requests.\n"
    );
    let _ = writeln!(out, "| stage | requests/s |");
    let _ = writeln!(out, "|---|---|");
    for (name, v) in [
        (
            "full pipeline (parse + normalize + all detections)",
            full.clone(),
        ),
        ("HTTP parse only", parse_only),
        ("normalize only", normalize_only),
    ] {
        let (a, b, c) = stats(v);
        let _ = writeln!(out, "| {name} | {a:.0} / {b:.0} / {c:.0} |");
    }
    for (name, (a, b, c)) in per_detection {
        let _ = writeln!(
            out,
            "| detection `{name}` alone | {a:.0} / {b:.0} / {c:.0} |"
        );
    }
    let median = stats(full).1;
    let met = if median >= 1_000_000.0 {
        "met"
    } else {
        "not met"
    };
    let _ = writeln!(
        out,
        "\nTarget: at least 1,000,000 requests/s on one core: median {median:.0}/s, **{met}**.\n"
    );
    Ok(())
}
