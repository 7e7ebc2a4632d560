//! Parse: HTTP/1.x requests and responses from reassembled streams, with responses matched
//! to their requests per flow (keep-alive and pipelining: responses come back in request
//! order, RFC 9112 section 9.3.2).

mod chunked;
mod message;

pub use message::{Head, Limits, Message, ParseError, RequestLine};
use message::{MessageParser, Sink};

use crate::inspect::reassemble::{Direction, StreamEvent};

/// Requests kept waiting for their response per flow; older ones are forgotten.
const MAX_PENDING: u32 = 64;

/// What parsing a flow produced.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpEvent {
    /// A complete request.
    Request(Message),
    /// A complete response, with the request it answers when known.
    Response {
        /// The matching request (`None` after a gap or for an unsolicited response).
        request: Option<RequestLine>,
        /// The response.
        response: Message,
    },
    /// A direction stopped parsing (not HTTP, oversized head, bad framing).
    Error {
        /// Which direction.
        direction: Direction,
        /// Why.
        error: ParseError,
    },
}

/// Per-flow HTTP state: one parser per direction and the requests awaiting a response.
///
/// Kept small (see the size test) because the flow table holds tens of thousands of idle
/// flows: the response parser is made when the first response bytes arrive, and one
/// buffer holds both the requests answered by a response still in progress and those
/// waiting.
#[derive(Debug)]
pub struct HttpFlow {
    requests: MessageParser<true>,
    responses: Option<Box<MessageParser<false>>>,
    pairs: AwaitingResponses,
}

impl Default for HttpFlow {
    fn default() -> Self {
        HttpFlow {
            requests: MessageParser::new(),
            responses: None,
            pairs: AwaitingResponses::default(),
        }
    }
}

/// The requests a flow's responses answer, oldest first: the first `answering` entries
/// are response heads seen whose message is not complete yet, with their request (none
/// for interim responses and unsolicited ones); then the requests whose response head has
/// not been seen yet.
///
/// Packed in one allocation, freed when empty, rather than a deque of boxed lines (two
/// allocations per waiting flow): per entry a tag byte (0: no request, 1: a request
/// line follows), then the line's length (`u32`, little-endian) and bytes.
#[derive(Debug, Default)]
struct AwaitingResponses {
    buf: Vec<u8>,
    /// Entries.
    len: u32,
    /// Entries answered by a response in progress.
    answering: u32,
}

impl AwaitingResponses {
    /// The bytes of the entry at byte offset `at`: its line, if any, and where it ends.
    fn entry(&self, at: usize) -> (Option<&[u8]>, usize) {
        if self.buf[at] == 0 {
            return (None, at + 1);
        }
        let len = u32::from_le_bytes(self.buf[at + 1..at + 5].try_into().expect("4 bytes"));
        let end = at + 5 + len as usize;
        (Some(&self.buf[at + 5..end]), end)
    }

    /// Byte offset of entry `index` (at most `len`).
    fn offset(&self, index: u32) -> usize {
        (0..index).fold(0, |at, _| self.entry(at).1)
    }

    fn push(&mut self, line: Option<&RequestLine>) {
        match line {
            None => self.buf.push(0),
            Some(line) => {
                let line = line.as_line().as_bytes();
                let len = u32::try_from(line.len()).expect("a head is far below 4 GiB");
                self.buf.reserve_exact(5 + line.len());
                self.buf.push(1);
                self.buf.extend_from_slice(&len.to_le_bytes());
                self.buf.extend_from_slice(line);
            }
        }
        self.len += 1;
    }

    /// Removes the oldest entry.
    fn pop_front(&mut self) -> Option<RequestLine> {
        let (line, end) = self.entry(0);
        // The bytes were a request line's `str`.
        let line = line.map(|l| RequestLine::from_line(&String::from_utf8_lossy(l)));
        self.buf.drain(..end);
        self.len -= 1;
        if self.len == 0 {
            self.buf = Vec::new();
        }
        line
    }

    fn clear(&mut self) {
        *self = AwaitingResponses::default();
    }
}

/// Delivers one call's messages as events and keeps the request queue.
struct EventSink<'a> {
    pairs: &'a mut AwaitingResponses,
    out: &'a mut Vec<HttpEvent>,
    /// A 101 response was delivered: the connection left HTTP/1.x.
    switched: bool,
}

impl Sink for EventSink<'_> {
    fn response_head(&mut self, status: u16) -> bool {
        // Pair each response head with the oldest unanswered request; interim (1xx)
        // responses precede the final one for the same request.
        let pairs = &mut *self.pairs;
        let at = pairs.offset(pairs.answering);
        if (100..200).contains(&status) && status != 101 {
            pairs.buf.insert(at, 0);
            pairs.len += 1;
        } else if pairs.answering == pairs.len {
            pairs.push(None);
        }
        let is_head = pairs.entry(at).0.is_some_and(|l| l.starts_with(b"HEAD "));
        pairs.answering += 1;
        is_head
    }

    fn message(&mut self, msg: Message) {
        match &msg.head {
            Head::Request(line) => {
                let pairs = &mut *self.pairs;
                if pairs.len - pairs.answering == MAX_PENDING {
                    let at = pairs.offset(pairs.answering);
                    let end = pairs.entry(at).1;
                    pairs.buf.drain(at..end);
                    pairs.len -= 1;
                }
                pairs.push(Some(line));
                self.out.push(HttpEvent::Request(msg));
            }
            &Head::Response { status } => {
                let request = if self.pairs.answering > 0 {
                    self.pairs.answering -= 1;
                    self.pairs.pop_front()
                } else {
                    None
                };
                if status == 101 {
                    self.switched = true;
                }
                self.out.push(HttpEvent::Response {
                    request,
                    response: msg,
                });
            }
        }
    }
}

impl HttpFlow {
    /// Handles one stream event; what it completes goes to `out`.
    pub fn on_stream(
        &mut self,
        direction: Direction,
        event: StreamEvent<'_>,
        limits: &Limits,
        out: &mut Vec<HttpEvent>,
    ) {
        let mut events = EventSink {
            pairs: &mut self.pairs,
            out,
            switched: false,
        };
        let result = match (direction, event) {
            (Direction::ToServer, StreamEvent::Data(data)) => {
                self.requests.feed(data, limits, &mut events)
            }
            (Direction::ToClient, StreamEvent::Data(data)) => self
                .responses
                .get_or_insert_with(|| Box::new(MessageParser::new()))
                .feed(data, limits, &mut events),
            (Direction::ToServer, StreamEvent::Gap) => {
                self.requests.gap();
                Ok(())
            }
            (Direction::ToClient, StreamEvent::Gap) => {
                self.responses
                    .get_or_insert_with(|| Box::new(MessageParser::new()))
                    .gap();
                events.pairs.clear();
                Ok(())
            }
            (_, StreamEvent::Closed) => {
                self.requests.close(&mut events);
                // A flow that never saw a response has no parser to close.
                if let Some(r) = &mut self.responses {
                    r.close(&mut events);
                }
                Ok(())
            }
        };
        if events.switched {
            // Switched protocols (WebSocket, h2c): no more HTTP/1.x here.
            self.requests.gap();
            let mut ignore = EventSink {
                pairs: &mut AwaitingResponses::default(),
                out: &mut Vec::new(),
                switched: false,
            };
            if let Some(responses) = &mut self.responses {
                responses.close(&mut ignore);
            }
            self.requests.close(&mut ignore);
        }
        if let Err(error) = result {
            out.push(HttpEvent::Error { direction, error });
        }
    }
}

/// Parses `raw` as one complete request (for tests, tools and benchmarks); `None` when it is
/// not a complete, valid request.
pub fn parse_request(raw: &[u8], limits: &Limits) -> Option<Message> {
    /// Keeps the last request, as a flow's last event: a lone request has no responses to
    /// pair, so it needs none of a flow's bookkeeping (the queue of requests awaiting
    /// responses, the event list).
    struct Last(Option<Message>);
    impl Sink for Last {
        fn response_head(&mut self, _status: u16) -> bool {
            false
        }
        fn message(&mut self, msg: Message) {
            self.0 = Some(msg);
        }
    }
    let mut last = Last(None);
    MessageParser::<true>::new()
        .feed(raw, limits, &mut last)
        .ok()?;
    last.0
}

#[cfg(test)]
mod tests;
