//! Normalize: turns a parsed request into the decoded fields the detections inspect, each
//! with its location (names as in pyrasp: `path`, `qs_names`, `qs_values`,
//! `headers_values`, `cookies`, `user_agent`, `post_names`, `post_values`, `json_keys`,
//! `json_values`).
//!
//! Every value is percent-decoded until stable (bounded), with `+` as space in query
//! strings and form bodies, HTML character references decoded, NUL bytes removed; a value
//! that looks like base64 and decodes to text is added a second time, decoded. Case is left
//! alone: each detection folds what it needs.

pub mod decode;

use std::fmt;

use crate::parse::{Head, Message};
use decode::{base64_text, html_entities, normalize_path, percent_decode, text};

/// Where in the request a value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// The decoded path (before `.`/`..` resolution, so traversal stays visible).
    Path,
    /// A query parameter name.
    QsNames,
    /// A query parameter value.
    QsValues,
    /// A header value (other than Cookie and User-Agent).
    HeadersValues,
    /// A cookie value.
    Cookies,
    /// The User-Agent header.
    UserAgent,
    /// A form (urlencoded) field name.
    PostNames,
    /// A form (urlencoded) field value, or a text body of another type.
    PostValues,
    /// A key in a JSON body.
    JsonKeys,
    /// A string or number in a JSON body.
    JsonValues,
}

impl Location {
    /// The stable name used in events and config.
    pub fn name(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::QsNames => "qs_names",
            Location::QsValues => "qs_values",
            Location::HeadersValues => "headers_values",
            Location::Cookies => "cookies",
            Location::UserAgent => "user_agent",
            Location::PostNames => "post_names",
            Location::PostValues => "post_values",
            Location::JsonKeys => "json_keys",
            Location::JsonValues => "json_values",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One decoded value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Where it was.
    pub location: Location,
    /// Parameter, header or cookie name (empty for the path and names themselves).
    pub name: String,
    /// The decoded value.
    pub value: String,
    /// Whether the value is the base64-decoded form of another field.
    pub from_base64: bool,
}

/// What the detections look at for one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// Method as sent.
    pub method: String,
    /// Host header, if any.
    pub host: Option<String>,
    /// Canonical path for list matching (decoded, `.`/`..` resolved, lowercased is up to
    /// the user).
    pub path: String,
    /// User-Agent header: `None` when absent, `Some("")` when empty.
    pub user_agent: Option<String>,
    /// Every decoded value, in request order.
    pub fields: Vec<Field>,
}

/// Most fields taken from one request; the rest are not inspected (a request with more is
/// itself an anomaly the flood and size limits deal with).
const MAX_FIELDS: usize = 512;

/// Headers whose values are structural or secret and not inspected as `headers_values`.
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

impl Inspection {
    /// Decodes a request into its fields.
    pub fn of(request: &Message) -> Inspection {
        let Head::Request { method, target } = &request.head else {
            return Inspection::default();
        };
        let mut b = Builder::default();
        let (raw_path, query) = split_target(target);
        let path = text(&percent_decode(raw_path.as_bytes(), false));
        b.push(Location::Path, "", &path);
        if let Some(q) = query {
            b.pairs(q.as_bytes(), Location::QsNames, Location::QsValues);
        }
        let mut user_agent = None;
        let mut host = None;
        for (name, value) in &request.headers {
            let lower = name.to_ascii_lowercase();
            match lower.as_str() {
                "cookie" => b.cookies(value),
                "user-agent" => {
                    let ua = text(value);
                    b.push(Location::UserAgent, name, &ua);
                    user_agent = Some(ua);
                }
                "host" => host = Some(text(value)),
                _ if SKIPPED_HEADERS.contains(&lower.as_str()) => {}
                _ => b.push_decoded(Location::HeadersValues, name, value, false),
            }
        }
        b.body(request);
        Inspection {
            method: method.clone(),
            host,
            path: normalize_path(&path),
            user_agent,
            fields: b.fields,
        }
    }
}

#[derive(Default)]
struct Builder {
    fields: Vec<Field>,
}

impl Builder {
    fn push(&mut self, location: Location, name: &str, value: &str) {
        if self.fields.len() >= MAX_FIELDS || value.is_empty() {
            return;
        }
        let value = html_entities(value);
        let b64 = base64_text(&value);
        self.fields.push(Field {
            location,
            name: name.to_string(),
            value,
            from_base64: false,
        });
        if let Some(decoded) = b64
            && self.fields.len() < MAX_FIELDS
        {
            self.fields.push(Field {
                location,
                name: name.to_string(),
                value: html_entities(&text(&percent_decode(decoded.as_bytes(), false))),
                from_base64: true,
            });
        }
    }

    fn push_decoded(&mut self, location: Location, name: &str, raw: &[u8], plus_is_space: bool) {
        let value = text(&percent_decode(raw, plus_is_space));
        self.push(location, name, &value);
    }

    /// `a=1&b=2` pairs (query strings and urlencoded bodies).
    fn pairs(&mut self, raw: &[u8], names: Location, values: Location) {
        for pair in raw
            .split(|&b| b == b'&' || b == b';')
            .filter(|p| !p.is_empty())
        {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let name = text(&percent_decode(k, true));
            self.push(names, "", &name);
            self.push_decoded(values, &name, v, true);
        }
    }

    fn cookies(&mut self, raw: &[u8]) {
        for part in raw.split(|&b| b == b';') {
            let part = part.trim_ascii();
            let (k, v) = match part.iter().position(|&b| b == b'=') {
                Some(eq) => (&part[..eq], &part[eq + 1..]),
                None => (&b""[..], part),
            };
            self.push_decoded(Location::Cookies, &text(k), v, false);
        }
    }

    fn body(&mut self, request: &Message) {
        if request.body.is_empty() {
            return;
        }
        let content_type = request
            .header("content-type")
            .map(|v| text(v).to_ascii_lowercase())
            .unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media == "application/x-www-form-urlencoded" {
            self.pairs(&request.body, Location::PostNames, Location::PostValues);
        } else if media == "application/json" || media.ends_with("+json") {
            match serde_json::from_slice::<serde_json::Value>(&request.body) {
                Ok(json) => self.json(&json, ""),
                // Truncated or invalid JSON: inspect it as text rather than not at all.
                Err(_) => self.push_decoded(Location::PostValues, "", &request.body, false),
            }
        } else if media.starts_with("text/") || media.is_empty() || media == "application/xml" {
            self.push_decoded(Location::PostValues, "", &request.body, false);
        }
        // Other types (multipart uploads, binary) are not inspected.
    }

    fn json(&mut self, value: &serde_json::Value, key: &str) {
        use serde_json::Value;
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.push(Location::JsonKeys, "", k);
                    self.json(v, k);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.json(v, key)),
            Value::String(s) => {
                let decoded = text(&percent_decode(s.as_bytes(), false));
                self.push(Location::JsonValues, key, &decoded);
            }
            Value::Number(n) => self.push(Location::JsonValues, key, &n.to_string()),
            Value::Bool(_) | Value::Null => {}
        }
    }
}

/// Splits a request target into path and query; an absolute-form target
/// (`http://host/path?q`) loses its scheme and authority.
fn split_target(target: &str) -> (&str, Option<&str>) {
    let target = match target.find("://") {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |p| &after[p..])
        }
        _ => target,
    };
    let target = target.split('#').next().unwrap_or(target);
    match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    }
}

#[cfg(test)]
mod tests;
