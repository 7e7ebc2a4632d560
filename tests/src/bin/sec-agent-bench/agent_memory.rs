//! Resident memory of the running agent as it tracks more and more sources: one request
//! each from 10,000, then 100,000, then 1,000,000 distinct addresses, written as raw TCP
//! segments on the client veth (addresses from 10.64.0.0/10, which exist only inside the
//! lab's namespaces), after 10,000 concurrent flows that each hold a partial request.
//! The sender waits for the agent to inspect each chunk, so the capture ring does not
//! overflow and every source reaches the per-source state.

use std::{fmt::Write as _, net::Ipv4Addr, thread, time::Duration};

use anyhow::Result;
use sec_agent_tests::{
    Lab,
    frames::{ETH_P_IP, Ipv4, Macs, TCP, eth_from, tcp},
    lab::SERVER_V4,
    poll_until,
};

use crate::{agent::rss_mib, packets::RawSender};

const CHUNK: u32 = 20_000;
const FIRST_SOURCE: u32 = 0x0a40_0000; // 10.64.0.0

pub fn agent_memory(out: &mut String) -> Result<()> {
    let _ = writeln!(out, "## Memory of the running agent\n");
    let lab = Lab::new();
    let agent = lab.start_agent(&[]);
    let pid = agent.pid();
    thread::sleep(Duration::from_millis(300));
    let idle = rss_mib(pid)?;
    let macs = Macs::of_lab(&lab)?;
    let server: Ipv4Addr = SERVER_V4.parse()?;
    // A TCP segment the agent captures and the server's stack takes (the IPv4 checksum is
    // right) and then discards (the TCP checksum is zero).
    let frame = |src: Ipv4Addr, src_port: u16, payload: &[u8]| {
        let ip = Ipv4 {
            dst: server,
            checksum: true,
            ..Ipv4::new(src, TCP)
        };
        eth_from(
            macs,
            &[],
            ETH_P_IP,
            &ip.packet(&tcp(src_port, 8080, 1, payload)),
        )
    };
    let sender = RawSender::open(&lab)?;
    let metric = |name: &str| -> Result<f64> { Ok(lab.metrics()?.total(name)) };
    let inspected = || metric("sec_agent_http_requests_inspected_total");

    // 10,000 concurrent flows from one address, each with a partial upload.
    let partial =
        b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789";
    let flows: Vec<Vec<u8>> = (0..10_000u16)
        .map(|i| frame(Ipv4Addr::new(10, 200, 0, 1), 20_000 + i, partial))
        .collect();
    sender.send_all(&flows)?;
    wait_for(|| Ok(metric("sec_agent_flows_tracked")? >= 9_000.0))?;
    let with_flows = rss_mib(pid)?;
    let flows_tracked = metric("sec_agent_flows_tracked")?;

    let request = b"GET /products?page=2 HTTP/1.1\r\nHost: shop\r\nUser-Agent: Mozilla/5.0\r\n\r\n";
    let mut sent = 0u32;
    let mut rows = Vec::new();
    let base = inspected()?;
    for target in [10_000u32, 100_000, 1_000_000] {
        while sent < target {
            let n = CHUNK.min(target - sent);
            let frames: Vec<Vec<u8>> = (sent..sent + n)
                .map(|i| frame(Ipv4Addr::from(FIRST_SOURCE + i), 40_000, request))
                .collect();
            sender.send_all(&frames)?;
            sent += n;
            let want = base + f64::from(sent) * 0.99;
            wait_for(|| Ok(inspected()? >= want))?;
        }
        rows.push((target, rss_mib(pid)?, inspected()? - base));
    }
    let drops = metric("sec_agent_capture_ring_drops_total")?;
    let _ = writeln!(
        out,
        "The real agent (release build, default config: `max_sources` 100,000, `max_flows` 65,536, a 16 MiB capture ring that is resident from the start). Sources are fed in chunks of {CHUNK}; the capture ring dropped {drops:.0} frames.\n"
    );
    let _ = writeln!(out, "| state | agent RSS | inspected requests |");
    let _ = writeln!(out, "|---|---|---|");
    let _ = writeln!(out, "| idle, just started | {idle:.1} MiB | 0 |");
    let _ = writeln!(
        out,
        "| + 10,000 concurrent flows with a partial request ({flows_tracked:.0} tracked) | {with_flows:.1} MiB | |"
    );
    for (target, rss, n) in &rows {
        let _ = writeln!(
            out,
            "| + {target} sources, one request each | {rss:.1} MiB | {n:.0} |"
        );
    }
    let at_100k = rows[1].1;
    let at_1m = rows[2].1;
    // A figure counts only when the agent inspected (nearly) every source it was fed.
    let fed = |i: usize| rows[i].2 >= f64::from(rows[i].0) * 0.99;
    let met = match (fed(1), at_100k <= 64.0) {
        (false, _) => "not shown: the agent inspected fewer sources than it was fed",
        (true, true) => "met",
        (true, false) => "not met",
    };
    let flat = match (fed(2), at_1m <= at_100k * 1.1 + 1.0) {
        (false, _) => "not shown",
        (true, true) => "yes",
        (true, false) => "no",
    };
    let _ = writeln!(
        out,
        "\nTarget: RSS at most 64 MiB with 100,000 tracked sources: {at_100k:.1} MiB, **{met}**; flat once the caps are reached (1M sources: {at_1m:.1} MiB): **{flat}**.\n"
    );
    Ok(())
}

/// Waits (with the harness's [`poll_until`]) at most 10 s for `done`; a stalled agent ends
/// the wait, not the bench: the figures then show fewer inspected requests. An error from
/// `done` (a failed scrape) ends the bench.
fn wait_for(mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let outcome = poll_until(Duration::from_secs(10), || match done() {
        Ok(false) => None,
        Ok(true) => Some(Ok(())),
        Err(e) => Some(Err(e)),
    });
    outcome.unwrap_or(Ok(()))
}
