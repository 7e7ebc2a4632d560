//! CRLF and header injection (CWE-113, HTTP response splitting): a value with a line break
//! followed by a header a response or a proxied request would act on (`\r\nSet-Cookie:`,
//! `\nLocation:`), or by an empty line and a body or status line (`\r\n\r\n<html>`,
//! `\r\nHTTP/1.1 200`), as the application may copy the value into a header.
//!
//! Text areas hold line breaks, and lines like `Name: John`; only header names that change
//! what a client or proxy does make a finding. The Unicode characters U+560A and U+560D
//! (`嘊`, `嘍`) count as line breaks: servers that cut code points to 8 bits turn them into
//! LF and CR (the "CRLF injection via UTF-8" family of bug reports).

use super::Match;

/// Header names whose injection changes what a client, cache or proxy does (RFC 9110,
/// RFC 6265, the Fetch standard's CORS headers, and de-facto proxy headers).
const HEADERS: &[&str] = &[
    "set-cookie",
    "set-cookie2",
    "cookie",
    "location",
    "refresh",
    "content-type",
    "content-length",
    "content-disposition",
    "content-security-policy",
    "content-encoding",
    "transfer-encoding",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "x-xss-protection",
    "x-frame-options",
    "x-content-type-options",
    "strict-transport-security",
    "cache-control",
    "link",
    "host",
    "via",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-server",
    "x-real-ip",
    "x-original-url",
    "x-rewrite-url",
    "connection",
    "upgrade",
    "authorization",
    "www-authenticate",
];

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let brk = line_break(b, i);
        if brk == 0 {
            i += 1;
            continue;
        }
        let start = i;
        // The whole run of breaks: `\r\n`, `\n`, `\r\n\r\n`, `%0d%0a%0d%0a` decoded.
        let mut j = i;
        let mut breaks = 0;
        loop {
            let n = line_break(b, j);
            if n == 0 {
                break;
            }
            j += n;
            breaks += 1;
        }
        // An indented line continues the one before it (obs-fold, RFC 9112 5.2) or is
        // code (`\n    location: String::from(...)`): a header starts at the margin.
        let line = &b[j..];
        if header_line(line) {
            return Some(Match::new("crlf:header", value, start, j + 24));
        }
        if line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"http/1.1")
            || breaks >= 2 && line.first() == Some(&b'<') && !b[..start].contains(&b'<')
        {
            return Some(Match::new("crlf:response_splitting", value, start, j + 24));
        }
        i = j;
    }
    None
}

/// Length of the line break at `i` (`\r`, `\n`, or the three bytes of U+560A or U+560D),
/// or 0.
fn line_break(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'\r' | b'\n') => 1,
        Some(0xe5) if b.get(i + 1) == Some(&0x98) && matches!(b.get(i + 2), Some(0x8a | 0x8d)) => 3,
        _ => 0,
    }
}

/// Whether `line` starts with one of [`HEADERS`] and a `:`.
fn header_line(line: &[u8]) -> bool {
    let name = line
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
        .count();
    if name < 3 || line.get(name..).and_then(|r| r.trim_ascii_start().first()) != Some(&b':') {
        return false;
    }
    HEADERS
        .iter()
        .any(|h| line[..name].eq_ignore_ascii_case(h.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_headers_match() {
        for a in [
            "\r\nSet-Cookie: session=evil",
            "x\r\nLocation: http://evil.example",
            "/\nset-cookie:crlf=injection",
            "en\r\n\r\n<html><script>alert(1)</script></html>",
            "\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html",
            "嘊嘍Set-Cookie:crlf=injection",
            "\rRefresh: 0; url=http://evil.example",
            "foo\r\nX-Forwarded-For: 127.0.0.1",
        ] {
            assert!(check(a).is_some(), "{a:?}");
        }
    }

    #[test]
    fn text_areas_do_not() {
        for b in [
            "Hello,\r\nthanks for the order.\r\nRegards, Ann",
            "Name: John\nPhone: 555-1234\nNote: call after 5",
            "Subject: refund\r\n\r\nI was charged twice.",
            "<p>one</p>\r\n\r\n<p>two</p>",
            "line one\n\nline two",
            "嘊 is a character",
            "let article = Article {\n        location: String::from(\"Pittsburgh\"),\n    };",
        ] {
            assert_eq!(check(b), None, "{b:?}");
        }
    }
}
