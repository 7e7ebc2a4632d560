//! One direction of an HTTP/1.x connection: head parsing with `httparse`, then the body by
//! `Content-Length`, chunked transfer coding, or until the connection closes (responses),
//! keeping at most `body_limit` bytes of each body for inspection.

use std::mem::MaybeUninit;

use super::chunked::{Chunked, ChunkedError};

/// `[http]`: limits for one direction.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest head (start line and headers) accepted, in bytes (`max_head_bytes`).
    #[serde(rename = "max_head_bytes")]
    pub max_head: usize,
    /// Most header fields accepted.
    pub max_headers: usize,
    /// Body bytes kept for inspection; the rest is skipped (`body_inspect_limit`).
    #[serde(rename = "body_inspect_limit")]
    pub body_limit: usize,
}

impl Default for Limits {
    /// 32 KiB heads, 100 headers, 64 KiB of body.
    fn default() -> Self {
        Limits {
            max_head: 32 << 10,
            max_headers: 100,
            body_limit: 64 << 10,
        }
    }
}

/// A request line: method and target as sent (the target not decoded), in one
/// allocation of `method SP target` (16 bytes inline) because every flow keeps one per
/// request awaiting its response.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// `method SP target`: a method is a token, so the first space ends it.
    line: Box<str>,
}

impl RequestLine {
    /// The line of `method` (a token, no space) and `target`.
    pub fn new(method: &str, target: &str) -> Self {
        let mut line = String::with_capacity(method.len() + 1 + target.len());
        line.push_str(method);
        line.push(' ');
        line.push_str(target);
        RequestLine {
            line: line.into_boxed_str(),
        }
    }

    /// The space after the method (methods are short: a byte loop, not a `str` search).
    fn space(&self) -> usize {
        self.line
            .bytes()
            .position(|b| b == b' ')
            .unwrap_or(self.line.len())
    }

    /// `method SP target`.
    pub(super) fn as_line(&self) -> &str {
        &self.line
    }

    /// The request line of `method SP target`.
    pub(super) fn from_line(line: &str) -> Self {
        RequestLine { line: line.into() }
    }

    /// Method, as sent.
    pub fn method(&self) -> &str {
        &self.line[..self.space()]
    }

    /// Request target, as sent (not decoded).
    pub fn target(&self) -> &str {
        self.line.get(self.space() + 1..).unwrap_or("")
    }
}

impl std::fmt::Debug for RequestLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLine")
            .field("method", &self.method())
            .field("target", &self.target())
            .finish()
    }
}

/// A parsed head: request line or status line, and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// A request: method and target.
    Request(RequestLine),
    /// A response.
    Response {
        /// Status code.
        status: u16,
    },
}

/// A complete message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Start line.
    pub head: Head,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header fields, in order (see [`Message::headers`]).
    headers: Headers,
    /// The body, decoded from chunked coding, at most `body_limit` bytes.
    pub body: Vec<u8>,
    /// Whether the body was longer than what was kept.
    pub body_truncated: bool,
}

/// Header fields kept as two buffers and their spans rather than two allocations per
/// field: names (tokens, so ASCII text) and raw values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Headers {
    /// Each field's name (ASCII token) then its raw value, one field after the other.
    bytes: Vec<u8>,
    /// `(0, 0)`, then per field the end of its name and of its value in `bytes` (empty when
    /// there is no field): field `i` is named `ends[i].1..ends[i + 1].0` and valued
    /// `ends[i + 1].0..ends[i + 1].1`.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    fn with_capacity(fields: usize, bytes: usize) -> Headers {
        Headers {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(fields + 1),
        }
    }

    fn push(&mut self, name: &str, value: &[u8]) {
        if self.ends.is_empty() {
            self.ends.push((0, 0));
        }
        self.bytes.extend_from_slice(name.as_bytes());
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((name_end, self.bytes.len()));
    }

    fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &[u8])> + ExactSizeIterator + '_ {
        self.ends.windows(2).map(|w| {
            let ((_, start), (name_end, end)) = (w[0], w[1]);
            let name = &self.bytes[start..name_end];
            // SAFETY: `push`, the only writer, copied these bytes from a `str`.
            let name = unsafe { std::str::from_utf8_unchecked(name) };
            (name, &self.bytes[name_end..end])
        })
    }
}

impl Message {
    /// Header fields in order: (name as sent, raw value).
    pub fn headers(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &[u8])> + ExactSizeIterator + '_ {
        self.headers.iter()
    }

    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Why a direction stopped being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not HTTP/1.x (TLS, another protocol, garbage).
    #[error("not HTTP/1.x")]
    NotHttp,
    /// Head larger than the limit, or too many headers.
    #[error("head too large")]
    HeadTooLarge,
    /// Invalid or conflicting Content-Length, or a bad chunk.
    #[error("bad body framing")]
    BadFraming,
}

/// How the body after a head is delimited.
#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
}

#[derive(Debug)]
enum State {
    Head,
    /// A message whose body continues in later data; boxed to keep idle parsers small
    /// (most messages complete within the data that carries their head).
    Body(Box<(Message, Body)>),
    /// After a gap: skipping until data that starts a new message.
    Resync,
    /// Stopped for the rest of the connection.
    Dead,
}

/// The parser of one direction: requests when `REQUEST`, else responses (a type
/// parameter rather than a field: every idle flow holds one of each).
#[derive(Debug)]
pub struct MessageParser<const REQUEST: bool> {
    /// Bytes of an incomplete message, never empty; boxed (8 bytes, not 24) because most
    /// flows wait with nothing buffered.
    #[allow(
        clippy::box_collection,
        reason = "8 bytes per idle parser instead of 24"
    )]
    buf: Option<Box<Vec<u8>>>,
    state: State,
}

/// Where a parser delivers what it finds.
pub trait Sink {
    /// Called once for every response head with its status, in order; answers whether the
    /// request it answers was HEAD (then no body follows, whatever the headers say).
    fn response_head(&mut self, status: u16) -> bool;
    /// A complete message.
    fn message(&mut self, msg: Message);
}

impl<const REQUEST: bool> MessageParser<REQUEST> {
    /// A parser in its initial state.
    pub fn new() -> Self {
        MessageParser {
            buf: None,
            state: State::Head,
        }
    }

    /// Whether this direction stopped for good.
    pub fn is_dead(&self) -> bool {
        matches!(self.state, State::Dead)
    }

    /// Data was lost before the next bytes: drop the partial message and wait for the start
    /// of a new one.
    pub fn gap(&mut self) {
        if !self.is_dead() {
            self.buf = None;
            self.state = State::Resync;
        }
    }

    /// The connection closed: a body delimited by close is complete now.
    pub fn close(&mut self, out: &mut dyn Sink) {
        if let State::Body(b) = &self.state
            && let Body::UntilClose = b.1
            && let State::Body(b) = std::mem::replace(&mut self.state, State::Dead)
        {
            out.message(b.0);
        }
        self.state = State::Dead;
        self.buf = None;
    }

    /// Feeds in-order bytes; response heads and complete messages go to `out`.
    ///
    /// # Errors
    /// The direction is not parseable any more; the parser stays dead and ignores input.
    pub fn feed(
        &mut self,
        data: &[u8],
        limits: &Limits,
        out: &mut dyn Sink,
    ) -> Result<(), ParseError> {
        if self.is_dead() {
            return Ok(());
        }
        // Most segments start and end messages: parse them where they are, and buffer only
        // what is left over.
        let mut buffered = self.buf.take();
        let input: &[u8] = match &mut buffered {
            None => data,
            Some(b) => {
                b.extend_from_slice(data);
                b
            }
        };
        let mut pos = 0;
        let result = loop {
            let rest = &input[pos..];
            match &mut self.state {
                State::Dead => break Ok(()),
                State::Resync => {
                    if !starts_message(rest, REQUEST) {
                        pos = input.len(); // Still inside the lost message.
                        break Ok(());
                    }
                    self.state = State::Head;
                }
                State::Head => match parse_head(rest, REQUEST, limits, out) {
                    Ok(None) if rest.len() > limits.max_head => {
                        break Err(ParseError::HeadTooLarge);
                    }
                    Ok(None) => break Ok(()),
                    Ok(Some((used, mut msg, mut body))) => {
                        pos += used;
                        // The body is usually all here: no need to park the message.
                        match consume_body(&mut msg, &mut body, &input[pos..], limits) {
                            Ok((used, complete)) => {
                                pos += used;
                                if complete {
                                    out.message(msg);
                                } else {
                                    self.state = State::Body(Box::new((msg, body)));
                                    break Ok(());
                                }
                            }
                            Err(e) => break Err(e),
                        }
                    }
                    Err(e) => break Err(e),
                },
                State::Body(b) => match consume_body(&mut b.0, &mut b.1, rest, limits) {
                    Ok((used, complete)) => {
                        pos += used;
                        if !complete {
                            break Ok(());
                        }
                        if let State::Body(b) = std::mem::replace(&mut self.state, State::Head) {
                            out.message(b.0);
                        }
                    }
                    Err(e) => break Err(e),
                },
            }
        };
        // An empty buffer gives its memory back: idle flows outnumber busy ones.
        if result.is_err() {
            self.state = State::Dead;
        } else {
            match buffered {
                None if pos < data.len() => self.buf = Some(Box::new(data[pos..].to_vec())),
                Some(mut b) if pos < b.len() => {
                    b.drain(..pos);
                    self.buf = Some(b);
                }
                _ => {}
            }
        }
        result
    }
}

/// Parses a head at the start of `buf`; `None` when incomplete. Returns the bytes used.
fn parse_head(
    buf: &[u8],
    request: bool,
    limits: &Limits,
    out: &mut dyn Sink,
) -> Result<Option<(usize, Message, Body)>, ParseError> {
    // Header slots on the stack, uninitialised, unless the limit is unusually high.
    let mut on_stack = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; STACK_HEADERS];
    let mut on_heap;
    let slots = if limits.max_headers <= STACK_HEADERS {
        &mut on_stack[..limits.max_headers]
    } else {
        on_heap = vec![MaybeUninit::uninit(); limits.max_headers];
        &mut on_heap[..]
    };
    let config = httparse::ParserConfig::default();
    let parsed = if request {
        let mut req = httparse::Request::new(&mut []);
        match config.parse_request_with_uninit_headers(&mut req, buf, slots) {
            Ok(httparse::Status::Complete(n)) => Ok(Some((
                n,
                Head::Request(RequestLine::new(
                    req.method.unwrap_or_default(),
                    req.path.unwrap_or_default(),
                )),
                req.version.unwrap_or(1),
                copy_headers(req.headers),
            ))),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        let mut resp = httparse::Response::new(&mut []);
        match config.parse_response_with_uninit_headers(&mut resp, buf, slots) {
            Ok(httparse::Status::Complete(n)) => Ok(Some((
                n,
                Head::Response {
                    status: resp.code.unwrap_or(0),
                },
                resp.version.unwrap_or(1),
                copy_headers(resp.headers),
            ))),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let (used, head, version, headers) = match parsed {
        Ok(Some(parts)) => parts,
        Ok(None) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::HeadTooLarge),
        Err(_) => return Err(ParseError::NotHttp),
    };
    let msg = Message {
        head,
        version,
        headers,
        body: Vec::new(),
        body_truncated: false,
    };
    let no_body = match msg.head {
        Head::Response { status } => out.response_head(status),
        Head::Request(_) => false,
    };
    let body = framing(&msg, request, no_body)?;
    Ok(Some((used, msg, body)))
}

/// Takes body bytes from the front of `data` into `msg` (up to the body limit); returns the
/// bytes used and whether the body is complete.
fn consume_body(
    msg: &mut Message,
    body: &mut Body,
    data: &[u8],
    limits: &Limits,
) -> Result<(usize, bool), ParseError> {
    let mut keep = |bytes: &[u8]| {
        let room = limits.body_limit.saturating_sub(msg.body.len());
        msg.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if bytes.len() > room {
            msg.body_truncated = true;
        }
    };
    match body {
        Body::Length(remaining) => {
            let take = (*remaining).min(data.len() as u64) as usize;
            keep(&data[..take]);
            *remaining -= take as u64;
            Ok((take, *remaining == 0))
        }
        Body::UntilClose => {
            keep(data);
            Ok((data.len(), false))
        }
        Body::Chunked(chunked) => match chunked.feed(data, &mut keep) {
            Ok((used, done)) => Ok((used, done)),
            Err(ChunkedError) => Err(ParseError::BadFraming),
        },
    }
}

/// Header slots kept on the stack by [`parse_head`]; more only with a higher limit.
const STACK_HEADERS: usize = 128;

fn copy_headers(fields: &[httparse::Header<'_>]) -> Headers {
    let bytes = fields.iter().map(|h| h.name.len() + h.value.len()).sum();
    let mut headers = Headers::with_capacity(fields.len(), bytes);
    for h in fields {
        headers.push(h.name, h.value);
    }
    headers
}

/// RFC 9112 section 6.3: how the message body is delimited.
fn framing(msg: &Message, request: bool, head_request: bool) -> Result<Body, ParseError> {
    if let Head::Response { status } = msg.head
        && ((100..200).contains(&status) || status == 204 || status == 304 || head_request)
    {
        return Ok(Body::Length(0));
    }
    // One pass over the fields for both: the last coding of the last Transfer-Encoding
    // decides chunked, which overrides Content-Length (whose errors then do not count).
    let mut chunked = false;
    let mut length: Option<u64> = None;
    let mut bad_length = false;
    for (name, v) in msg.headers.iter() {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            let last = v.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
        } else if !bad_length && name.eq_ignore_ascii_case("content-length") {
            for part in v.split(|&b| b == b',') {
                let n = std::str::from_utf8(part.trim_ascii())
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok());
                match n {
                    // Conflicting lengths: smuggling shape.
                    Some(n) if length.is_none_or(|l| l == n) => length = Some(n),
                    _ => {
                        bad_length = true;
                        break;
                    }
                }
            }
        }
    }
    if chunked {
        return Ok(Body::Chunked(Chunked::default()));
    }
    if bad_length {
        return Err(ParseError::BadFraming);
    }
    Ok(match length {
        Some(n) => Body::Length(n),
        None if request => Body::Length(0),
        None => Body::UntilClose,
    })
}

/// Whether `data` looks like the start of a request (`TOKEN SP`) or a response (`HTTP/`).
fn starts_message(data: &[u8], request: bool) -> bool {
    if !request {
        return data.starts_with(b"HTTP/");
    }
    let method_len = data
        .iter()
        .take(16)
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    method_len > 0 && data.get(method_len) == Some(&b' ')
}
