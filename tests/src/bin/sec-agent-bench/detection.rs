//! User-space detection throughput on a generated mixed corpus, one thread.

use std::{fmt::Write as _, net::IpAddr, time::Instant};

use anyhow::Result;
use sec_agent::{
    config::DetectionsConfig,
    detect::{self, RequestInfo},
    normalize::Inspection,
    parse::{Limits, Message, parse_request},
};

use crate::stats;

const RUNS: usize = 5;

/// The mixed corpus: realistic benign requests with one attack in ten.
pub fn corpus() -> Vec<Vec<u8>> {
    let benign = [
        "GET /products?category=shoes&page=2&sort=price HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0\r\nAccept: text/html\r\nCookie: session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlMTIz; theme=dark\r\nReferer: https://shop.example.com/\r\n\r\n",
        "GET /search?q=select+the+best+union+jobs HTTP/1.1\r\nHost: jobs.example.com\r\nUser-Agent: Mozilla/5.0 (Macintosh) Safari/605.1.15\r\n\r\n",
        "GET /users?name=O%27Brien HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: python-requests/2.31.0\r\nAccept: application/json\r\n\r\n",
        "GET /static/app.3f2a1c.js HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 Chrome/124.0.0.0\r\nAccept-Encoding: gzip, br\r\n\r\n",
    ];
    let json = r#"{"author":"D'Angelo","text":"Never run DROP TABLE on prod; don't. Or select a backup first.","tags":["sql","ops"],"rating":5}"#;
    let post = format!(
        "POST /api/comments HTTP/1.1\r\nHost: forum.example.com\r\nUser-Agent: okhttp/4.12.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    let attacks = [
        "GET /item?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
        "GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
        "GET /download?file=..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: files.example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: sqlmap/1.8\r\n\r\n",
    ];
    let mut out = Vec::new();
    for i in 0..100 {
        if i % 10 == 9 {
            out.push(attacks[(i / 10) % attacks.len()].as_bytes().to_vec());
        } else if i % 5 == 0 {
            out.push(post.as_bytes().to_vec());
        } else {
            out.push(benign[i % benign.len()].as_bytes().to_vec());
        }
    }
    out
}

pub fn parse(raw: &[u8]) -> Message {
    parse_request(raw, &Limits::default()).expect("corpus request parses")
}

pub fn detection_throughput(out: &mut String) -> Result<()> {
    let corpus = corpus();
    let config = DetectionsConfig::default();
    let mut detections = detect::registry(&config)?;
    let rounds = 200; // 20,000 requests per run
    let source = IpAddr::from([192, 0, 2, 1]);
    let mut full = Vec::new();
    let mut parse_only = Vec::new();
    let mut normalize_only = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut findings = Vec::new();
        for _ in 0..rounds {
            for raw in &corpus {
                let msg = parse(raw);
                let inspection = Inspection::of(&msg);
                let info = RequestInfo {
                    source,
                    now: Instant::now(),
                    inspection: &inspection,
                };
                for d in detections.iter_mut() {
                    d.on_request(&info, &mut findings);
                }
                findings.clear();
            }
        }
        full.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..rounds {
            for raw in &corpus {
                std::hint::black_box(parse(raw));
            }
        }
        parse_only.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
        let parsed: Vec<Message> = corpus.iter().map(|r| parse(r)).collect();
        let t = Instant::now();
        for _ in 0..rounds {
            for msg in &parsed {
                std::hint::black_box(Inspection::of(msg));
            }
        }
        normalize_only.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
    }
    let inspections: Vec<Inspection> = corpus.iter().map(|r| Inspection::of(&parse(r))).collect();
    let mut per_detection = Vec::new();
    for d in detections.iter_mut() {
        let mut rates = Vec::new();
        let mut findings = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            for _ in 0..rounds {
                for inspection in &inspections {
                    let info = RequestInfo {
                        source,
                        now: Instant::now(),
                        inspection,
                    };
                    d.on_request(&info, &mut findings);
                    findings.clear();
                }
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
