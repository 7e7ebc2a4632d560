use super::*;

fn feed_all(flow: &mut HttpFlow, dir: Direction, data: &[u8], piece: usize) -> Vec<HttpEvent> {
    let mut out = Vec::new();
    for chunk in data.chunks(piece.max(1)) {
        flow.on_stream(dir, StreamEvent::Data(chunk), &Limits::default(), &mut out);
    }
    out
}

fn request(ev: &HttpEvent) -> &Message {
    match ev {
        HttpEvent::Request(m) => m,
        other => panic!("expected a request, got {other:?}"),
    }
}

fn target(m: &Message) -> &str {
    match &m.head {
        Head::Request(line) => line.target(),
        Head::Response { .. } => panic!("response"),
    }
}

const PIPELINE: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
POST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n\
HEAD /d HTTP/1.0\r\n\r\n";

#[test]
fn pipelined_requests_whole_and_byte_by_byte() {
    for piece in [PIPELINE.len(), 1, 2, 5, 13] {
        let mut flow = HttpFlow::default();
        let evs = feed_all(&mut flow, Direction::ToServer, PIPELINE, piece);
        assert_eq!(evs.len(), 4, "piece {piece}: {evs:?}");
        let targets: Vec<_> = evs.iter().map(|e| target(request(e)).to_string()).collect();
        assert_eq!(targets, ["/a", "/b?q=1", "/c", "/d"]);
        assert_eq!(request(&evs[1]).body, b"hello");
        assert_eq!(request(&evs[2]).body, b"abcde", "chunked body decoded");
        assert_eq!(request(&evs[3]).version, 0);
        assert_eq!(request(&evs[0]).header("host"), Some(&b"x"[..]));
    }
}

#[test]
fn responses_are_matched_to_requests_in_order() {
    let mut flow = HttpFlow::default();
    feed_all(&mut flow, Direction::ToServer, PIPELINE, 1000);
    let responses: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nnope\r\n0\r\n\r\n\
HTTP/1.1 204 No Content\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    for piece in [responses.len(), 1, 7] {
        let mut f = HttpFlow::default();
        feed_all(&mut f, Direction::ToServer, PIPELINE, 1000);
        let evs = feed_all(&mut f, Direction::ToClient, responses, piece);
        let pairs: Vec<_> = evs
            .iter()
            .map(|e| match e {
                HttpEvent::Response { request, response } => (
                    request.as_ref().map(|r| r.target().to_string()),
                    match response.head {
                        Head::Response { status } => status,
                        _ => 0,
                    },
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            pairs,
            [
                (Some("/a".into()), 200),
                (None, 100),
                (Some("/b?q=1".into()), 404),
                (Some("/c".into()), 204),
                // The HEAD response has a Content-Length but no body.
                (Some("/d".into()), 200),
            ],
            "piece {piece}"
        );
    }
}

#[test]
fn body_until_close_and_truncation() {
    let mut flow = HttpFlow::default();
    let limits = Limits {
        body_limit: 4,
        ..Limits::default()
    };
    let mut out = Vec::new();
    flow.on_stream(
        Direction::ToServer,
        StreamEvent::Data(b"GET / HTTP/1.0\r\n\r\n"),
        &limits,
        &mut out,
    );
    flow.on_stream(
        Direction::ToClient,
        StreamEvent::Data(b"HTTP/1.0 200 OK\r\n\r\nabcdefgh"),
        &limits,
        &mut out,
    );
    assert_eq!(out.len(), 1, "response waits for the close");
    flow.on_stream(Direction::ToClient, StreamEvent::Closed, &limits, &mut out);
    match &out[1] {
        HttpEvent::Response { response, .. } => {
            assert_eq!(response.body, b"abcd");
            assert!(response.body_truncated);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_http_and_bad_framing_are_errors() {
    let tls_hello = [
        0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let mut flow = HttpFlow::default();
    let evs = feed_all(&mut flow, Direction::ToServer, &tls_hello, 100);
    assert_eq!(
        evs,
        [HttpEvent::Error {
            direction: Direction::ToServer,
            error: ParseError::NotHttp
        }]
    );
    // Dead for the rest of the flow: later valid bytes are ignored, not misparsed.
    assert!(
        feed_all(
            &mut flow,
            Direction::ToServer,
            b"GET / HTTP/1.1\r\n\r\n",
            100
        )
        .is_empty()
    );

    let mut flow = HttpFlow::default();
    let smuggle = b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
    let evs = feed_all(&mut flow, Direction::ToServer, smuggle, 100);
    assert!(
        matches!(
            evs[0],
            HttpEvent::Error {
                error: ParseError::BadFraming,
                ..
            }
        ),
        "{evs:?}"
    );

    let mut flow = HttpFlow::default();
    let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 40 << 10));
    let evs = feed_all(&mut flow, Direction::ToServer, &huge, 1000);
    assert!(
        matches!(
            evs[0],
            HttpEvent::Error {
                error: ParseError::HeadTooLarge,
                ..
            }
        ),
        "{evs:?}"
    );
}

#[test]
fn gap_resynchronises_on_the_next_request() {
    let mut flow = HttpFlow::default();
    let mut out = Vec::new();
    let limits = Limits::default();
    flow.on_stream(
        Direction::ToServer,
        StreamEvent::Data(b"POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"),
        &limits,
        &mut out,
    );
    flow.on_stream(Direction::ToServer, StreamEvent::Gap, &limits, &mut out);
    flow.on_stream(
        Direction::ToServer,
        StreamEvent::Data(b"tail of the lost body"),
        &limits,
        &mut out,
    );
    flow.on_stream(
        Direction::ToServer,
        StreamEvent::Data(b"GET /next HTTP/1.1\r\n\r\n"),
        &limits,
        &mut out,
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(target(request(&out[0])), "/next");
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: xorshift64.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet =
        b"GET POST HTTP/1.1\r\n:0123456789abcdef;chunked Content-Length Transfer-Encoding \x00\xff";
    for _ in 0..2000 {
        let mut flow = HttpFlow::default();
        let len = (next() % 300) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let piece = 1 + (next() % 20) as usize;
        feed_all(&mut flow, Direction::ToServer, &data, piece);
        feed_all(&mut flow, Direction::ToClient, &data, piece);
        let mut out = Vec::new();
        flow.on_stream(
            Direction::ToServer,
            StreamEvent::Closed,
            &Limits::default(),
            &mut out,
        );
    }
}

/// Counts the bytes this thread holds on the heap, for the per-flow memory test.
mod counting {
    use std::{
        alloc::{GlobalAlloc, Layout, System},
        cell::Cell,
    };

    pub struct Counting;

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        // `try_with`: the thread may be tearing its locals down.
        let _ = LIVE.try_with(|l| l.set(l.get() + n));
    }

    // SAFETY: every call is forwarded to the system allocator unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            add(layout.size() as isize);
            // SAFETY: the caller's contract is passed on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            add(-(layout.size() as isize));
            // SAFETY: the caller's contract is passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Heap bytes allocated and not freed by this thread so far.
    pub fn live() -> isize {
        LIVE.with(Cell::get)
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

#[test]
fn idle_flow_is_small() {
    // Tens of thousands of flows sit in the flow table between a request and its response:
    // this bounds what each one holds.
    assert!(size_of::<HttpFlow>() <= 64, "{}", size_of::<HttpFlow>());
    let mut out = Vec::new();
    let before = counting::live();
    let mut flow = HttpFlow::default();
    flow.on_stream(
        Direction::ToServer,
        StreamEvent::Data(b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
        &Limits::default(),
        &mut out,
    );
    drop(out);
    let heap = counting::live() - before;
    // The request line awaiting its response, with its tag and length (5 bytes).
    assert!(heap <= 5 + 15, "{heap} heap bytes after one request");
    assert_eq!(flow.pairs.len, 1);
    // The response completes the pair and frees the request line.
    let mut out = Vec::new();
    flow.on_stream(
        Direction::ToClient,
        StreamEvent::Data(b"HTTP/1.1 204 No Content\r\n\r\n"),
        &Limits::default(),
        &mut out,
    );
    assert!(
        matches!(&out[0], HttpEvent::Response { request: Some(r), .. } if r.target() == "/index.html")
    );
    drop(out);
    let heap = counting::live() - before;
    // The response parser (boxed, 24 bytes) remains; the pairing buffer is freed.
    assert!(heap <= 24, "{heap} heap bytes after the response");
}

#[test]
fn framing_last_transfer_coding_wins_over_content_length() {
    let limits = Limits::default();
    // Chunked last: the bad Content-Length does not matter.
    let raw = b"POST / HTTP/1.1\r\nContent-Length: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
    assert_eq!(parse_request(raw, &limits).unwrap().body, b"ab");
    // Chunked, then another coding last: not chunked, so Content-Length frames the body.
    let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\nContent-Length: 2, 2\r\n\r\nab";
    assert_eq!(parse_request(raw, &limits).unwrap().body, b"ab");
    let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab";
    assert_eq!(parse_request(raw, &limits), None);
}

#[test]
fn at_most_64_requests_wait_for_responses() {
    let mut flow = HttpFlow::default();
    let requests: Vec<u8> = (0..70)
        .flat_map(|i| format!("GET /{i} HTTP/1.1\r\n\r\n").into_bytes())
        .collect();
    feed_all(&mut flow, Direction::ToServer, &requests, requests.len());
    let responses = b"HTTP/1.1 204 No Content\r\n\r\n".repeat(70);
    let evs = feed_all(&mut flow, Direction::ToClient, &responses, 100);
    let targets: Vec<_> = evs
        .iter()
        .map(|e| match e {
            HttpEvent::Response { request, .. } => request.as_ref().map(|r| r.target().to_string()),
            other => panic!("{other:?}"),
        })
        .collect();
    // The 6 oldest were forgotten: the first 64 responses answer /6 to /69.
    let expected: Vec<_> = (6..70)
        .map(|i| Some(format!("/{i}")))
        .chain(std::iter::repeat_n(None, 6))
        .collect();
    assert_eq!(targets, expected);
    assert_eq!(flow.pairs.len, 0);
}
