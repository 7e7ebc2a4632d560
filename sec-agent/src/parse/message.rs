//! One direction of an HTTP/1.x connection: head parsing with `httparse`, then the body by
//! `Content-Length`, chunked transfer coding, or until the connection closes (responses),
//! keeping at most `body_limit` bytes of each body for inspection.

use super::chunked::{Chunked, ChunkedError};

/// Limits for one direction.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest head (start line and headers) accepted, in bytes.
    pub max_head: usize,
    /// Most header fields accepted.
    pub max_headers: usize,
    /// Body bytes kept for inspection; the rest is skipped.
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

/// A parsed head: request line or status line, and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// A request.
    Request {
        /// Method, as sent.
        method: String,
        /// Request target, as sent (not decoded).
        target: String,
    },
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
    /// Header fields in order: (name as sent, raw value).
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, decoded from chunked coding, at most `body_limit` bytes.
    pub body: Vec<u8>,
    /// Whether the body was longer than what was kept.
    pub body_truncated: bool,
}

impl Message {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
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
    Body(Message, Body),
    /// After a gap: skipping until data that starts a new message.
    Resync,
    /// Stopped for the rest of the connection.
    Dead,
}

/// The parser of one direction.
#[derive(Debug)]
pub struct MessageParser {
    request: bool,
    buf: Vec<u8>,
    state: State,
}

/// Called once for every response head with its status, in order; answers whether the
/// request it answers was HEAD (then no body follows, whatever the headers say).
pub type HeadRequest<'a> = &'a mut dyn FnMut(u16) -> bool;

impl MessageParser {
    /// A parser for requests (`true`) or responses (`false`).
    pub fn new(request: bool) -> Self {
        MessageParser {
            request,
            buf: Vec::new(),
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
            self.buf.clear();
            self.state = State::Resync;
        }
    }

    /// The connection closed: a body delimited by close is complete now.
    pub fn close(&mut self, out: &mut Vec<Message>) {
        if let State::Body(_, Body::UntilClose) = self.state
            && let State::Body(msg, _) = std::mem::replace(&mut self.state, State::Dead)
        {
            out.push(msg);
        }
        self.state = State::Dead;
    }

    /// Feeds in-order bytes; complete messages go to `out`. `head_request` is called for
    /// every response head (see [`HeadRequest`]).
    ///
    /// # Errors
    /// The direction is not parseable any more; the parser stays dead and ignores input.
    pub fn feed(
        &mut self,
        data: &[u8],
        limits: &Limits,
        head_request: HeadRequest<'_>,
        out: &mut Vec<Message>,
    ) -> Result<(), ParseError> {
        if self.is_dead() {
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0;
        let result = loop {
            let rest = &self.buf[pos..];
            match &mut self.state {
                State::Dead => break Ok(()),
                State::Resync => {
                    if !starts_message(rest, self.request) {
                        pos = self.buf.len(); // Still inside the lost message.
                        break Ok(());
                    }
                    self.state = State::Head;
                }
                State::Head => match parse_head(rest, self.request, limits, head_request) {
                    Ok(None) if rest.len() > limits.max_head => {
                        break Err(ParseError::HeadTooLarge);
                    }
                    Ok(None) => break Ok(()),
                    Ok(Some((used, msg, body))) => {
                        pos += used;
                        self.state = State::Body(msg, body);
                    }
                    Err(e) => break Err(e),
                },
                State::Body(msg, body) => match consume_body(msg, body, rest, limits) {
                    Ok((used, complete)) => {
                        pos += used;
                        if !complete {
                            break Ok(());
                        }
                        if let State::Body(msg, _) = std::mem::replace(&mut self.state, State::Head)
                        {
                            out.push(msg);
                        }
                    }
                    Err(e) => break Err(e),
                },
            }
        };
        self.buf.drain(..pos);
        if result.is_err() {
            self.state = State::Dead;
            self.buf = Vec::new();
        }
        result
    }
}

/// Parses a head at the start of `buf`; `None` when incomplete. Returns the bytes used.
fn parse_head(
    buf: &[u8],
    request: bool,
    limits: &Limits,
    head_request: HeadRequest<'_>,
) -> Result<Option<(usize, Message, Body)>, ParseError> {
    let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let parsed = if request {
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => Ok(Some((
                n,
                Head::Request {
                    method: req.method.unwrap_or_default().to_string(),
                    target: req.path.unwrap_or_default().to_string(),
                },
                req.version.unwrap_or(1),
                req.headers.iter().map(copy_header).collect::<Vec<_>>(),
            ))),
            Ok(httparse::Status::Partial) => Ok(None),
            Err(e) => Err(e),
        }
    } else {
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(buf) {
            Ok(httparse::Status::Complete(n)) => Ok(Some((
                n,
                Head::Response {
                    status: resp.code.unwrap_or(0),
                },
                resp.version.unwrap_or(1),
                resp.headers.iter().map(copy_header).collect::<Vec<_>>(),
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
        Head::Response { status } => head_request(status),
        Head::Request { .. } => false,
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

fn copy_header(h: &httparse::Header<'_>) -> (String, Vec<u8>) {
    (h.name.to_string(), h.value.to_vec())
}

/// RFC 9112 section 6.3: how the message body is delimited.
fn framing(msg: &Message, request: bool, head_request: bool) -> Result<Body, ParseError> {
    if let Head::Response { status } = msg.head
        && ((100..200).contains(&status) || status == 204 || status == 304 || head_request)
    {
        return Ok(Body::Length(0));
    }
    let chunked = msg
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .map(|c| c.trim_ascii())
        .next_back()
        .is_some_and(|last| last.eq_ignore_ascii_case(b"chunked"));
    if chunked {
        return Ok(Body::Chunked(Chunked::default()));
    }
    let mut length: Option<u64> = None;
    for (_, v) in msg
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        for part in v.split(|&b| b == b',') {
            let n = std::str::from_utf8(part.trim_ascii())
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or(ParseError::BadFraming)?;
            if length.is_some_and(|l| l != n) {
                return Err(ParseError::BadFraming); // Conflicting lengths: smuggling shape.
            }
            length = Some(n);
        }
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
