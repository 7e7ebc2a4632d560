//! Parse: HTTP/1.x requests and responses from reassembled streams, with responses matched
//! to their requests per flow (keep-alive and pipelining: responses come back in request
//! order, RFC 9112 section 9.3.2).

mod chunked;
#[doc(hidden)]
pub mod corpus;
mod message;

use std::collections::VecDeque;

pub use message::{Head, Limits, Message, ParseError, RequestLine};
use message::{MessageParser, Sink};

use crate::reassemble::{Direction, StreamEvent};

/// Requests kept waiting for their response per flow; older ones are forgotten.
const MAX_PENDING: usize = 64;

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
/// flows: the response parser is made when the first response bytes arrive, and one queue
/// holds both the requests answered by a response still in progress and those waiting.
#[derive(Debug)]
pub struct HttpFlow {
    requests: MessageParser<true>,
    responses: Option<Box<MessageParser<false>>>,
    /// The first `answering` entries: response heads seen whose message is not complete
    /// yet, with their request (`None` for interim responses and unsolicited ones); then
    /// the requests whose response head has not been seen yet.
    queue: VecDeque<Option<RequestLine>>,
    answering: usize,
}

impl Default for HttpFlow {
    fn default() -> Self {
        HttpFlow {
            requests: MessageParser::new(),
            responses: None,
            queue: VecDeque::new(),
            answering: 0,
        }
    }
}

/// Delivers one call's messages as events and keeps the request queue.
struct Events<'a> {
    queue: &'a mut VecDeque<Option<RequestLine>>,
    answering: &'a mut usize,
    out: &'a mut Vec<HttpEvent>,
    /// A 101 response was delivered: the connection left HTTP/1.x.
    switched: bool,
}

impl Events<'_> {
    fn push(&mut self, entry: Option<RequestLine>) {
        if self.queue.capacity() == 0 {
            // Most flows carry one request at a time: room for one, not the default four.
            self.queue.reserve_exact(1);
        }
        self.queue.push_back(entry);
    }
}

impl Sink for Events<'_> {
    fn response_head(&mut self, status: u16) -> bool {
        // Pair each response head with the oldest unanswered request; interim (1xx)
        // responses precede the final one for the same request.
        if (100..200).contains(&status) && status != 101 {
            self.queue.insert(*self.answering, None);
        } else if *self.answering == self.queue.len() {
            self.push(None);
        }
        let is_head = self.queue[*self.answering]
            .as_ref()
            .is_some_and(|r| r.method() == "HEAD");
        *self.answering += 1;
        is_head
    }

    fn message(&mut self, msg: Message) {
        match &msg.head {
            Head::Request(line) => {
                if self.queue.len() - *self.answering == MAX_PENDING {
                    self.queue.remove(*self.answering);
                }
                let line = line.clone();
                self.push(Some(line));
                self.out.push(HttpEvent::Request(msg));
            }
            &Head::Response { status } => {
                let request = if *self.answering > 0 {
                    *self.answering -= 1;
                    self.queue.pop_front().flatten()
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
        let mut events = Events {
            queue: &mut self.queue,
            answering: &mut self.answering,
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
                *events.queue = VecDeque::new();
                *events.answering = 0;
                Ok(())
            }
            (_, StreamEvent::Closed) => {
                self.requests.close(&mut events);
                self.responses
                    .get_or_insert_with(|| Box::new(MessageParser::new()))
                    .close(&mut events);
                Ok(())
            }
        };
        if events.switched {
            // Switched protocols (WebSocket, h2c): no more HTTP/1.x here.
            self.requests.gap();
            let mut ignore = Events {
                queue: &mut VecDeque::new(),
                answering: &mut 0,
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
    let mut events = Vec::new();
    HttpFlow::default().on_stream(
        Direction::ToServer,
        StreamEvent::Data(raw),
        limits,
        &mut events,
    );
    match events.pop() {
        Some(HttpEvent::Request(m)) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
