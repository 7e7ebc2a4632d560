//! Memory of the user-space per-source and per-flow state.

use std::{fmt::Write as _, net::IpAddr, time::Instant};

use anyhow::Result;
use sec_agent::{
    config::Config,
    inspect::decide::MemoryEnforcer,
    inspect::detect::Inspector,
    inspect::parse::{HttpFlow, Limits},
    inspect::reassemble::Direction,
};

use sec_agent::testing::parse;

/// Resident set size of this process, in MiB.
fn rss_mib() -> f64 {
    crate::agent::rss_mib(std::process::id()).unwrap_or(0.0)
}

/// Per-source and per-flow state of the user-space pipeline, grown source by source:
/// the detections (flood and enumeration windows), the decider's offender history and the
/// per-source log, all capped by `[detections] max_sources` (default 100,000); and 10,000
/// concurrent flows with a partial request each in the reassembler.
pub fn memory(out: &mut String) -> Result<()> {
    use sec_agent::{
        inspect::decide::Decider,
        inspect::decode::{Segment, TcpFlags},
        inspect::reassemble::{Reassembler, ReassemblyConfig},
        service::source_log::SourceLog,
    };
    let config = Config::default();
    let mut inspector = Inspector::new(&config.detections)?;
    let mut enforcer = MemoryEnforcer::default();
    let mut decider = Decider::new(config.detections.clone(), config.decide.clone());
    let sources = SourceLog::new(config.detections.max_sources);
    let msg = parse(b"GET /missing HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n\r\n");
    let base = rss_mib();
    let _ = writeln!(
        out,
        "## Memory (RSS of the user-space state, one process)\n"
    );
    let _ = writeln!(
        out,
        "Detections, decider and per-source log fed one request and one 404 per source; `max_sources` = {}.\n",
        config.detections.max_sources
    );
    let _ = writeln!(out, "| tracked sources fed | RSS above baseline |");
    let _ = writeln!(out, "|---|---|");
    let now = Instant::now();
    let mut fed = 0u32;
    let mut at_100k = 0.0;
    let mut at_1m = 0.0;
    for target in [10_000u32, 100_000, 1_000_000] {
        while fed < target {
            let source = IpAddr::from((0x0a00_0000u32 + fed).to_be_bytes());
            let findings = inspector.request(&msg, source, now).findings.to_vec();
            let findings = findings
                .iter()
                .chain(inspector.response(source, 404, None, now));
            for f in findings {
                decider.decide(source, f, now, &mut enforcer);
                enforcer.bans.clear();
            }
            sources.update(source, |s| s.requests += 1);
            fed += 1;
        }
        let mib = rss_mib() - base;
        if target == 100_000 {
            at_100k = mib;
        }
        if target == 1_000_000 {
            at_1m = mib;
        }
        let _ = writeln!(out, "| {target} | {mib:.1} MiB |");
    }
    let before_flows = rss_mib();
    let mut flows: Reassembler<HttpFlow> = Reassembler::new(ReassemblyConfig::default());
    let partial =
        b"POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789";
    for i in 0..10_000u32 {
        let seg = Segment {
            src: std::net::SocketAddr::new(
                IpAddr::from((0x0c00_0000u32 + i).to_be_bytes()),
                40_000,
            ),
            dst: "10.0.0.1:80".parse()?,
            seq: 1,
            flags: TcpFlags(TcpFlags::ACK),
            payload: partial,
        };
        flows.push(&seg, Direction::ToServer, now, |_, d, ev, flow| {
            let mut e = Vec::new();
            flow.on_stream(d, ev, &Limits::default(), &mut e);
        });
    }
    let flows_mib = rss_mib() - before_flows;
    let _ = writeln!(
        out,
        "\n10,000 concurrent flows with a partial request each: {flows_mib:.1} MiB ({} flows tracked).\n",
        flows.len()
    );
    let flat = at_1m <= at_100k * 1.1 + 1.0;
    let met = if at_100k <= 64.0 { "met" } else { "not met" };
    let _ = writeln!(
        out,
        "Target: at most 64 MiB with 100,000 tracked sources: {at_100k:.1} MiB, **{met}**; flat past the cap (1M sources: {at_1m:.1} MiB): **{}**.\n",
        if flat { "yes" } else { "no" }
    );
    Ok(())
}
