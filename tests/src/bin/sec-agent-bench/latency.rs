//! Ban latency: from the attack request leaving the attacker to the first packet of that
//! source dropped by XDP, with the real agent inspecting the lab's server veth.
//!
//! Each trial uses its own attacker address, so trials share no per-source state. The
//! attacker opens a connection to the server, then at t0 writes one SQL injection request
//! and right after sends numbered UDP probes to a receiver in the server namespace, a few
//! tens of microseconds apart. The first probe that never arrives, after which none
//! arrives, is the first packet XDP dropped; its send time after t0 is the latency, to
//! within one probe gap.

use std::{
    fmt::Write as _,
    io::Write as _,
    net::UdpSocket,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use sec_agent_common::Verdict;
use sec_agent_tests::{
    Lab,
    lab::SERVER_V4,
    traffic::{tcp_stream, udp_socket},
};

use crate::{server::Responder, stats};

/// Trials, one attacker address each.
pub const TRIALS: u8 = 200;
/// Probe gap; the real gap is longer by the send and wake-up time.
const PROBE_GAP: Duration = Duration::from_micros(20);
/// A trial gives up after this long without a drop.
const TRIAL_LIMIT: Duration = Duration::from_millis(200);
const PROBE_PORT: u16 = 9999;
const HTTP: &str = "10.200.0.2:8080";
const ATTACK: &[u8] =
    b"GET /item?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: shop\r\nUser-Agent: Mozilla/5.0\r\n\r\n";

pub fn latency(out: &mut String) -> Result<()> {
    let _ = writeln!(out, "## Ban latency (attack request to first XDP drop)\n");
    // Sleeps of tens of microseconds need a small timer slack (default 50 us).
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    let lab = Lab::new();
    let clients = lab.add_clients(TRIALS);
    let _agent = lab.start_agent(&[]);
    let _server = Responder::start(&lab.server_ns, &format!("0.0.0.0:{}", 8080));
    let receiver = udp_socket(&lab.server_ns, &format!("{SERVER_V4}:{PROBE_PORT}"));
    // Highest probe number seen in the current trial, plus one (0 = none yet).
    let seen = Arc::new(AtomicU32::new(0));
    let trial_no = Arc::new(AtomicU32::new(u32::MAX));
    {
        let (seen, trial_no) = (Arc::clone(&seen), Arc::clone(&trial_no));
        let receiver = receiver.try_clone()?;
        thread::spawn(move || receive(&receiver, &seen, &trial_no));
    }
    let drops_before = lab.packets(Verdict::DropBanned);
    let mut latencies = Vec::new();
    let mut gaps = Vec::new();
    let mut timeouts = 0;
    for (i, (src, _)) in clients.iter().enumerate() {
        let probe = udp_socket(&lab.client_ns, &format!("{src}:0"));
        probe.connect(format!("{SERVER_V4}:{PROBE_PORT}"))?;
        let mut conn = tcp_stream(&lab.client_ns, src, HTTP);
        seen.store(0, Ordering::SeqCst);
        trial_no.store(i as u32, Ordering::SeqCst);
        // One probe before the attack: the path is open and the receiver is on this trial.
        send_probe(&probe, i as u32, u32::MAX)?;
        let warm = Instant::now();
        while seen.load(Ordering::SeqCst) == 0 {
            if warm.elapsed() > Duration::from_secs(1) {
                bail!("trial {i}: the warm-up probe from {src} never arrived");
            }
            thread::sleep(Duration::from_micros(50));
        }
        seen.store(0, Ordering::SeqCst);
        let mut sent_at = Vec::with_capacity(4096);
        let t0 = Instant::now();
        conn.write_all(ATTACK)?;
        let mut seq = 0u32;
        loop {
            let at = t0.elapsed();
            send_probe(&probe, i as u32, seq)?;
            sent_at.push(at);
            seq += 1;
            // Stop once the receiver has missed the last 1 ms of probes.
            let missing = seen.load(Ordering::SeqCst) as usize;
            if missing < sent_at.len() && sent_at[missing] + Duration::from_millis(1) < at {
                break;
            }
            if at > TRIAL_LIMIT {
                break;
            }
            thread::sleep(PROBE_GAP);
        }
        // Probes in flight land within microseconds on a veth.
        thread::sleep(Duration::from_millis(2));
        let first_dropped = seen.load(Ordering::SeqCst) as usize;
        if first_dropped >= sent_at.len() {
            eprintln!("latency trial {i} ({src}): no drop within {TRIAL_LIMIT:?}");
            timeouts += 1;
        } else {
            latencies.push(sent_at[first_dropped].as_secs_f64() * 1e6);
            if first_dropped > 0 {
                gaps.push(
                    (sent_at[first_dropped] - sent_at[first_dropped - 1]).as_secs_f64() * 1e6,
                );
            }
        }
    }
    let dropped = lab.packets(Verdict::DropBanned) - drops_before;
    if latencies.is_empty() {
        bail!("no trial saw a drop ({timeouts} timeouts)");
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let gap = if gaps.is_empty() { 0.0 } else { stats(gaps).1 };
    let _ = writeln!(
        out,
        "{TRIALS} trials, one attacker address each; the real agent (release build, default config) inspects the server veth. Probe gap: median {gap:.0} us (the resolution). XDP `drop_banned` counted {dropped} probes across the trials.\n"
    );
    let _ = writeln!(
        out,
        "| trials with a drop | p50 | p99 | max | no drop within {} ms |",
        TRIAL_LIMIT.as_millis()
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let _ = writeln!(
        out,
        "| {} | {:.0} us | {:.0} us | {:.0} us | {timeouts} |",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
    let p99 = pct(0.99);
    let met = if p99 < 1000.0 && timeouts == 0 {
        "met"
    } else {
        "not met"
    };
    let _ = writeln!(out, "\nTarget: p99 under 1 ms: {p99:.0} us, **{met}**.\n");
    let _ = writeln!(
        out,
        "What sets the figure: the agent reads the TPACKET_V3 capture ring a block at a time, and under light traffic the kernel hands a block over when its retire timer fires, 1 ms after the block's first frame (the smallest timeout the ring takes). A request therefore waits between 0 and 1 ms before the agent sees it; parsing, detection and the ban map update add tens of microseconds, and a busy 2-CPU machine adds scheduling delay to the tail. A per-frame ring (TPACKET_V2) would wake the agent on every frame, but its fixed slots cannot hold the 64 KiB frames GRO builds.\n"
    );
    Ok(())
}

fn send_probe(sock: &UdpSocket, trial: u32, seq: u32) -> Result<()> {
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&trial.to_be_bytes());
    msg[4..].copy_from_slice(&seq.to_be_bytes());
    sock.send(&msg)?;
    Ok(())
}

/// Records, for the current trial, one past the highest probe number received (the
/// warm-up probe, `u32::MAX`, counts as 1).
fn receive(sock: &UdpSocket, seen: &AtomicU32, trial_no: &AtomicU32) {
    let mut buf = [0u8; 64];
    loop {
        let Ok(n) = sock.recv(&mut buf) else {
            continue;
        };
        if n < 8 {
            continue;
        }
        let trial = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
        let seq = u32::from_be_bytes(buf[4..8].try_into().expect("4 bytes"));
        if trial != trial_no.load(Ordering::SeqCst) {
            continue;
        }
        let next = if seq == u32::MAX { 1 } else { seq + 1 };
        seen.fetch_max(next, Ordering::SeqCst);
    }
}
