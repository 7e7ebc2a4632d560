use super::*;

fn request(raw: &[u8]) -> Message {
    crate::inspect::parse::parse_request(raw, &crate::inspect::parse::Limits::default())
        .expect("a request")
}

fn fields(raw: &[u8]) -> Vec<(String, String, String)> {
    Inspection::of(&request(raw))
        .fields()
        .map(|f| {
            (
                f.location.name().to_string(),
                f.name.to_string(),
                f.value.to_string(),
            )
        })
        .collect()
}

fn has(fields: &[(String, String, String)], loc: &str, name: &str, value: &str) -> bool {
    fields
        .iter()
        .any(|(l, n, v)| l == loc && n == name && v == value)
}

#[test]
fn query_path_headers_and_cookies() {
    let f = fields(
        b"GET /shop/%2e%2e/admin?q=red+shoes&id=%2527%2520OR%25201%253D1&flag HTTP/1.1\r\n\
Host: example.com\r\nUser-Agent: curl/8.0\r\nReferer: https://example.com/?a=%3Cb%3E\r\n\
Cookie: session=abc%20def; theme=dark\r\nAuthorization: Bearer secret\r\n\r\n",
    );
    assert!(has(&f, "path", "", "/shop/../admin"), "{f:?}");
    assert!(has(&f, "qs_names", "", "q"));
    assert!(has(&f, "qs_values", "q", "red shoes"));
    assert!(
        has(&f, "qs_values", "id", "' OR 1=1"),
        "double encoding undone: {f:?}"
    );
    assert!(has(&f, "qs_names", "", "flag"));
    assert!(has(
        &f,
        "headers_values",
        "Referer",
        "https://example.com/?a=<b>"
    ));
    assert!(has(&f, "cookies", "session", "abc def"));
    assert!(has(&f, "user_agent", "User-Agent", "curl/8.0"));
    assert!(
        !f.iter().any(|(_, _, v)| v.contains("secret")),
        "credentials are not inspected"
    );
    let i = Inspection::of(&request(b"GET /a/./b/../c/?x=1 HTTP/1.1\r\n\r\n"));
    assert_eq!(i.path(), "/a/c/");
    assert_eq!(i.user_agent(), None);
}

#[test]
fn form_and_json_bodies() {
    let f = fields(
        b"POST /login HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 27\r\n\r\nuser=O%27Brien&pass=a+b%26c",
    );
    assert!(has(&f, "post_names", "", "user"));
    assert!(has(&f, "post_values", "user", "O'Brien"));
    assert!(has(&f, "post_values", "pass", "a b&c"));

    let body = br#"{"name":"x","tags":["a","<b>"],"nested":{"n":42,"ok":true}}"#;
    let mut raw = format!(
        "POST /api HTTP/1.1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    let f = fields(&raw);
    for key in ["name", "tags", "nested", "n", "ok"] {
        assert!(has(&f, "json_keys", "", key), "{key}: {f:?}");
    }
    assert!(has(&f, "json_values", "tags", "<b>"));
    assert!(has(&f, "json_values", "n", "42"));
}

#[test]
fn base64_html_entities_and_nul() {
    let f = fields(b"GET /?data=JyBPUiAxPTEgLS0gLQ%3D%3D&h=%26lt%3Bscript%26gt%3B&f=..%2Fetc%2Fpasswd%00.png HTTP/1.1\r\n\r\n");
    assert!(has(&f, "qs_values", "data", "' OR 1=1 -- -"), "{f:?}");
    assert!(has(&f, "qs_values", "h", "<script>"));
    assert!(has(&f, "qs_values", "f", "../etc/passwd.png"));
    let decoded = Inspection::of(&request(
        b"GET /?data=JyBPUiAxPTEgLS0gLQ%3D%3D HTTP/1.1\r\n\r\n",
    ));
    assert!(decoded.fields().any(|x| x.from_base64));
}

#[test]
fn absolute_form_targets_lose_scheme_and_host() {
    let i = Inspection::of(&request(
        b"GET http://evil.example/x/y?z=1 HTTP/1.1\r\n\r\n",
    ));
    assert_eq!(i.path(), "/x/y");
    assert_eq!(split_target("/p#frag?no"), ("/p", None));
    assert_eq!(split_target("/p?q=1#f?x"), ("/p", Some("q=1")));
    assert_eq!(split_target("/p?"), ("/p", Some("")));
    assert_eq!(split_target("/a://b?c"), ("/a://b", Some("c")));
    assert_eq!(split_target("*"), ("*", None));
}

#[test]
fn json_members_in_document_order_every_duplicate_inspected() {
    // An application may keep either of two equal keys: both values are fields.
    let body = br#"{"b":"1","a":["x",{"z":2,"y":null}],"b":"<x>","f":1.5}"#;
    let mut raw = format!(
        "POST /api HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    let got: Vec<String> = fields(&raw)
        .into_iter()
        .filter(|(l, _, _)| l.starts_with("json"))
        .map(|(l, n, v)| format!("{l} {n}={v}"))
        .collect();
    assert_eq!(
        got,
        [
            "json_keys =b",
            "json_values b=1",
            "json_keys =a",
            "json_values a=x",
            "json_keys =z",
            "json_values z=2",
            "json_keys =y",
            "json_keys =b",
            "json_values b=<x>",
            "json_keys =f",
            "json_values f=1.5",
        ]
    );
}

#[test]
fn invalid_json_is_text_without_the_fields_read_before_the_error() {
    let body = br#"{"a":"<script>","b":"#;
    let mut raw = format!(
        "POST /api HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    let got = fields(&raw);
    assert!(
        !got.iter().any(|(l, _, _)| l.starts_with("json")),
        "{got:?}"
    );
    assert!(
        has(&got, "post_values", "", r#"{"a":"<script>","b":"#),
        "{got:?}"
    );
}

#[test]
fn header_kinds_follow_the_skipped_list() {
    const SKIPPED_HEADERS: &[&str] = &[
        "host",
        "content-length",
        "connection",
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "pragma",
        "upgrade-insecure-requests",
        "authorization",
        "proxy-authorization",
        "if-none-match",
        "if-modified-since",
        "cookie",
        "user-agent",
    ];
    for h in SKIPPED_HEADERS {
        for name in [h.to_string(), h.to_ascii_uppercase()] {
            let want = match *h {
                "cookie" => HeaderKind::Cookie,
                "user-agent" => HeaderKind::UserAgent,
                "host" => HeaderKind::Host,
                _ => HeaderKind::Skipped,
            };
            assert_eq!(header_kind(&name), want, "{name}");
        }
    }
    for name in [
        "Referer",
        "X-Forwarded-For",
        "Content-Type",
        "Origin",
        "hosts",
        "cookies",
    ] {
        assert_eq!(header_kind(name), HeaderKind::Inspected, "{name}");
    }
}

#[test]
fn refill_matches_a_fresh_inspection() {
    fn view(i: &Inspection) -> (String, Option<String>, String, Option<String>, Vec<String>) {
        (
            i.method().to_string(),
            i.host().map(str::to_string),
            i.path().to_string(),
            i.user_agent().map(str::to_string),
            i.fields().map(|f| format!("{f:?}")).collect(),
        )
    }
    let mut reused = Inspection::default();
    for raw in crate::testing::mixed() {
        let msg = request(&raw);
        reused.refill(&msg);
        assert_eq!(view(&reused), view(&Inspection::of(&msg)));
    }
}

#[test]
fn cookie_names_are_fields_too() {
    let f = fields(b"GET / HTTP/1.1\r\nHost: h\r\nCookie: __proto__%5Bx%5D=1; theme=dark\r\n\r\n");
    assert!(has(&f, "cookie_names", "", "__proto__[x]"), "{f:?}");
    assert!(has(&f, "cookies", "__proto__[x]", "1"), "{f:?}");
    assert!(has(&f, "cookies", "theme", "dark"), "{f:?}");
}

#[test]
fn multipart_parts_give_names_file_names_and_text_values() {
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nhello ' or 1=1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"../../shell.php\"\r\n\
Content-Type: application/x-php\r\n\r\n<?php system($_GET['c']); ?>\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\
Content-Type: image/png\r\n\r\n\x7fPNG\0\0\r\n--XyZ--\r\n";
    let raw = format!(
        "POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let f = fields(raw.as_bytes());
    assert!(has(&f, "post_names", "", "comment"), "{f:?}");
    assert!(has(&f, "post_values", "comment", "hello ' or 1=1"), "{f:?}");
    assert!(has(&f, "post_values", "upload", "../../shell.php"), "{f:?}");
    assert!(
        !f.iter().any(|(_, _, v)| v.contains("PNG")),
        "binary parts are skipped: {f:?}"
    );
    // A declared non-text type is skipped too; its file name is not.
    assert!(!f.iter().any(|(_, _, v)| v.contains("system(")), "{f:?}");
}

#[test]
fn broken_multipart_is_inspected_as_text() {
    let body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n<script>alert(1)</script>";
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let f = fields(raw.as_bytes());
    assert!(
        f.iter()
            .any(|(l, _, v)| l == "post_values" && v.contains("<script>")),
        "{f:?}"
    );
}

#[test]
fn xml_bodies_give_text_attributes_and_the_doctype() {
    let body = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
<r><q probe=\"1=1\">1' OR 1=1 &amp; more</q><s><![CDATA[<svg onload=x>]]></s></r>";
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let f = fields(raw.as_bytes());
    assert!(has(&f, "post_values", "q", "1' OR 1=1 & more"), "{f:?}");
    assert!(has(&f, "post_values", "probe", "1=1"), "{f:?}");
    assert!(has(&f, "post_values", "s", "<svg onload=x>"), "{f:?}");
    assert!(
        f.iter()
            .any(|(_, _, v)| v.starts_with("<!DOCTYPE") && v.contains("<!ENTITY")),
        "{f:?}"
    );
}
