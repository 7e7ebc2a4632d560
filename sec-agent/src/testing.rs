//! Test and benchmark material, not part of the agent: built for this crate's tests and,
//! with the `testing` feature, for the benchmarks (`sec-agent-bench`, the divan benches,
//! the callgrind driver), which share one corpus so that their figures compare.
//!
//! [`mixed`]: benign GETs with cookies and referers, JSON POSTs, and one attack in ten.

/// 100 raw requests: 70 benign GETs, 20 JSON POSTs, 10 attacks (9 payloads, 1 scanner).
pub fn mixed() -> Vec<Vec<u8>> {
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

/// Parses one complete raw request with the default limits.
///
/// # Panics
/// When `raw` is not one (the corpus always is).
pub fn parse(raw: &[u8]) -> crate::inspect::parse::Message {
    crate::inspect::parse::parse_request(raw, &crate::inspect::parse::Limits::default())
        .expect("corpus request parses")
}

/// Runs one detection alone on each of `inspections` (the per-detection benchmark rows);
/// returns the number of findings.
pub fn detect_each(
    detection: &mut dyn crate::inspect::detect::Detection,
    inspections: &[crate::inspect::normalize::Inspection],
    source: std::net::IpAddr,
) -> usize {
    let mut findings = Vec::new();
    let mut total = 0;
    for inspection in inspections {
        let info = crate::inspect::detect::RequestInfo {
            source,
            now: std::time::Instant::now(),
            inspection,
        };
        detection.on_request(&info, &mut findings);
        total += findings.len();
        findings.clear();
    }
    total
}
