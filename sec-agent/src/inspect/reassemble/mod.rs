//! Reassemble: TCP segments in, in-order byte streams out, per flow and direction.
//!
//! A flow is the connection between a client and a server (the side whose port is an HTTP
//! port), keyed by both endpoints, so the 5-tuple with TCP implied. Each direction has its
//! own stream: payload at the expected sequence number is delivered at once; payload ahead
//! of it is buffered until the hole is filled; payload behind it (retransmission) is
//! dropped, and where it overlaps new data only the new part is delivered (first copy wins,
//! as in the stack that will read it).
//!
//! Memory is bounded: at most `max_flows` flows (least recently active evicted), at most
//! `max_flow_buffer` out-of-order bytes per stream and `max_total_buffer` in all. When a cap
//! is hit the buffered bytes are given up, the stream jumps to the new data, the consumer is
//! told with [`StreamEvent::Gap`], and the hit is counted. Flows end on RST, on FIN in both
//! directions, or after `idle_timeout` without segments.

use std::{
    net::{IpAddr, Ipv6Addr, SocketAddr},
    time::{Duration, Instant},
};

use crate::{
    inspect::decode::{Segment, TcpFlags},
    lru_table::LruTable,
};

/// A flow: client and server endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The endpoint that connected (the source of requests).
    pub client: SocketAddr,
    /// The endpoint on an HTTP port.
    pub server: SocketAddr,
}

/// Which way bytes travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server: requests.
    ToServer,
    /// Server to client: responses.
    ToClient,
}

/// What a stream tells its consumer.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// The next in-order bytes.
    Data(&'a [u8]),
    /// Bytes are missing before the next `Data` (cap hit): parsing must resynchronise.
    Gap,
    /// The flow ended (FIN both ways, RST, idle timeout or eviction); no more events.
    Closed,
}

/// `[reassembly]`: caps and timeouts.
#[derive(Clone, Copy, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReassemblyConfig {
    /// Flows tracked at once; the least recently active is evicted beyond it.
    pub max_flows: usize,
    /// Out-of-order bytes buffered per stream.
    pub max_flow_buffer: usize,
    /// Out-of-order bytes buffered in all streams together.
    pub max_total_buffer: usize,
    /// A flow without segments for this long is dropped.
    #[serde(deserialize_with = "crate::de::duration")]
    pub idle_timeout: Duration,
}

impl Default for ReassemblyConfig {
    /// 65,536 flows, 256 KiB per stream, 64 MiB in all, 120 s idle.
    fn default() -> Self {
        ReassemblyConfig {
            max_flows: 65_536,
            max_flow_buffer: 256 << 10,
            max_total_buffer: 64 << 20,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Counters (monotonic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments accepted into a flow.
    pub segments: u64,
    /// Payload bytes delivered in order.
    pub bytes: u64,
    /// Segments entirely behind the stream (retransmissions).
    pub retransmissions: u64,
    /// Segments partly behind the stream (overlaps, trimmed).
    pub overlaps: u64,
    /// Segments buffered because they arrived ahead of a hole.
    pub out_of_order: u64,
    /// Flows created.
    pub flows_opened: u64,
    /// Flows ended by FIN or RST.
    pub flows_closed: u64,
    /// Flows dropped after the idle timeout.
    pub flows_expired: u64,
    /// Flows evicted because `max_flows` was reached.
    pub flows_evicted: u64,
    /// Times a per-stream buffer cap was hit.
    pub flow_buffer_caps: u64,
    /// Times the total buffer cap was hit.
    pub total_buffer_caps: u64,
}

/// One direction of a flow: 12 bytes (two `Option<u32>` would take 16).
#[derive(Debug, Default)]
struct Stream {
    /// See [`Stream::next_seq`].
    next: u32,
    /// See [`Stream::fin_seq`].
    fin: u32,
    /// Bit 0: `next` is known; bit 1: `fin` is.
    known: u8,
}

impl Stream {
    /// Sequence number of the next byte to deliver; unknown until the first segment.
    fn next_seq(&self) -> Option<u32> {
        (self.known & 1 != 0).then_some(self.next)
    }

    fn set_next_seq(&mut self, seq: u32) {
        self.next = seq;
        self.known |= 1;
    }

    /// Sequence number just past the FIN, once seen.
    fn fin_seq(&self) -> Option<u32> {
        (self.known & 2 != 0).then_some(self.fin)
    }

    fn set_fin_seq(&mut self, seq: u32) {
        self.fin = seq;
        self.known |= 2;
    }

    /// Whether every byte up to the FIN was delivered.
    fn finished(&self) -> bool {
        matches!((self.next_seq(), self.fin_seq()), (Some(n), Some(f)) if n == f)
    }
}

/// Out-of-order segments of both streams (by [`Direction`]), only while there are some:
/// most streams arrive in order, and every idle flow would carry the room.
type Pending = Option<Box<[OutOfOrder; 2]>>;

/// Out-of-order bytes buffered in one direction.
fn buffered(pending: &Pending, direction: usize) -> usize {
    pending.as_ref().map_or(0, |p| p[direction].buffered)
}

/// Drops the out-of-order segments of one direction, and the room when none are left.
fn clear_pending(pending: &mut Pending, direction: usize) {
    if let Some(p) = pending {
        p[direction] = OutOfOrder::default();
        if p.iter().all(|o| o.segments.is_empty()) {
            *pending = None;
        }
    }
}

/// Segments waiting for a hole to fill.
#[derive(Debug, Default)]
struct OutOfOrder {
    /// (sequence number, bytes).
    segments: Vec<(u32, Vec<u8>)>,
    /// Bytes in `segments`.
    buffered: usize,
}

/// A tracked flow with its consumer state.
#[derive(Debug)]
struct Flow<A> {
    streams: [Stream; 2],
    pending: Pending,
    /// Nanoseconds from the table's epoch (see [`Reassembler::ticks`]): 8 bytes, not 16.
    last_seen: u64,
    app: A,
}

/// A [`FlowKey`] as the table stores it: 38 bytes instead of 64 (a `SocketAddr` is 32),
/// for every one of `max_flows` slots. Addresses are kept as IPv6 with a flag for IPv4;
/// IPv6 flow labels and scope ids are not part of a flow's identity (decoded segments
/// carry none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PackedKey {
    client: [u8; 16],
    server: [u8; 16],
    client_port: u16,
    server_port: u16,
    /// Bit 0: the client is IPv4; bit 1: the server is.
    v4: u8,
}

impl PackedKey {
    fn pack(key: &FlowKey) -> PackedKey {
        let ip = |a: &SocketAddr| match a.ip() {
            IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), 1u8),
            IpAddr::V6(v6) => (v6.octets(), 0),
        };
        let ((client, c4), (server, s4)) = (ip(&key.client), ip(&key.server));
        PackedKey {
            client,
            server,
            client_port: key.client.port(),
            server_port: key.server.port(),
            v4: c4 | s4 << 1,
        }
    }

    fn unpack(&self) -> FlowKey {
        let ip = |octets: [u8; 16], v4: bool| {
            let v6 = Ipv6Addr::from(octets);
            match v6.to_ipv4_mapped() {
                Some(a) if v4 => IpAddr::V4(a),
                _ => IpAddr::V6(v6),
            }
        };
        FlowKey {
            client: SocketAddr::new(ip(self.client, self.v4 & 1 != 0), self.client_port),
            server: SocketAddr::new(ip(self.server, self.v4 & 2 != 0), self.server_port),
        }
    }
}

/// The flow table. `A` is the consumer's per-flow state (the HTTP parser), created with
/// `Default` and dropped with the flow.
pub struct Reassembler<A> {
    /// Fixed memory for `max_flows` flows, however many pass through.
    flows: LruTable<PackedKey, Flow<A>>,
    /// The first instant seen, from which `last_seen` counts.
    epoch: Option<Instant>,
    config: ReassemblyConfig,
    total_buffered: usize,
    stats: ReassemblyStats,
}

/// Signed distance from `b` to `a` in sequence space (RFC 1982 serial arithmetic).
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl<A: Default> Reassembler<A> {
    /// An empty table.
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            flows: LruTable::new(config.max_flows),
            epoch: None,
            config,
            total_buffered: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Flows tracked now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether no flow is tracked.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Out-of-order bytes buffered now, all flows together.
    #[cfg(test)]
    pub fn buffered(&self) -> usize {
        self.total_buffered
    }

    /// Feeds one segment. `direction` says which way it goes (the caller knows the HTTP
    /// ports); `on_event` receives the stream events it causes, with the flow's state.
    pub fn push(
        &mut self,
        segment: &Segment<'_>,
        direction: Direction,
        now: Instant,
        mut on_event: impl FnMut(&FlowKey, Direction, StreamEvent<'_>, &mut A),
    ) {
        let key = match direction {
            Direction::ToServer => FlowKey {
                client: segment.src,
                server: segment.dst,
            },
            Direction::ToClient => FlowKey {
                client: segment.dst,
                server: segment.src,
            },
        };
        let flags = segment.flags;
        let now = self.ticks(now);
        let packed = PackedKey::pack(&key);
        if !self.flows.contains(&packed) {
            if flags.has(TcpFlags::RST) || (segment.payload.is_empty() && !flags.has(TcpFlags::SYN))
            {
                return; // Nothing to track: a stray control segment.
            }
            let flow = Flow {
                streams: [Stream::default(), Stream::default()],
                pending: None,
                last_seen: now,
                app: A::default(),
            };
            if let Some((old_key, mut old)) = self.flows.insert(packed, flow)
                && old_key != packed
            {
                self.stats.flows_evicted += 1;
                self.release(&old);
                on_event(
                    &old_key.unpack(),
                    Direction::ToServer,
                    StreamEvent::Closed,
                    &mut old.app,
                );
            }
            self.stats.flows_opened += 1;
        }
        self.stats.segments += 1;
        let config = self.config;
        let flow = self.flows.get_mut(&packed).expect("present");
        flow.last_seen = now;
        if flags.has(TcpFlags::RST) {
            let mut flow = self.flows.remove(&packed).expect("present");
            self.stats.flows_closed += 1;
            self.release(&flow);
            on_event(&key, direction, StreamEvent::Closed, &mut flow.app);
            return;
        }
        let stream = &mut flow.streams[direction as usize];
        let mut seq = segment.seq;
        if flags.has(TcpFlags::SYN) {
            seq = seq.wrapping_add(1); // SYN takes one sequence number.
            if stream.next_seq().is_none() {
                stream.set_next_seq(seq);
            }
        }
        let next = match stream.next_seq() {
            Some(next) => next,
            None => {
                stream.set_next_seq(seq);
                seq
            }
        };
        if flags.has(TcpFlags::FIN) {
            stream.set_fin_seq(seq.wrapping_add(segment.payload.len() as u32));
        }
        let app = &mut flow.app;
        let mut emit = |event: StreamEvent<'_>, app: &mut A| on_event(&key, direction, event, app);
        let offset = seq_diff(seq, next);
        let len = segment.payload.len();
        if offset <= 0 {
            let skip = offset.unsigned_abs() as usize;
            if skip >= len {
                if len > 0 {
                    self.stats.retransmissions += 1;
                }
            } else {
                if skip > 0 {
                    self.stats.overlaps += 1;
                }
                let data = &segment.payload[skip..];
                stream.set_next_seq(next.wrapping_add(data.len() as u32));
                self.stats.bytes += data.len() as u64;
                emit(StreamEvent::Data(data), app);
                let freed = drain_pending(
                    stream,
                    &mut flow.pending,
                    direction as usize,
                    &mut self.stats,
                    &mut |d| emit(StreamEvent::Data(d), app),
                );
                self.total_buffered -= freed;
            }
        } else if len > 0 {
            self.stats.out_of_order += 1;
            let over_flow =
                buffered(&flow.pending, direction as usize) + len > config.max_flow_buffer;
            let over_total = self.total_buffered + len > config.max_total_buffer;
            if over_flow || over_total {
                if over_flow {
                    self.stats.flow_buffer_caps += 1;
                } else {
                    self.stats.total_buffer_caps += 1;
                }
                // Give up the hole: drop what was waiting and continue from this segment.
                self.total_buffered -= buffered(&flow.pending, direction as usize);
                clear_pending(&mut flow.pending, direction as usize);
                stream.set_next_seq(seq.wrapping_add(len as u32));
                self.stats.bytes += len as u64;
                emit(StreamEvent::Gap, app);
                emit(StreamEvent::Data(segment.payload), app);
            } else {
                let pending =
                    &mut flow.pending.get_or_insert_with(Box::default)[direction as usize];
                pending.segments.push((seq, segment.payload.to_vec()));
                pending.buffered += len;
                self.total_buffered += len;
            }
        }
        let done = flow.streams.iter().all(Stream::finished);
        if done {
            let mut flow = self.flows.remove(&packed).expect("present");
            self.stats.flows_closed += 1;
            self.release(&flow);
            on_event(&key, direction, StreamEvent::Closed, &mut flow.app);
        }
    }

    /// Drops flows idle for longer than the idle timeout at `now`, telling the consumer.
    pub fn expire(
        &mut self,
        now: Instant,
        mut on_event: impl FnMut(&FlowKey, Direction, StreamEvent<'_>, &mut A),
    ) {
        let now = self.ticks(now);
        while let Some((_, flow)) = self.flows.peek_lru() {
            if Duration::from_nanos(now.saturating_sub(flow.last_seen)) < self.config.idle_timeout {
                break;
            }
            let (key, mut flow) = self.flows.pop_lru().expect("peeked");
            self.stats.flows_expired += 1;
            self.release(&flow);
            on_event(
                &key.unpack(),
                Direction::ToServer,
                StreamEvent::Closed,
                &mut flow.app,
            );
        }
    }

    /// `now` as nanoseconds from the first instant seen (earlier instants count as that
    /// one).
    fn ticks(&mut self, now: Instant) -> u64 {
        let epoch = *self.epoch.get_or_insert(now);
        u64::try_from(now.saturating_duration_since(epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    fn release(&mut self, flow: &Flow<A>) {
        self.total_buffered -= buffered(&flow.pending, 0) + buffered(&flow.pending, 1);
    }
}

/// Delivers buffered segments that the stream has reached; returns the bytes freed.
fn drain_pending(
    stream: &mut Stream,
    all: &mut Pending,
    direction: usize,
    stats: &mut ReassemblyStats,
    deliver: &mut dyn FnMut(&[u8]),
) -> usize {
    let mut freed = 0;
    let Some(both) = all else {
        return 0;
    };
    let pending = &mut both[direction];
    loop {
        let next = stream.next_seq().expect("set before draining");
        let Some(i) = pending
            .segments
            .iter()
            .position(|(seq, _)| seq_diff(*seq, next) <= 0)
        else {
            if pending.segments.is_empty() {
                clear_pending(all, direction);
            }
            return freed;
        };
        let (seq, data) = pending.segments.swap_remove(i);
        pending.buffered -= data.len();
        freed += data.len();
        let skip = seq_diff(next, seq) as usize;
        if skip < data.len() {
            if skip > 0 {
                stats.overlaps += 1;
            }
            let tail = &data[skip..];
            stream.set_next_seq(next.wrapping_add(tail.len() as u32));
            stats.bytes += tail.len() as u64;
            deliver(tail);
        } else {
            stats.retransmissions += 1;
        }
    }
}

#[cfg(test)]
mod tests;
