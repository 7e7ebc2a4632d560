//! Prometheus metrics: every series the agent exports, and the `/metrics` HTTP endpoint.
//!
//! Names follow Prometheus conventions: `sec_agent_` prefix, base units (bytes, seconds),
//! `_total` on counters. Kernel counters (XDP verdicts) and ban gauges are read when
//! scraped; map fill ratios are refreshed by the reconcile loop (counting 10^6 entries on
//! every scrape would be too slow).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    thread,
};

use anyhow::{Context as _, Result};
use prometheus::{
    Encoder as _, GaugeVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sec_agent_common::{Counter, Verdict};

/// Every series.
pub struct Metrics {
    registry: Registry,
    xdp_packets: IntCounterVec,
    xdp_bytes: IntCounterVec,
    xdp_seen: Mutex<Vec<Counter>>,
    /// Active bans by origin (`manual`, `imported`, a detection name).
    pub bans_active: IntGaugeVec,
    /// Bans issued, by detection (`manual` for the CLI).
    pub bans_issued: IntCounterVec,
    /// Bans removed, by cause (`expired`, `manual`).
    pub unbans: IntCounterVec,
    /// HTTP requests inspected.
    pub requests: IntCounter,
    /// HTTP responses parsed.
    pub responses: IntCounter,
    /// Findings, by detection, class and mode.
    pub detections: IntCounterVec,
    /// TCP flows tracked now.
    pub flows: IntGauge,
    /// Reassembly cap hits, by cap (`flow_buffer`, `total_buffer`, `flows`).
    pub reassembly_caps: IntCounterVec,
    /// Frames dropped by the kernel because the capture ring was full, by interface.
    pub ring_drops: IntCounterVec,
    /// Frames handed on cut short (larger than a ring slot with no room to copy them
    /// whole), by interface; their flows see a gap.
    pub capture_truncated: IntCounterVec,
    /// Flow directions that stopped parsing (not HTTP, oversized, bad framing).
    pub parse_errors: IntCounter,
    /// Entries / capacity per map.
    pub map_fill: GaugeVec,
    /// Reconciliation repairs, by kind (`missing`, `extra`, `stale`).
    pub repairs: IntCounterVec,
    /// Config reloads, by result (`ok`, `error`).
    pub reloads: IntCounterVec,
    /// Captured frames that were no decodable TCP segment.
    pub frames_undecodable: IntCounter,
    /// Bans a detection decided that could not be applied (map full, allowlist unreadable).
    pub ban_errors: IntCounter,
    /// TCP connections of banned sources destroyed through sock_diag.
    pub connections_destroyed: IntCounter,
    /// Protected interfaces that disappeared while the agent ran, by interface.
    pub interfaces_lost: IntCounterVec,
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

impl Metrics {
    /// Registers every series.
    pub fn new() -> Metrics {
        let r = Registry::new();
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
            r.register(Box::new(g.clone())).expect("unique metric");
            g
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            r.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let build = gauge_vec(
            "sec_agent_build_info",
            "Build of the running agent (always 1).",
            &["version"],
        );
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let flows = IntGauge::new(
            "sec_agent_flows_tracked",
            "TCP flows tracked by reassembly.",
        )
        .expect("valid");
        r.register(Box::new(flows.clone())).expect("unique");
        let map_fill = GaugeVec::new(
            Opts::new(
                "sec_agent_map_fill_ratio",
                "Entries divided by capacity, per BPF map.",
            ),
            &["map"],
        )
        .expect("valid");
        r.register(Box::new(map_fill.clone())).expect("unique");
        Metrics {
            xdp_packets: counter_vec(
                &r,
                "sec_agent_xdp_packets_total",
                "Packets seen by XDP, by verdict.",
                &["verdict"],
            ),
            xdp_bytes: counter_vec(
                &r,
                "sec_agent_xdp_bytes_total",
                "Bytes seen by XDP, by verdict.",
                &["verdict"],
            ),
            xdp_seen: Mutex::new(vec![Counter::default(); Verdict::COUNT as usize]),
            bans_active: gauge_vec(
                "sec_agent_bans_active",
                "Active bans, by origin.",
                &["origin"],
            ),
            bans_issued: counter_vec(
                &r,
                "sec_agent_bans_issued_total",
                "Bans issued, by detection (manual for operators).",
                &["detection"],
            ),
            unbans: counter_vec(
                &r,
                "sec_agent_unbans_total",
                "Bans removed, by cause.",
                &["cause"],
            ),
            requests: counter(
                "sec_agent_http_requests_inspected_total",
                "HTTP requests parsed and inspected.",
            ),
            responses: counter("sec_agent_http_responses_total", "HTTP responses parsed."),
            detections: counter_vec(
                &r,
                "sec_agent_detections_total",
                "Findings, by detection, class and mode.",
                &["detection", "class", "mode"],
            ),
            flows,
            reassembly_caps: counter_vec(
                &r,
                "sec_agent_reassembly_caps_hit_total",
                "Reassembly caps hit, by cap.",
                &["cap"],
            ),
            ring_drops: counter_vec(
                &r,
                "sec_agent_capture_ring_drops_total",
                "Frames the kernel dropped because the capture ring was full.",
                &["iface"],
            ),
            capture_truncated: counter_vec(
                &r,
                "sec_agent_capture_truncated_total",
                "Frames inspected cut short: larger than a ring slot and the socket queue full.",
                &["iface"],
            ),
            parse_errors: counter(
                "sec_agent_http_parse_errors_total",
                "Flow directions that stopped parsing as HTTP.",
            ),
            map_fill,
            repairs: counter_vec(
                &r,
                "sec_agent_reconcile_repairs_total",
                "Map entries repaired by reconciliation, by kind.",
                &["kind"],
            ),
            reloads: counter_vec(
                &r,
                "sec_agent_config_reloads_total",
                "Config reloads, by result.",
                &["result"],
            ),
            frames_undecodable: counter(
                "sec_agent_capture_frames_undecodable_total",
                "Captured frames that were no decodable TCP segment (counted, skipped).",
            ),
            ban_errors: counter(
                "sec_agent_ban_errors_total",
                "Bans decided by a detection that could not be applied.",
            ),
            connections_destroyed: counter(
                "sec_agent_connections_destroyed_total",
                "TCP connections of banned sources destroyed through sock_diag.",
            ),
            interfaces_lost: counter_vec(
                &r,
                "sec_agent_interfaces_lost_total",
                "Protected interfaces that disappeared while the agent ran.",
                &["iface"],
            ),
            registry: r,
        }
    }

    /// Brings the XDP counters up to the per-CPU sums read from the kernel.
    pub fn set_xdp(&self, stats: &[(Verdict, Counter)]) {
        let mut seen = self.xdp_seen.lock().unwrap_or_else(|p| p.into_inner());
        for (v, c) in stats {
            let last = &mut seen[*v as usize];
            // A counter that went down means the maps were recreated: start over.
            let (dp, db) = if c.packets < last.packets {
                (c.packets, c.bytes)
            } else {
                (c.packets - last.packets, c.bytes.saturating_sub(last.bytes))
            };
            self.xdp_packets.with_label_values(&[v.name()]).inc_by(dp);
            self.xdp_bytes.with_label_values(&[v.name()]).inc_by(db);
            *last = *c;
        }
    }

    /// The text exposition of every series.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding never fails");
        String::from_utf8(buf).expect("UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Serves `GET /metrics` on `listen` from a background thread; `refresh` runs before each
/// scrape. Returns the bound address (port 0 picks a free one).
///
/// # Errors
/// The address cannot be bound.
pub fn serve(
    listen: SocketAddr,
    metrics: Arc<Metrics>,
    refresh: impl Fn() + Send + 'static,
) -> Result<SocketAddr> {
    let server = tiny_http::Server::http(listen)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("binding the metrics endpoint on {listen}"))?;
    let bound = server
        .server_addr()
        .to_ip()
        .context("metrics endpoint is not an IP socket")?;
    thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let response =
                    if request.url() == "/metrics" || request.url().starts_with("/metrics?") {
                        refresh();
                        let header = tiny_http::Header::from_bytes(
                            &b"Content-Type"[..],
                            &b"text/plain; version=0.0.4; charset=utf-8"[..],
                        )
                        .expect("static header");
                        tiny_http::Response::from_string(metrics.render()).with_header(header)
                    } else {
                        tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                    };
                let _ = request.respond(response);
            }
        })
        .context("starting the metrics thread")?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every series name the agent can export (vectors get one child each so they render).
    fn exported() -> BTreeSet<String> {
        let m = Metrics::new();
        m.set_xdp(&[(
            Verdict::Pass,
            Counter {
                packets: 1,
                bytes: 60,
            },
        )]);
        m.bans_active.with_label_values(&["manual"]).set(1);
        m.bans_issued.with_label_values(&["payload"]).inc();
        m.unbans.with_label_values(&["expired"]).inc();
        m.detections
            .with_label_values(&["payload", "sqli", "ban"])
            .inc();
        m.reassembly_caps.with_label_values(&["flows"]).inc();
        m.ring_drops.with_label_values(&["eth0"]).inc();
        m.map_fill.with_label_values(&["ban_v4"]).set(0.5);
        m.repairs.with_label_values(&["missing"]).inc();
        m.reloads.with_label_values(&["ok"]).inc();
        m.interfaces_lost.with_label_values(&["eth0"]).inc();
        m.render()
            .lines()
            .filter(|l| l.starts_with("sec_agent_"))
            .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        for name in exported() {
            let counter = name.ends_with("_total");
            assert!(name.starts_with("sec_agent_"), "{name}");
            assert!(!name.contains("__"), "{name}");
            if name.contains("bytes") {
                assert!(
                    name.ends_with("bytes_total") || name.ends_with("_bytes"),
                    "{name}: base unit"
                );
            }
            let _ = counter;
        }
        assert!(exported().len() >= 16, "{:?}", exported());
    }

    #[test]
    fn dashboard_uses_only_exported_series() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../../config/grafana-dashboard.json"))
                .expect("valid JSON");
        let names = exported();
        let re = regex::Regex::new(r"sec_agent_[a-z_]+").unwrap();
        let mut used = 0;
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                for m in re.find_iter(target["expr"].as_str().unwrap()) {
                    assert!(
                        names.contains(m.as_str()),
                        "dashboard uses unknown series {}",
                        m.as_str()
                    );
                    used += 1;
                }
            }
        }
        assert!(used >= 15);
    }
}
