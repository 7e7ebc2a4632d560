//! The measurements behind `cargo xtask bench` (run as root): XDP per-packet cost through
//! BPF_PROG_TEST_RUN against the floor programs, and user-space detection throughput.
//! Prints Markdown sections on stdout; the xtask writes them into BENCHMARKS.md.
//!
//! Every figure is measured `RUNS` times; tables give min / median / max. Ratios are taken
//! between medians of the same run, because these machines are shared and absolute times
//! drift between runs.

use std::{fmt::Write as _, net::IpAddr, time::Instant};

use anyhow::{Context as _, Result};
use aya::{
    maps::{HashMap as BpfHashMap, MapData},
    programs::{TestRun, TestRunOptions, Xdp},
};
use sec_agent::{
    config::{Config, DetectionsConfig, rate_config},
    detect::{self, RequestInfo},
    enforce::{KernelMaps, bpffs::ensure_pin_dir, loader},
    net::Target,
    normalize::Inspection,
    parse::{HttpFlow, Limits, Message, corpus, parse_request},
    reassemble::Direction,
};
use sec_agent_common::{BanEntry, BanReason, RateKey, TokenBucket, maps as m};
use sec_agent_tests::{frames::*, lab::Bpffs};

const RUNS: usize = 5;
const REPEAT: u32 = 1_000_000;

fn main() -> Result<()> {
    let mut out = String::new();
    xdp_costs(&mut out)?;
    detection_throughput(&mut out)?;
    memory(&mut out)?;
    print!("{out}");
    Ok(())
}

/// min, median, max.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

fn frame64(l3: Vec<u8>, ethertype: u16) -> Vec<u8> {
    let mut f = eth(&[], ethertype, &l3);
    f.resize(64.max(f.len()), 0);
    f
}

fn v6(last: u16) -> [u8; 16] {
    let mut a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

/// Median ns per packet of `program` on `frame` over RUNS test runs of REPEAT packets.
fn measure(ebpf: &mut aya::Ebpf, program: &str, frame: &[u8]) -> Result<Vec<f64>> {
    let prog: &mut Xdp = ebpf.program_mut(program).context("program")?.try_into()?;
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        opts.repeat = REPEAT;
        let r = prog.test_run(opts).context("BPF_PROG_TEST_RUN")?;
        out.push(r.duration.as_nanos() as f64);
    }
    Ok(out)
}

fn xdp_costs(out: &mut String) -> Result<()> {
    let clean4 = frame64(ipv4([198, 51, 100, 8], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let clean6 = frame64(ipv6(v6(8), &[], UDP, &l4(53)), ETH_P_IPV6);
    let banned = frame64(ipv4([198, 51, 100, 7], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let ranged = frame64(ipv4([203, 0, 113, 9], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let limited = frame64(ipv4([198, 51, 100, 20], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let allowed = frame64(ipv4([192, 0, 2, 10], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let _ = writeln!(
        out,
        "## XDP per-packet cost (BPF_PROG_TEST_RUN, {REPEAT} repeats, 64-byte frames)\n"
    );
    let _ = writeln!(
        out,
        "ns per packet, min / median / max over {RUNS} runs; ratio = median / median of the floor program (PASS for passing cases, DROP for dropping ones).\n"
    );
    let _ = writeln!(
        out,
        "| exact bans loaded | case | ns/packet | ratio to floor |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    let mut worst_ratio: f64 = 0.0;
    for bans in [0u32, 10_000, 1_000_000] {
        let bpffs = Bpffs::unique();
        let pin = bpffs.dir.join("sec-agent");
        ensure_pin_dir(&pin)?;
        let mut loaded = loader::load(&Config::default(), &pin)?;
        for floor in ["bench_floor_pass", "bench_floor_drop"] {
            let p: &mut Xdp = loaded
                .ebpf
                .program_mut(floor)
                .context("floor program")?
                .try_into()?;
            p.load()?;
        }
        fill(&mut loaded.maps, &pin, bans)?;
        let floor_pass = stats(measure(&mut loaded.ebpf, "bench_floor_pass", &clean4)?).1;
        let floor_drop = stats(measure(&mut loaded.ebpf, "bench_floor_drop", &clean4)?).1;
        let _ = writeln!(out, "| {bans} | floor PASS | {floor_pass:.1} | 1.00 |");
        let _ = writeln!(out, "| {bans} | floor DROP | {floor_drop:.1} | 1.00 |");
        let cases: [(&str, &[u8], bool); 6] = [
            ("clean IPv4", &clean4, false),
            ("clean IPv6", &clean6, false),
            ("banned exact", &banned, true),
            ("banned by range", &ranged, true),
            ("rate-limited", &limited, true),
            ("allowlisted", &allowed, false),
        ];
        for (name, frame, drops) in cases {
            if name == "rate-limited" {
                loaded
                    .maps
                    .set_rate(rate_config(1, 1, 32, 64).map_err(anyhow::Error::msg)?)?;
            }
            let (min, med, max) = stats(measure(&mut loaded.ebpf, sec_agent::XDP_PROGRAM, frame)?);
            if name == "rate-limited" {
                loaded
                    .maps
                    .set_rate(rate_config(0, 0, 32, 64).map_err(anyhow::Error::msg)?)?;
            }
            let ratio = med / if drops { floor_drop } else { floor_pass };
            if bans == 1_000_000 && matches!(name, "clean IPv4" | "banned exact") {
                worst_ratio = worst_ratio.max(ratio);
            }
            let _ = writeln!(
                out,
                "| {bans} | {name} | {min:.1} / {med:.1} / {max:.1} | {ratio:.2} |"
            );
        }
    }
    let met = if worst_ratio <= 1.3 { "met" } else { "not met" };
    let _ = writeln!(
        out,
        "\nTarget: clean and banned packets with 1M bans at most 1.3x the minimal program: worst {worst_ratio:.2}x, **{met}**.\n"
    );
    Ok(())
}

/// `bans` exact IPv4 bans (10.0.0.0 upwards) plus the rules every case needs; with 1M
/// bans also 1M rate-limit buckets.
fn fill(maps: &mut KernelMaps, pin: &std::path::Path, bans: u32) -> Result<()> {
    let entry = BanEntry {
        expires_ns: 0,
        reason: BanReason::Manual.code(),
        _pad: 0,
    };
    for i in 0..bans {
        let addr = IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
        maps.ban(Target::Addr(addr), entry, None, true)?;
    }
    maps.ban("198.51.100.7".parse()?, entry, None, true)?;
    maps.ban("203.0.113.0/24".parse()?, entry, None, true)?;
    maps.allow("192.0.2.0/24".parse()?)?;
    if bans >= 1_000_000 {
        let data = MapData::from_pin(pin.join(m::RATE_STATE))?;
        let mut rate: BpfHashMap<MapData, RateKey, TokenBucket> =
            BpfHashMap::try_from(aya::maps::Map::from_map_data(data)?)?;
        for i in 0..1_000_000u32 {
            let mut key = RateKey::default();
            key.addr[10] = 0xff;
            key.addr[11] = 0xff;
            key.addr[12..].copy_from_slice(&(0x0b00_0000u32 + i).to_be_bytes());
            rate.insert(key, TokenBucket::default(), 0)?;
        }
    }
    Ok(())
}

/// The mixed corpus: realistic benign requests with one attack in ten.
fn parse(raw: &[u8]) -> Message {
    parse_request(raw, &Limits::default()).expect("corpus request parses")
}

fn detection_throughput(out: &mut String) -> Result<()> {
    let corpus = corpus::mixed();
    let config = DetectionsConfig::default();
    let mut detections = detect::registry(&config)?;
    let rounds = 200; // 20,000 requests per run
    let source = IpAddr::from([192, 0, 2, 1]);
    let mut full = Vec::new();
    let mut parse_only = Vec::new();
    let mut normalize_only = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let mut findings = Vec::new();
        for _ in 0..rounds {
            for raw in &corpus {
                let msg = parse(raw);
                let inspection = Inspection::of(&msg);
                let info = RequestInfo {
                    source,
                    now: Instant::now(),
                    inspection: &inspection,
                };
                for d in detections.iter_mut() {
                    d.on_request(&info, &mut findings);
                }
                findings.clear();
            }
        }
        full.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for _ in 0..rounds {
            for raw in &corpus {
                std::hint::black_box(parse(raw));
            }
        }
        parse_only.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
        let parsed: Vec<Message> = corpus.iter().map(|r| parse(r)).collect();
        let t = Instant::now();
        for _ in 0..rounds {
            for msg in &parsed {
                std::hint::black_box(Inspection::of(msg));
            }
        }
        normalize_only.push((rounds * corpus.len()) as f64 / t.elapsed().as_secs_f64());
    }
    let inspections: Vec<Inspection> = corpus.iter().map(|r| Inspection::of(&parse(r))).collect();
    let mut per_detection = Vec::new();
    for d in detections.iter_mut() {
        let mut rates = Vec::new();
        let mut findings = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            for _ in 0..rounds {
                for inspection in &inspections {
                    let info = RequestInfo {
                        source,
                        now: Instant::now(),
                        inspection,
                    };
                    d.on_request(&info, &mut findings);
                    findings.clear();
                }
            }
            rates.push((rounds * inspections.len()) as f64 / t.elapsed().as_secs_f64());
        }
        per_detection.push((d.kind().name(), stats(rates)));
    }
    let _ = writeln!(
        out,
        "## Detection throughput (one thread, mixed corpus: 100 requests, 10 attacks, 20 JSON POSTs)\n"
    );
    let _ = writeln!(
        out,
        "requests per second, min / median / max over {RUNS} runs of 20,000 requests.\n"
    );
    let _ = writeln!(out, "| stage | requests/s |");
    let _ = writeln!(out, "|---|---|");
    for (name, v) in [
        (
            "full pipeline (parse + normalize + all detections)",
            full.clone(),
        ),
        ("HTTP parse only", parse_only),
        ("normalize only", normalize_only),
    ] {
        let (a, b, c) = stats(v);
        let _ = writeln!(out, "| {name} | {a:.0} / {b:.0} / {c:.0} |");
    }
    for (name, (a, b, c)) in per_detection {
        let _ = writeln!(
            out,
            "| detection `{name}` alone | {a:.0} / {b:.0} / {c:.0} |"
        );
    }
    let median = stats(full).1;
    let met = if median >= 1_000_000.0 {
        "met"
    } else {
        "not met"
    };
    let _ = writeln!(
        out,
        "\nTarget: at least 1,000,000 requests/s on one core: median {median:.0}/s, **{met}**.\n"
    );
    Ok(())
}

/// Resident set size of this process, in MiB (`VmRSS` in /proc/self/status).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Per-source and per-flow state of the user-space pipeline, grown source by source:
/// the detections (flood and enumeration windows), the decider's offender history and the
/// per-source log, all capped by `[detections] max_sources` (default 100,000); and 10,000
/// concurrent flows with a partial request each in the reassembler.
fn memory(out: &mut String) -> Result<()> {
    use sec_agent::{
        capture::{Segment, TcpFlags},
        decide::Decider,
        reassemble::{Reassembler, ReassemblyConfig},
        sources::SourceLog,
    };
    let config = Config::default();
    let mut detections = detect::registry(&config.detections)?;
    let mut decider = Decider::new(config.detections.clone(), config.decide.clone());
    let sources = SourceLog::new(config.detections.max_sources);
    let msg = parse(b"GET /missing HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0\r\n\r\n");
    let inspection = Inspection::of(&msg);
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
            let info = RequestInfo {
                source,
                now,
                inspection: &inspection,
            };
            let mut findings = Vec::new();
            for d in detections.iter_mut() {
                d.on_request(&info, &mut findings);
                d.on_response(
                    &detect::ResponseInfo {
                        client: source,
                        now,
                        status: 404,
                        request: None,
                    },
                    &mut findings,
                );
            }
            for f in &findings {
                decider.decide(source, f, false, now);
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
