use std::net::IpAddr;

use super::*;

#[test]
fn flow_entry_is_small() {
    // Per tracked flow, preallocated for all `max_flows`: 12 bytes per stream and 8 for
    // out-of-order room allocated only when needed, the HTTP state 64 (see the parse
    // size test).
    assert!(size_of::<Stream>() <= 12, "{}", size_of::<Stream>());
    let flow = size_of::<Flow<crate::inspect::parse::HttpFlow>>();
    assert!(flow <= 104, "{flow}");
    assert!(size_of::<PackedKey>() <= 38, "{}", size_of::<PackedKey>());
}

#[test]
fn keys_pack_and_unpack() {
    for (c, s) in [
        ("10.0.0.1:40000", "10.0.0.2:80"),
        ("[::ffff:10.0.0.1]:1", "[::ffff:10.0.0.2]:2"),
        ("[2001:db8::1]:65535", "[::1]:8080"),
        ("0.0.0.0:0", "[::]:0"),
    ] {
        let key = FlowKey {
            client: sa(c),
            server: sa(s),
        };
        assert_eq!(PackedKey::pack(&key).unpack(), key);
    }
    let v4 = FlowKey {
        client: sa("10.0.0.1:1"),
        server: sa("10.0.0.2:2"),
    };
    let mapped = FlowKey {
        client: sa("[::ffff:10.0.0.1]:1"),
        server: sa("[::ffff:10.0.0.2]:2"),
    };
    assert_ne!(PackedKey::pack(&v4), PackedKey::pack(&mapped));
}

/// Consumer state that records what it was given.
#[derive(Default)]
struct Log {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    gaps: usize,
    closed: usize,
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Harness {
    r: Reassembler<Log>,
    now: Instant,
    done: Vec<Log>,
}

impl Harness {
    fn new(config: ReassemblyConfig) -> Self {
        Harness {
            r: Reassembler::new(config),
            now: Instant::now(),
            done: Vec::new(),
        }
    }

    fn seg(&mut self, to_server: bool, seq: u32, flags: u8, payload: &[u8]) {
        let (c, s) = (sa("10.0.0.1:40000"), sa("10.0.0.2:80"));
        let (src, dst, dir) = if to_server {
            (c, s, Direction::ToServer)
        } else {
            (s, c, Direction::ToClient)
        };
        let segment = Segment {
            src,
            dst,
            seq,
            flags: TcpFlags(flags),
            payload,
        };
        let done = &mut self.done;
        self.r
            .push(&segment, dir, self.now, |_, d, ev, log| match ev {
                StreamEvent::Data(b) => match d {
                    Direction::ToServer => log.to_server.extend_from_slice(b),
                    Direction::ToClient => log.to_client.extend_from_slice(b),
                },
                StreamEvent::Gap => log.gaps += 1,
                StreamEvent::Closed => {
                    log.closed += 1;
                    done.push(std::mem::take(log));
                }
            });
    }

    /// Bytes delivered so far towards the server (open flow, or the last closed one).
    fn server_bytes(&self) -> Vec<u8> {
        let key = FlowKey {
            client: sa("10.0.0.1:40000"),
            server: sa("10.0.0.2:80"),
        };
        match self.r.flows.peek(&PackedKey::pack(&key)) {
            Some(f) => f.app.to_server.clone(),
            None => self
                .done
                .last()
                .map(|l| l.to_server.clone())
                .unwrap_or_default(),
        }
    }
}

const ACK: u8 = TcpFlags::ACK;

#[test]
fn request_split_across_three_segments() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 999, TcpFlags::SYN, b"");
    h.seg(true, 1000, ACK, b"GET /in");
    h.seg(true, 1007, ACK, b"dex HTTP/1.1\r\nHost: a\r\n");
    h.seg(true, 1030, ACK, b"\r\n");
    assert_eq!(h.server_bytes(), b"GET /index HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.r.stats().bytes, 32);
}

#[test]
fn out_of_order_is_buffered_until_the_hole_fills() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 99, TcpFlags::SYN, b"");
    h.seg(true, 110, ACK, b"world");
    h.seg(true, 105, ACK, b"there");
    assert_eq!(h.server_bytes(), b"");
    assert_eq!(h.r.buffered(), 10);
    h.seg(true, 100, ACK, b"hello");
    assert_eq!(h.server_bytes(), b"hellothereworld");
    assert_eq!(h.r.buffered(), 0);
    assert_eq!(h.r.stats().out_of_order, 2);
}

#[test]
fn retransmissions_and_overlaps_deliver_each_byte_once() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 0, TcpFlags::SYN, b"");
    h.seg(true, 1, ACK, b"abcdef");
    h.seg(true, 1, ACK, b"abcdef"); // full retransmission
    h.seg(true, 4, ACK, b"defghi"); // overlaps 3 old bytes
    h.seg(true, 13, ACK, b"mnop"); // ahead
    h.seg(true, 10, ACK, b"jklmn"); // fills the hole, overlaps the buffered one
    assert_eq!(h.server_bytes(), b"abcdefghijklmnop");
    let st = h.r.stats();
    assert_eq!(st.retransmissions, 1);
    assert!(st.overlaps >= 2, "{st:?}");
}

#[test]
fn sequence_numbers_wrap() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, u32::MAX - 3, TcpFlags::SYN, b"");
    h.seg(true, u32::MAX - 2, ACK, b"abc"); // ends at 0xffffffff
    h.seg(true, 2, ACK, b"efg"); // ahead, past the wrap
    h.seg(true, 0, ACK, b"d");
    assert_eq!(h.server_bytes(), b"abcd");
    h.seg(true, 1, ACK, b"X");
    assert_eq!(h.server_bytes(), b"abcdXefg");
}

#[test]
fn midstream_pickup_starts_at_the_first_payload() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 5000, ACK, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(h.server_bytes(), b"GET / HTTP/1.1\r\n\r\n");
    // A pure ACK for an unknown flow creates nothing.
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 5000, ACK, b"");
    assert_eq!(h.r.len(), 0);
}

#[test]
fn fin_both_ways_and_rst_close_the_flow() {
    let mut h = Harness::new(ReassemblyConfig::default());
    h.seg(true, 0, TcpFlags::SYN, b"");
    h.seg(false, 500, TcpFlags::SYN | ACK, b"");
    h.seg(true, 1, ACK | TcpFlags::FIN, b"bye");
    assert_eq!(h.r.len(), 1, "half closed");
    h.seg(false, 501, ACK | TcpFlags::FIN, b"");
    assert_eq!(h.r.len(), 0);
    assert_eq!(h.done.len(), 1);
    assert_eq!(h.done[0].to_server, b"bye");
    h.seg(true, 0, TcpFlags::SYN, b"");
    h.seg(true, 1, TcpFlags::RST, b"");
    assert_eq!(h.r.len(), 0);
    assert_eq!(h.r.stats().flows_closed, 2);
}

#[test]
fn caps_give_up_the_hole_and_report_a_gap() {
    let mut h = Harness::new(ReassemblyConfig {
        max_flow_buffer: 8,
        ..ReassemblyConfig::default()
    });
    h.seg(true, 0, TcpFlags::SYN, b"");
    h.seg(true, 1, ACK, b"ab");
    h.seg(true, 10, ACK, b"12345"); // buffered: 5 bytes
    h.seg(true, 20, ACK, b"67890"); // 10 > 8: cap hit
    let key = FlowKey {
        client: sa("10.0.0.1:40000"),
        server: sa("10.0.0.2:80"),
    };
    let log = &h.r.flows.peek(&PackedKey::pack(&key)).unwrap().app;
    assert_eq!(log.gaps, 1);
    assert_eq!(log.to_server, b"ab67890");
    assert_eq!(h.r.stats().flow_buffer_caps, 1);
    assert_eq!(h.r.buffered(), 0);
    h.seg(true, 25, ACK, b"x");
    assert_eq!(h.server_bytes(), b"ab67890x", "continues after the gap");
}

#[test]
fn total_cap_and_flow_cap_bound_memory() {
    let mut r: Reassembler<Log> = Reassembler::new(ReassemblyConfig {
        max_flows: 4,
        max_total_buffer: 100,
        ..ReassemblyConfig::default()
    });
    let now = Instant::now();
    for i in 0..50u16 {
        let seg = Segment {
            src: SocketAddr::new("10.0.0.1".parse().unwrap(), 1000 + i),
            dst: sa("10.0.0.2:80"),
            seq: 100,
            flags: TcpFlags(ACK),
            payload: &[b'a'; 40],
        };
        r.push(&seg, Direction::ToServer, now, |_, _, _, _| {});
        // Ahead of the stream: buffered until a cap gives it up.
        let ahead = Segment { seq: 1000, ..seg };
        r.push(&ahead, Direction::ToServer, now, |_, _, _, _| {});
        assert!(r.len() <= 4);
        assert!(r.buffered() <= 100);
    }
    let st = r.stats();
    assert_eq!(st.flows_evicted, 46);
    assert!(st.total_buffer_caps > 0, "{st:?}");
}

#[test]
fn churn_of_many_flows_stays_within_the_caps() {
    let config = ReassemblyConfig {
        max_flows: 64,
        max_flow_buffer: 64,
        max_total_buffer: 1000,
        idle_timeout: Duration::from_secs(10),
    };
    let mut r: Reassembler<Log> = Reassembler::new(config);
    let t0 = Instant::now();
    let mut closed = 0u64;
    for i in 0..100_000u32 {
        let now = t0 + Duration::from_millis(u64::from(i));
        let client = SocketAddr::new(IpAddr::from(i.to_be_bytes()), 40_000);
        let seg = Segment {
            src: client,
            dst: sa("10.0.0.2:80"),
            seq: 1,
            flags: TcpFlags(ACK),
            payload: b"GET / HTTP/1.1\r\n",
        };
        let mut on = |_: &FlowKey, _, ev: StreamEvent<'_>, _: &mut Log| {
            closed += u64::from(ev == StreamEvent::Closed);
        };
        r.push(&seg, Direction::ToServer, now, &mut on);
        // Out of order: held in the buffers until the flow goes.
        let ahead = Segment {
            seq: 1000,
            payload: &[b'a'; 30],
            ..seg
        };
        r.push(&ahead, Direction::ToServer, now, &mut on);
        if i.is_multiple_of(3) {
            let rst = Segment {
                flags: TcpFlags(TcpFlags::RST),
                payload: b"",
                ..seg
            };
            r.push(&rst, Direction::ToServer, now, &mut on);
        }
        if i % 1000 == 999 {
            r.expire(now, &mut on);
        }
        assert!(r.len() <= config.max_flows);
        assert!(r.buffered() <= config.max_total_buffer);
    }
    // Every flow opened is closed exactly once, counted once, and its bytes released.
    r.expire(t0 + Duration::from_secs(1000), |_, _, ev, _| {
        closed += u64::from(ev == StreamEvent::Closed);
    });
    let st = r.stats();
    assert_eq!((r.len(), r.buffered()), (0, 0));
    assert_eq!(st.flows_opened, 100_000);
    assert_eq!(
        st.flows_closed + st.flows_expired + st.flows_evicted,
        st.flows_opened
    );
    assert_eq!(closed, st.flows_opened);
    assert!(st.flows_evicted > 0 && st.flows_expired > 0, "{st:?}");
}

#[test]
fn idle_flows_expire() {
    let mut h = Harness::new(ReassemblyConfig {
        idle_timeout: Duration::from_secs(10),
        ..ReassemblyConfig::default()
    });
    h.seg(true, 0, TcpFlags::SYN, b"");
    let mut closed = 0;
    h.r.expire(h.now + Duration::from_secs(5), |_, _, _, _| closed += 1);
    assert_eq!((h.r.len(), closed), (1, 0));
    h.r.expire(h.now + Duration::from_secs(11), |_, _, _, _| closed += 1);
    assert_eq!((h.r.len(), closed), (0, 1));
    assert_eq!(h.r.stats().flows_expired, 1);
}
