//! Normalize: turns a parsed request into the decoded fields the detections inspect, each
//! with its location (names as in pyrasp: `path`, `qs_names`, `qs_values`,
//! `headers_values`, `cookies`, `user_agent`, `post_names`, `post_values`, `json_keys`,
//! `json_values`).
//!
//! Every value is percent-decoded until stable (bounded), with `+` as space in query
//! strings and form bodies, HTML character references decoded, NUL bytes removed; a value
//! that looks like base64 and decodes to text is added a second time, decoded. Case is left
//! alone: each detection folds what it needs.

mod body;
pub mod decode;
mod json;
mod raw;

use std::{borrow::Cow, fmt};

use crate::inspect::parse::{Head, Message};
use decode::{
    base64_text_with, decode_checked, decode_text, html_entities, normalize_path_into, plain, text,
};
pub use raw::raw_value;

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
    /// A cookie name.
    CookieNames,
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
            Location::CookieNames => "cookie_names",
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

/// One decoded value, borrowed from its [`Inspection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// Where it was.
    pub location: Location,
    /// Parameter, header or cookie name (empty for the path and names themselves).
    pub name: &'a str,
    /// The decoded value.
    pub value: &'a str,
    /// Whether the value is the base64-decoded form of another field.
    pub from_base64: bool,
    /// Whether the raw value used an encoding no client produces (overlong UTF-8, `%%32`,
    /// `%u002e`, ...; see [`decode::evasive`]): evidence of evasion in itself.
    pub evasive: bool,
}

/// Byte range of a string in [`Inspection::text`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// A field, its strings kept as spans of the inspection's one text buffer: a request
/// costs two allocations however many fields it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    location: Location,
    name: Span,
    value: Span,
    from_base64: bool,
    evasive: bool,
}

/// What the detections look at for one request.
///
/// Every string (the request's method, host, path and user agent, and the fields) lives in
/// one text buffer: a request costs two allocations, none when [`Inspection::refill`]
/// reuses them.
#[derive(Clone, Default)]
pub struct Inspection {
    /// See [`Inspection::method`].
    method: Span,
    /// See [`Inspection::host`].
    host: Option<Span>,
    /// See [`Inspection::path`].
    path: Span,
    /// See [`Inspection::user_agent`].
    user_agent: Option<Span>,
    /// The names and values of every field and the strings above, one after the other.
    text: String,
    /// Every field, in request order.
    slots: Vec<Slot>,
}

/// Most fields taken from one request; the rest are not inspected (a request with more is
/// itself an anomaly the flood and size limits deal with).
const MAX_FIELDS: usize = 512;

/// What [`Inspection::of`] does with a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderKind {
    Cookie,
    UserAgent,
    Host,
    /// Structural or secret (`Accept`, `Authorization`, ...): not inspected.
    Skipped,
    /// A `headers_values` field.
    Inspected,
}

/// The [`HeaderKind`] of a header `name`: lowercased once on the stack, then compared
/// whole (a case-insensitive comparison with each name of the list costs more than the
/// rest of a header's normalization).
fn header_kind(name: &str) -> HeaderKind {
    const LONGEST: usize = "upgrade-insecure-requests".len();
    let mut lower = [0u8; LONGEST];
    let Some(lower) = lower.get_mut(..name.len()) else {
        return HeaderKind::Inspected;
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    match &*lower {
        b"cookie" => HeaderKind::Cookie,
        b"user-agent" => HeaderKind::UserAgent,
        b"host" => HeaderKind::Host,
        b"content-length"
        | b"connection"
        | b"accept"
        | b"accept-encoding"
        | b"accept-language"
        | b"cache-control"
        | b"pragma"
        | b"upgrade-insecure-requests"
        | b"authorization"
        | b"proxy-authorization"
        | b"if-none-match"
        | b"if-modified-since" => HeaderKind::Skipped,
        _ => HeaderKind::Inspected,
    }
}

impl Inspection {
    /// Decodes a request into its fields.
    pub fn of(request: &Message) -> Inspection {
        let mut inspection = Inspection::default();
        inspection.refill(request);
        inspection
    }

    /// Replaces this inspection with that of `request`, as [`Inspection::of`] does, reusing
    /// its buffers: a caller that inspects request after request allocates only when a
    /// request is larger than every one before it.
    pub fn refill(&mut self, request: &Message) {
        let (mut text_buf, mut slots) = (
            std::mem::take(&mut self.text),
            std::mem::take(&mut self.slots),
        );
        text_buf.clear();
        slots.clear();
        let Head::Request(line) = &request.head else {
            *self = Inspection {
                text: text_buf,
                slots,
                ..Inspection::default()
            };
            return;
        };
        let (method, target) = (line.method(), line.target());
        // Decoding only shrinks a value; base64 copies are rare enough to grow for. The
        // target counts twice (the decoded path and the canonical one); the User-Agent as
        // sent is its field's text.
        let size = method.len()
            + 2 * target.len()
            + 1
            + request.body.len()
            + request
                .headers()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        text_buf.reserve(size);
        slots.reserve(16);
        let mut b = Builder {
            text: text_buf,
            slots,
        };
        let method = b.intern(method);
        let (raw_path, query) = split_target(target);
        let path = b.push_decoded(Location::Path, "", raw_path.as_bytes(), false);
        let start = b.text.len();
        normalize_path_into(&path, &mut b.text);
        let path = Span {
            start,
            end: b.text.len(),
        };
        if let Some(q) = query {
            b.pairs(q.as_bytes(), Location::QsNames, Location::QsValues);
        }
        let mut user_agent = None;
        let mut host = None;
        for (name, value) in request.headers() {
            match header_kind(name) {
                HeaderKind::Cookie => b.cookies(value),
                HeaderKind::UserAgent => {
                    let ua = text(value);
                    let field = b.push(Location::UserAgent, name, &ua);
                    // The header as sent is its field's text unless entities were decoded.
                    user_agent = Some(match field {
                        Some(s) if b.text[s.start..s.end] == *ua => s,
                        _ => b.intern(&ua),
                    });
                }
                HeaderKind::Host => host = Some(b.intern(&text(value))),
                HeaderKind::Skipped => {}
                HeaderKind::Inspected => {
                    b.push_decoded(Location::HeadersValues, name, value, false);
                }
            }
        }
        b.body(request);
        *self = Inspection {
            method,
            host,
            path,
            user_agent,
            text: b.text,
            slots: b.slots,
        };
    }

    fn str(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }

    /// Method as sent (empty when not a request).
    pub fn method(&self) -> &str {
        self.str(self.method)
    }

    /// Host header, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|s| self.str(s))
    }

    /// Canonical path for list matching (decoded, `.`/`..` resolved, lowercased is up to
    /// the user).
    pub fn path(&self) -> &str {
        self.str(self.path)
    }

    /// User-Agent header: `None` when absent, `Some("")` when empty.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.map(|s| self.str(s))
    }

    /// Every decoded value, in request order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = Field<'_>> + Clone + '_ {
        self.slots.iter().map(|s| Field {
            location: s.location,
            name: &self.text[s.name.start..s.name.end],
            value: &self.text[s.value.start..s.value.end],
            from_base64: s.from_base64,
            evasive: s.evasive,
        })
    }
}

impl PartialEq for Inspection {
    fn eq(&self, other: &Self) -> bool {
        self.method() == other.method()
            && self.host() == other.host()
            && self.path() == other.path()
            && self.user_agent() == other.user_agent()
            && self.fields().eq(other.fields())
    }
}

impl Eq for Inspection {}

impl fmt::Debug for Inspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a Inspection);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.0.fields()).finish()
            }
        }
        f.debug_struct("Inspection")
            .field("method", &self.method())
            .field("host", &self.host())
            .field("path", &self.path())
            .field("user_agent", &self.user_agent())
            .field("fields", &Fields(self))
            .finish()
    }
}

struct Builder {
    text: String,
    slots: Vec<Slot>,
}

impl Builder {
    fn intern(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span {
            start,
            end: self.text.len(),
        }
    }

    /// Adds a percent-decoded value, decoding its HTML character references; returns the
    /// span of the field's value, if added.
    fn push(&mut self, location: Location, name: &str, value: &str) -> Option<Span> {
        self.push_text(location, name, &html_entities(value))
    }

    /// Adds a value decoded of everything, and its base64-decoded copy if it has one;
    /// returns the span of the field's value, if added.
    fn push_text(&mut self, location: Location, name: &str, value: &str) -> Option<Span> {
        if self.slots.len() >= MAX_FIELDS || value.is_empty() {
            return None;
        }
        let name = self.intern(name);
        let value = self.intern(value);
        self.slots.push(Slot {
            location,
            name,
            value,
            from_base64: false,
            evasive: false,
        });
        if self.slots.len() < MAX_FIELDS {
            self.push_base64(location, name, value);
        }
        Some(value)
    }

    /// The base64-decoded copy of the field valued `value`, when it is text.
    fn push_base64(&mut self, location: Location, name: Span, value: Span) {
        // Only text that decodes is copied out: most candidates (tokens, media types) are
        // not text, and cost no allocation.
        let decoded = base64_text_with(&self.text[value.start..value.end], |decoded| {
            html_entities(&decode_text(decoded.as_bytes(), false)).into_owned()
        });
        if let Some(decoded) = decoded {
            let value = self.intern(&decoded);
            self.slots.push(Slot {
                location,
                name,
                value,
                from_base64: true,
                evasive: false,
            });
        }
    }

    /// Adds a raw value, decoded; returns it percent-decoded (see [`decode_text`]).
    fn push_decoded<'r>(
        &mut self,
        location: Location,
        name: &str,
        raw: &'r [u8],
        plus_is_space: bool,
    ) -> Cow<'r, str> {
        // Most values are plain: no decoder would change them, nor need to look.
        match plain(raw, plus_is_space) {
            Some(value) => {
                self.push_text(location, name, value);
                Cow::Borrowed(value)
            }
            None => {
                let (value, evasive) = decode_checked(raw, plus_is_space);
                let first = self.slots.len();
                self.push(location, name, &value);
                if evasive {
                    for slot in &mut self.slots[first..] {
                        slot.evasive = true;
                    }
                }
                value
            }
        }
    }

    /// `a=1&b=2` pairs (query strings and urlencoded bodies).
    fn pairs(&mut self, raw: &[u8], names: Location, values: Location) {
        for (k, v) in split_pairs(raw) {
            let name = self.push_decoded(names, "", k, true);
            self.push_decoded(values, &name, v, true);
        }
    }

    fn cookies(&mut self, raw: &[u8]) {
        for (k, v) in split_cookies(raw) {
            let name = self.push_decoded(Location::CookieNames, "", k, false);
            self.push_decoded(Location::Cookies, &name, v, false);
        }
    }
}

/// `s` in Unicode compatibility form (NFKC, Unicode Standard Annex #15), with the slash
/// and backslash lookalikes NFKC keeps (U+2215 DIVISION SLASH, U+2044 FRACTION SLASH,
/// U+29F8 BIG SOLIDUS; U+2216 SET MINUS, U+29F9 BIG REVERSE SOLIDUS) as `/` and `\\`
/// (they are in Unicode's confusables list, TR39). Borrowed when nothing changes.
///
/// Fullwidth and other lookalike forms of ASCII (`．．／`, `ｅｔｃ`, `‥`) are what a filter
/// that compares ASCII misses and a server that normalizes Unicode reads as `../etc`; the
/// payload checkers look at this form of a non-ASCII value too.
pub fn compatible(s: &str) -> Cow<'_, str> {
    use unicode_normalization::UnicodeNormalization as _;
    let lookalike = |c: char| match c {
        // U+EFC8 and U+F025 are private-use code points that IIS's `%u` decoding turned
        // into `/` (the dotdotpwn "Unicode" traversal set).
        '\u{2215}' | '\u{2044}' | '\u{29F8}' | '\u{EFC8}' | '\u{F025}' => '/',
        '\u{2216}' | '\u{29F9}' => '\\',
        c => c,
    };
    if unicode_normalization::is_nfkc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes
        && !s.chars().any(|c| lookalike(c) != c)
    {
        return Cow::Borrowed(s);
    }
    let folded: String = s.nfkc().map(lookalike).collect();
    if folded == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(folded)
    }
}

/// The `name=value` pairs of a query string or urlencoded body (`&` or `;` between
/// them; a pair without `=` is a name with an empty value), raw.
fn split_pairs(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    raw.split(|&b| b == b'&' || b == b';')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &b""[..]),
        })
}

/// The `name=value` parts of a Cookie header, trimmed (a part without `=` is a value
/// without a name), raw.
fn split_cookies(raw: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    raw.split(|&b| b == b';').map(|part| {
        let part = part.trim_ascii();
        match part.iter().position(|&b| b == b'=') {
            Some(eq) => (&part[..eq], &part[eq + 1..]),
            None => (&b""[..], part),
        }
    })
}

/// Splits a request target into path and query; an absolute-form target
/// (`http://host/path?q`) loses its scheme and authority. Inlined into [`Inspection::refill`],
/// its hot caller (the raw-value lookup for events also calls it).
#[inline]
fn split_target(target: &str) -> (&str, Option<&str>) {
    // An origin-form target (`/path`) cannot have a scheme: skip the search.
    let target = match (!target.starts_with('/'))
        .then(|| target.find("://"))
        .flatten()
    {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |p| &after[p..])
        }
        _ => target,
    };
    // The fragment goes, the query is after the first `?` before it. Byte loops: a target
    // is short, and a `str` search costs its set-up on every call.
    fn before_fragment(s: &str) -> &str {
        s.bytes().position(|b| b == b'#').map_or(s, |i| &s[..i])
    }
    match target.bytes().position(|b| b == b'?' || b == b'#') {
        Some(i) if target.as_bytes()[i] == b'?' => {
            (&target[..i], Some(before_fragment(&target[i + 1..])))
        }
        Some(i) => (&target[..i], None),
        None => (target, None),
    }
}

#[cfg(test)]
mod tests;
