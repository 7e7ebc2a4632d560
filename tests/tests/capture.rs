//! The capture ring against the kernel: the `sec_agent_capture` socket filter and a ring of
//! each version on a lab veth, a 1 MiB TCP transfer the kernel sends as GSO aggregates far
//! larger than a TPACKET_V2 slot, and every byte of it captured, unaltered.

use std::{
    io::{Read as _, Write as _},
    net::{IpAddr, SocketAddr},
    thread,
    time::{Duration, Instant},
};

use aya::programs::SocketFilter;
use sec_agent::{
    CAPTURE_PROGRAM,
    config::Config,
    inspect::decode::{TcpFlags, decode},
    kernel::{
        capture::{CaptureConfig, PacketRing, RingVersion},
        loader,
    },
};
use sec_agent_tests::{
    Lab, kernel_test,
    lab::{CLIENT_V4, SERVER_V4},
    traffic::{in_netns, tcp_listener, tcp_stream},
};

const PORT: u16 = 8080;
const BYTES: usize = 1 << 20;

/// The byte at `offset` of the transfer: not periodic at any segment size.
fn pattern(offset: usize) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn transfer_captured_whole(version: RingVersion) {
    let lab = Lab::new();
    std::fs::create_dir_all(&lab.pin_path).expect("pin directory");
    let mut loaded = loader::load(&Config::default(), &lab.pin_path).expect("load the object");
    loaded
        .maps
        .set_http_ports(&[PORT])
        .expect("set the HTTP ports");
    let filter: &mut SocketFilter = loaded
        .ebpf
        .program_mut(CAPTURE_PROGRAM)
        .expect("capture program")
        .try_into()
        .expect("a socket filter");
    filter.load().expect("load the capture filter");
    let filter = &*filter;
    let config = CaptureConfig {
        ring_version: version,
        ..CaptureConfig::default()
    };
    let mut ring = in_netns(&lab.server_ns, || {
        PacketRing::open(&lab.server_if, &config, filter)
    })
    .expect("open the ring");

    // The server writes 1 MiB in one go, so TCP hands the veth 64 KiB GSO aggregates.
    let listener = tcp_listener(&lab.server_ns, &format!("{SERVER_V4}:{PORT}"));
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("accept");
        let data: Vec<u8> = (0..BYTES).map(pattern).collect();
        conn.write_all(&data).expect("send the transfer");
    });
    let mut client = tcp_stream(&lab.client_ns, CLIENT_V4, &format!("{SERVER_V4}:{PORT}"));
    let mut received = Vec::with_capacity(BYTES);
    client.read_to_end(&mut received).expect("receive");
    server.join().expect("server thread");
    assert_eq!(received.len(), BYTES, "the transfer itself");

    let server_addr = SocketAddr::new(SERVER_V4.parse::<IpAddr>().unwrap(), PORT);
    let mut isn = None;
    let mut covered = vec![false; BYTES];
    let mut missing = BYTES;
    let mut largest = 0;
    // A V3 block reaches user space when its retire timer fires (1 ms), so drain until the
    // whole transfer is in, for a bounded time. The ring keeps arrival order: the SYN-ACK
    // comes before any data.
    let deadline = Instant::now() + Duration::from_secs(2);
    while missing > 0 && Instant::now() < deadline {
        ring.drain(|frame, _| {
            largest = largest.max(frame.len());
            let seg = decode(frame).expect("a TCP segment");
            if seg.src != server_addr {
                return;
            }
            if seg.flags.has(TcpFlags::SYN) {
                isn = Some(seg.seq);
                return;
            }
            let isn = isn.expect("the server's SYN-ACK is captured before its data");
            let start = seg.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
            for (i, &b) in seg.payload.iter().enumerate() {
                assert_eq!(b, pattern(start + i), "byte {} as captured", start + i);
                if !std::mem::replace(&mut covered[start + i], true) {
                    missing -= 1;
                }
            }
        });
        thread::sleep(Duration::from_millis(5));
    }
    let stats = ring.stats();
    assert_eq!(missing, 0, "bytes never captured; ring {stats:?}");
    assert_eq!(stats.drops, 0, "ring drops");
    assert_eq!(stats.truncated, 0, "frames cut short");
    assert!(
        largest > 16 << 10,
        "no GSO aggregate seen (largest frame {largest})"
    );
    match version {
        RingVersion::V2 => assert!(stats.copied > 0, "aggregates took the copy path"),
        RingVersion::V3 => assert_eq!(stats.copied, 0),
    }
}

kernel_test!(
    v2_ring_captures_gso_aggregates_whole_through_the_copy_path,
    { transfer_captured_whole(RingVersion::V2) }
);

kernel_test!(v3_ring_captures_gso_aggregates_whole, {
    transfer_captured_whole(RingVersion::V3)
});
