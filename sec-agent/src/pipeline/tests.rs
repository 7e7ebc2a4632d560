//! The pipeline without root, fed frames recorded in a lab, with an in-memory enforcer and
//! event log.
//!
//! `tests/pcap/lab-http.pcap` was captured with `tcpdump -s 0 -w` on the server side of a
//! veth pair between two namespaces (server 10.200.77.1 and fd00:200::1, Python's
//! `http.server` on port 8080; the client curl from 10.200.77.2 to .6 and fd00:200::2):
//! - 10.200.77.2: two keep-alive GETs and a JSON POST with SQL words in prose (benign);
//! - 10.200.77.3: `GET /item?id=1%27%20OR%20%271%27%3D%271` (SQL injection);
//! - 10.200.77.4: `GET /download?file=..%2F..%2F..%2Fetc%2Fpasswd` (traversal);
//! - 10.200.77.5: `GET /` with a sqlmap User-Agent (scanner);
//! - 10.200.77.6: `GET /.env` (decoy);
//! - fd00:200::2: `GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E` (XSS), then `GET /`.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::Pipeline;
use crate::{
    config::Config,
    inspect::decide::MemoryEnforcer,
    service::{events::EventLog, report::Reporter},
};

const PCAP: &[u8] = include_bytes!("../../tests/pcap/lab-http.pcap");

/// Every frame of the capture with its time since the first.
fn frames() -> Vec<(Duration, Vec<u8>)> {
    let mut reader = pcap_file::pcap::PcapReader::new(PCAP).expect("a pcap file");
    let mut out = Vec::new();
    let mut first = None;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a whole packet");
        let first = *first.get_or_insert(packet.timestamp);
        out.push((packet.timestamp - first, packet.data.into_owned()));
    }
    out
}

struct Run {
    pipeline: Pipeline<MemoryEnforcer>,
    reporter: Arc<Reporter>,
    log: Arc<Mutex<Vec<u8>>>,
}

fn run(config: &str, enforcer: MemoryEnforcer) -> Run {
    let config = Config::parse(config, "test").expect("valid config");
    let (events, log) = EventLog::memory();
    let reporter = Arc::new(Reporter::new(
        events,
        config.detections.max_sources,
        config.events.requests_log,
    ));
    let mut pipeline = Pipeline::new(&config, enforcer, Arc::clone(&reporter)).expect("pipeline");
    let start = Instant::now();
    for (at, frame) in frames() {
        pipeline.on_frame(&frame, start + at);
    }
    pipeline.tick(start + Duration::from_secs(10));
    Run {
        pipeline,
        reporter,
        log,
    }
}

impl Run {
    fn bans(&self) -> Vec<(String, String)> {
        let mut bans: Vec<_> = self
            .pipeline
            .enforcer()
            .bans
            .iter()
            .map(|(ip, _, why)| (ip.to_string(), why.clone()))
            .collect();
        bans.sort();
        bans
    }

    fn events(&self) -> Vec<Value> {
        let text = String::from_utf8(self.log.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == kind)
            .collect()
    }
}

fn attackers() -> Vec<(String, String)> {
    let mut want: Vec<(String, String)> = [
        ("10.200.77.3", "payload/sqli"),
        ("10.200.77.4", "payload/traversal"),
        ("10.200.77.5", "user_agent/scanner"),
        ("10.200.77.6", "decoy_path/decoy"),
        ("fd00:200::2", "payload/xss"),
    ]
    .iter()
    .map(|(a, w)| (a.to_string(), w.to_string()))
    .collect();
    want.sort();
    want
}

#[test]
fn every_attacker_is_banned_and_the_benign_client_is_not() {
    let r = run("", MemoryEnforcer::default());
    assert_eq!(r.bans(), attackers());
    let m = r.reporter.metrics();
    assert_eq!(m.requests.get(), 9, "each request counted once");
    assert!(m.responses.get() >= 9, "responses: {}", m.responses.get());
    assert_eq!(m.frames_undecodable.get(), 0);
    let bans = r.events_of("ban");
    assert_eq!(bans.len(), 5, "{bans:#?}");
    for b in &bans {
        assert_eq!(b["action"], "ban");
        assert_eq!(b["ttl_secs"], 3600);
    }
    // The benign client is logged nowhere; the request log has the rejected requests.
    assert!(r.events().iter().all(|e| e["src"] != "10.200.77.2"));
    assert_eq!(r.events_of("request").len(), 5);
}

#[test]
fn events_carry_the_value_as_it_arrived_next_to_the_decoded_fragment() {
    let r = run("", MemoryEnforcer::default());
    let traversal = r
        .events_of("detection")
        .into_iter()
        .find(|e| e["class"] == "traversal")
        .expect("a traversal detection");
    assert_eq!(traversal["src"], "10.200.77.4");
    assert_eq!(traversal["location"], "qs_values");
    assert_eq!(traversal["name"], "file");
    assert_eq!(traversal["raw"], "..%2F..%2F..%2Fetc%2Fpasswd");
    assert_eq!(traversal["fragment"], "/etc/passwd");
    assert_eq!(traversal["path"], "/download");
    assert_eq!(traversal["dst_port"], 8080);
}

#[test]
fn allowlisted_sources_are_logged_not_banned() {
    let allow = MemoryEnforcer {
        allowlist: vec!["10.200.77.0/24".parse().unwrap()],
        ..MemoryEnforcer::default()
    };
    let r = run("", allow);
    assert_eq!(
        r.bans(),
        [("fd00:200::2".to_string(), "payload/xss".to_string())]
    );
    let allowlisted = r
        .events_of("detection")
        .into_iter()
        .filter(|e| e["action"] == "allowlisted")
        .count();
    assert_eq!(allowlisted, 4);
}

#[test]
fn monitor_mode_and_ignored_paths_ban_nobody_for_them() {
    let r = run(
        "[detections]\nignore_paths = [\"/.env\"]\n[detections.payload]\nmode = \"monitor\"\n",
        MemoryEnforcer::default(),
    );
    assert_eq!(
        r.bans(),
        [("10.200.77.5".to_string(), "user_agent/scanner".to_string())]
    );
    let monitored: Vec<IpAddr> = r
        .events_of("detection")
        .iter()
        .filter(|e| e["action"] == "monitor")
        .map(|e| e["src"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(monitored.len(), 3, "{monitored:?}");
    let m = r.reporter.metrics();
    assert_eq!(
        m.detections
            .with_label_values(&["payload", "sqli", "monitor"])
            .get(),
        1
    );
    assert_eq!(
        m.detections
            .with_label_values(&["decoy_path", "decoy", "ban"])
            .get(),
        0,
        "/.env is under ignore_paths"
    );
}

#[test]
fn failed_bans_are_counted_and_logged() {
    let failing = MemoryEnforcer {
        fail_bans: true,
        ..MemoryEnforcer::default()
    };
    let r = run("", failing);
    assert!(r.bans().is_empty());
    assert_eq!(r.reporter.metrics().ban_errors.get(), 5);
    let failed = r
        .events_of("detection")
        .into_iter()
        .filter(|e| e["action"] == "ban_failed")
        .count();
    assert_eq!(failed, 5);
    assert!(r.events_of("ban").is_empty());
}

#[test]
fn frames_that_are_not_tcp_are_counted_and_skipped() {
    let config = Config::default();
    let (events, _) = EventLog::memory();
    let reporter = Arc::new(Reporter::new(events, 10, config.events.requests_log));
    let mut p =
        Pipeline::new(&config, MemoryEnforcer::default(), Arc::clone(&reporter)).expect("pipeline");
    for frame in [&b""[..], &[0u8; 13], &[0xff; 64]] {
        p.on_frame(frame, Instant::now());
    }
    assert_eq!(reporter.metrics().frames_undecodable.get(), 3);
}
