//! End-to-end inspection: wrk (Debian's package) loads a keep-alive HTTP server in the
//! lab's server namespace while the real agent inspects the server veth; the agent's own
//! metrics give the inspected requests and the capture ring's drops, procfs its CPU time
//! and resident memory.

use std::{fmt::Write as _, time::Instant};

use anyhow::{Result, bail};
use sec_agent_tests::lab::SERVER_V4;

use crate::{
    agent::{cpu_seconds, rss_mib},
    server::Responder,
    stats,
};

const RUNS: usize = 3;
const SECONDS: u32 = 5;
/// wrk connections (one thread): enough to keep one core's worth of server busy.
const CONNECTIONS: u32 = 32;

pub fn e2e(out: &mut String) -> Result<()> {
    let _ = writeln!(out, "## End-to-end inspection under wrk\n");
    if sec_agent_tests::which("wrk").is_none() {
        let _ = writeln!(out, "Skipped: `wrk` is not installed.\n");
        return Ok(());
    }
    let v2 = runs(2)?;
    let v3 = runs(3)?;
    let _ = writeln!(
        out,
        "`wrk -t1 -c{CONNECTIONS} -d{SECONDS}s` (with a browser User-Agent) from the client namespace against a keep-alive responder in the server namespace (same 2-CPU machine: load generator, server and agent share it); {RUNS} runs per capture ring version. The agent runs its release build with the default config, except for `[capture] ring_version` and a request-flood threshold out of reach (the detection still counts every request) so that it does not ban the load generator.\n"
    );
    let _ = writeln!(
        out,
        "| `ring_version` | run | wrk requests/s | inspected requests/s | capture ring drops | agent CPU | agent RSS |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (name, rows) in [("2 (default)", &v2), ("3", &v3)] {
        for (i, (w, ins, d, cpu, rss)) in rows.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {name} | {} | {w:.0} | {ins:.0} | {d:.0} | {cpu:.0}% | {rss:.1} MiB |",
                i + 1
            );
        }
    }
    let total_drops: f64 = v2.iter().map(|r| r.2).sum();
    let inspected = stats(v2.iter().map(|r| r.1).collect()).1;
    let met = if total_drops == 0.0 && inspected >= 50_000.0 {
        "met"
    } else if total_drops == 0.0 {
        "not shown: no drops, but this machine's load generator peaked below 50,000/s"
    } else {
        "not met"
    };
    let _ = writeln!(
        out,
        "\nTarget: zero capture drops at 50,000 inspected requests per second: median {inspected:.0}/s, {total_drops:.0} drops (default ring), **{met}**.\n"
    );
    let _ = writeln!(
        out,
        "The default TPACKET_V2 ring wakes the agent for every frame (in batches 100 us apart under load), which costs more agent CPU than TPACKET_V3's block-at-a-time reads and buys the lower ban latency of the next section.\n"
    );
    Ok(())
}

/// wrk requests/s, inspected requests/s, capture drops, agent CPU %, agent RSS MiB.
type Row = (f64, f64, f64, f64, f64);

/// [`RUNS`] wrk runs against an agent with the given capture ring version.
fn runs(ring_version: u8) -> Result<Vec<Row>> {
    let lab = sec_agent_tests::Lab::new();
    // One load generator is a request flood by any threshold: lift the threshold out of
    // reach (the detection still counts every request) instead of banning the generator.
    let config = lab.config(&format!(
        "[capture]\nring_version = {ring_version}\n\n[detections.request_flood]\nthreshold = 1000000000\n"
    ));
    let agent = lab.start_agent(&["--config", &config]);
    let _server = Responder::start(&lab.server_ns, "0.0.0.0:8080");
    let pid = agent.pid();
    let mut rows = Vec::new();
    for _ in 0..RUNS {
        let before = lab.metrics()?;
        let inspected0 = before.total("sec_agent_http_requests_inspected_total");
        let drops0 = before.total("sec_agent_capture_ring_drops_total");
        let cpu0 = cpu_seconds(pid)?;
        let t = Instant::now();
        let o = lab
            .in_ns(&lab.client_ns, "wrk")
            .args([
                "-t1",
                &format!("-c{CONNECTIONS}"),
                &format!("-d{SECONDS}s"),
                // wrk sends no User-Agent, which the agent reports (monitor mode) on every
                // request; a browser's header makes the load look like real traffic.
                "-H",
                "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                &format!("http://{SERVER_V4}:8080/api/items?id=42&sort=name"),
            ])
            .output()?;
        let secs = t.elapsed().as_secs_f64();
        if !o.status.success() || o.stdout.is_empty() {
            bail!(
                "wrk: {}{}; XDP verdicts: {:?}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr),
                lab.stats()
            );
        }
        let text = String::from_utf8_lossy(&o.stdout);
        let wrk_rate: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0);
        // Let the agent finish the last ring blocks before reading its counters.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let after = lab.metrics()?;
        let inspected = after.total("sec_agent_http_requests_inspected_total") - inspected0;
        let drops = after.total("sec_agent_capture_ring_drops_total") - drops0;
        let cpu = (cpu_seconds(pid)? - cpu0) / secs * 100.0;
        rows.push((wrk_rate, inspected / secs, drops, cpu, rss_mib(pid)?));
    }
    Ok(rows)
}
