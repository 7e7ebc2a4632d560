//! Parse: HTTP/1.x requests and responses from reassembled streams, with responses matched
//! to their requests per flow (keep-alive and pipelining: responses come back in request
//! order, RFC 9112 section 9.3.2).

mod chunked;
#[doc(hidden)]
pub mod corpus;
mod message;

use std::collections::VecDeque;

use message::MessageParser;
pub use message::{Head, Limits, Message, ParseError};

use crate::reassemble::{Direction, StreamEvent};

/// Requests kept waiting for their response per flow; older ones are forgotten.
const MAX_PENDING: usize = 64;

/// The request a response answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// Method.
    pub method: String,
    /// Request target, as sent.
    pub target: String,
}

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
#[derive(Debug)]
pub struct HttpFlow {
    requests: MessageParser,
    responses: MessageParser,
    /// Requests whose response head has not been seen yet.
    pending: VecDeque<RequestLine>,
    /// Response heads seen whose message is not complete yet, with their request.
    answering: VecDeque<Option<RequestLine>>,
}

impl Default for HttpFlow {
    fn default() -> Self {
        HttpFlow {
            requests: MessageParser::new(true),
            responses: MessageParser::new(false),
            pending: VecDeque::new(),
            answering: VecDeque::new(),
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
        let mut messages = Vec::new();
        let result = match (direction, event) {
            (Direction::ToServer, StreamEvent::Data(data)) => {
                self.requests
                    .feed(data, limits, &mut |_| false, &mut messages)
            }
            (Direction::ToClient, StreamEvent::Data(data)) => {
                let (pending, answering) = (&mut self.pending, &mut self.answering);
                // Pair each response head with the oldest unanswered request; interim
                // (1xx) responses precede the final one for the same request.
                let mut head_request = |status: u16| {
                    let request = if (100..200).contains(&status) && status != 101 {
                        None
                    } else {
                        pending.pop_front()
                    };
                    let is_head = request.as_ref().is_some_and(|r| r.method == "HEAD");
                    answering.push_back(request);
                    is_head
                };
                self.responses
                    .feed(data, limits, &mut head_request, &mut messages)
            }
            (Direction::ToServer, StreamEvent::Gap) => {
                self.requests.gap();
                Ok(())
            }
            (Direction::ToClient, StreamEvent::Gap) => {
                self.responses.gap();
                self.pending.clear();
                self.answering.clear();
                Ok(())
            }
            (_, StreamEvent::Closed) => {
                self.requests.close(&mut messages);
                self.responses.close(&mut messages);
                Ok(())
            }
        };
        for msg in messages {
            match msg.head {
                Head::Request {
                    ref method,
                    ref target,
                } => {
                    if self.pending.len() == MAX_PENDING {
                        self.pending.pop_front();
                    }
                    self.pending.push_back(RequestLine {
                        method: method.clone(),
                        target: target.clone(),
                    });
                    out.push(HttpEvent::Request(msg));
                }
                Head::Response { status } => {
                    let request = self.answering.pop_front().flatten();
                    if status == 101 {
                        // Switched protocols (WebSocket, h2c): no more HTTP/1.x here.
                        self.requests.gap();
                        self.responses.close(&mut Vec::new());
                        self.requests.close(&mut Vec::new());
                    }
                    out.push(HttpEvent::Response {
                        request,
                        response: msg,
                    });
                }
            }
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
