//! The reporter: every typed [`Event`] of the agent goes through [`Reporter::emit`], which
//! turns it into its event-log line, its metrics, the per-source memory behind
//! `sec-agent ip`, and folds repeats, in one function. This is vector's
//! internal-events design (`docs/specs/instrumentation.md`: "individual events serve as
//! the vehicle for internal telemetry, driving the emission of metrics and logs"): nothing
//! else bumps a counter or writes an event line, so a request is counted once and a new
//! metric is one field, one registration and one arm here.

use std::{
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use sec_agent_common::BanReason;
use serde::Serialize;

use super::{
    events::{EventLog, RequestsLog},
    folding::RepeatFilter,
    metrics::Metrics,
    source_log::SourceLog,
    state::{Repairs, origin_name},
};
use crate::{
    inspect::{decide::Outcome, detect::Finding, normalize::Inspection, reassemble::FlowKey},
    net::Target,
};

/// Why a ban went away (`sec_agent_unbans_total{cause}`, the `unban` event's `action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnbanCause {
    /// Its TTL ran out.
    Expired,
    /// An operator removed it.
    Manual,
}

impl UnbanCause {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            UnbanCause::Expired => "expired",
            UnbanCause::Manual => "manual",
        }
    }
}

/// A reassembly cap (`sec_agent_reassembly_caps_hit_total{cap}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReassemblyCap {
    /// Out-of-order bytes of one stream.
    FlowBuffer,
    /// Out-of-order bytes of all streams.
    TotalBuffer,
    /// Flows tracked.
    Flows,
}

impl ReassemblyCap {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReassemblyCap::FlowBuffer => "flow_buffer",
            ReassemblyCap::TotalBuffer => "total_buffer",
            ReassemblyCap::Flows => "flows",
        }
    }
}

/// A kind of reconciliation repair (`sec_agent_reconcile_repairs_total{kind}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairKind {
    /// A desired entry was missing from the maps.
    Missing,
    /// A map entry was not desired.
    Extra,
    /// A ban's expiry or reason differed.
    Stale,
}

impl RepairKind {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RepairKind::Missing => "missing",
            RepairKind::Extra => "extra",
            RepairKind::Stale => "stale",
        }
    }
}

/// How a reload ended (`sec_agent_config_reloads_total{result}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadResult {
    /// The new config is applied.
    Ok,
    /// It was refused; the running config stays.
    Error,
}

impl ReloadResult {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadResult::Ok => "ok",
            ReloadResult::Error => "error",
        }
    }
}

/// Something that happened, to be counted and maybe logged.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A frame from a capture ring that is no TCP segment (counted, skipped).
    FrameUndecodable,
    /// A request was parsed and is about to be inspected.
    RequestSeen {
        /// The client.
        source: IpAddr,
    },
    /// A response was parsed.
    ResponseSeen {
        /// The client it goes to.
        client: IpAddr,
        /// Status code (0 for a response without one).
        status: u16,
    },
    /// A flow direction stopped parsing (not HTTP, oversized, bad framing).
    ParseError,
    /// A finding and what the decide stage made of it.
    Detection {
        /// The flow it came on.
        flow: &'a FlowKey,
        /// The decoded request (`None` for response findings).
        request: Option<&'a Inspection>,
        /// What was found.
        finding: &'a Finding,
        /// What came of it.
        outcome: Outcome,
        /// When.
        now: Instant,
    },
    /// An inspected request, for the request log (after its findings).
    Request {
        /// The flow it came on.
        flow: &'a FlowKey,
        /// The decoded request.
        request: &'a Inspection,
        /// Whether it had a finding.
        rejected: bool,
        /// Whether one of its findings was written (a request whose findings were all
        /// folded as repeats is not logged either).
        detection_written: bool,
    },
    /// An operator banned a target through the agent.
    ManualBan {
        /// What.
        target: Target,
        /// For how long (`None`: permanent).
        ttl: Option<Duration>,
        /// The operator's note.
        note: Option<&'a str>,
    },
    /// A ban went away.
    Unban {
        /// What.
        target: Target,
        /// Its origin, when known.
        origin: Option<BanReason>,
        /// Why.
        cause: UnbanCause,
    },
    /// Reconciliation repaired the maps.
    Reconciled(Repairs),
    /// A config reload finished.
    Reloaded(ReloadResult),
    /// A reassembly cap was hit `count` times since the last report.
    ReassemblyCapHit {
        /// Which.
        cap: ReassemblyCap,
        /// How often.
        count: u64,
    },
    /// Flows tracked now.
    FlowsTracked(usize),
    /// A protected interface disappeared (its capture stopped until it comes back).
    InterfaceLost {
        /// Its name.
        iface: &'a str,
    },
    /// A capture ring's kernel counters grew.
    RingCounters {
        /// Its interface.
        iface: &'a str,
        /// Frames the kernel dropped for want of room.
        drops: u64,
        /// Frames handed on cut short.
        truncated: u64,
    },
}

/// The flow's endpoints and the request's method, host and path, which every request
/// line and request finding carries.
#[derive(Serialize)]
struct RequestFields<'a> {
    src: String,
    src_port: u16,
    dst: String,
    dst_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

impl<'a> RequestFields<'a> {
    fn new(flow: &FlowKey, request: Option<&'a Inspection>) -> Self {
        RequestFields {
            src: flow.client.ip().to_canonical().to_string(),
            src_port: flow.client.port(),
            dst: flow.server.ip().to_canonical().to_string(),
            dst_port: flow.server.port(),
            method: request.map(|r| r.method()),
            host: request.map(|r| r.host()),
            path: request.map(|r| r.path().chars().take(256).collect()),
        }
    }
}

#[derive(Serialize)]
struct DetectionLine<'a> {
    #[serde(flatten)]
    request: RequestFields<'a>,
    detection: &'static str,
    class: &'static str,
    rule: &'a str,
    location: Option<&'static str>,
    name: &'a str,
    fragment: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connections_closed: Option<Option<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    repeats_folded: Option<u64>,
}

#[derive(Serialize)]
struct RequestLine<'a> {
    #[serde(flatten)]
    request: RequestFields<'a>,
    rejected: bool,
}

#[derive(Serialize)]
struct ManualBanLine<'a> {
    src: String,
    reason: std::borrow::Cow<'static, str>,
    note: Option<&'a str>,
    ttl_secs: Option<u64>,
    action: &'static str,
}

#[derive(Serialize)]
struct UnbanLine {
    src: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    action: &'static str,
}

/// Owns the agent's one event log, its metrics, the per-source memory and the repeat
/// filter; shared by the pipeline thread and the daemon (each part has its own lock, held
/// only while one event is handled).
pub struct Reporter {
    events: Mutex<EventLog>,
    metrics: Arc<Metrics>,
    sources: SourceLog,
    repeats: Mutex<RepeatFilter>,
    requests_log: AtomicU8,
}

impl Reporter {
    /// A reporter writing `events`, remembering at most `max_sources` sources, logging
    /// requests by `requests_log`.
    pub fn new(events: EventLog, max_sources: usize, requests_log: RequestsLog) -> Reporter {
        Reporter {
            events: Mutex::new(events),
            metrics: Arc::new(Metrics::new()),
            sources: SourceLog::new(max_sources),
            repeats: Mutex::new(RepeatFilter::new(max_sources)),
            requests_log: AtomicU8::new(requests_log as u8),
        }
    }

    /// The metrics (for the `/metrics` endpoint and the gauges read on scrape).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The per-source memory (for `sec-agent ip`).
    pub fn sources(&self) -> &SourceLog {
        &self.sources
    }

    /// Applies a reloaded `[events] requests_log`.
    pub fn set_requests_log(&self, tier: RequestsLog) {
        self.requests_log.store(tier as u8, Ordering::Relaxed);
    }

    fn requests_log(&self) -> RequestsLog {
        match self.requests_log.load(Ordering::Relaxed) {
            x if x == RequestsLog::All as u8 => RequestsLog::All,
            x if x == RequestsLog::None as u8 => RequestsLog::None,
            _ => RequestsLog::Rejected,
        }
    }

    fn write(&self, event: &str, fields: &impl Serialize) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write(event, fields);
    }

    /// Counts, remembers and logs `event`; returns whether a line was written.
    pub fn emit(&self, event: Event<'_>) -> bool {
        let m = &*self.metrics;
        match event {
            Event::FrameUndecodable => m.frames_undecodable.inc(),
            Event::RequestSeen { source } => {
                m.requests.inc();
                self.sources.update(source, |s| s.requests += 1);
            }
            Event::ResponseSeen { client, status } => {
                m.responses.inc();
                if (400..500).contains(&status) {
                    self.sources.update(client, |s| s.client_errors += 1);
                }
            }
            Event::ParseError => m.parse_errors.inc(),
            Event::Detection {
                flow,
                request,
                finding,
                outcome,
                now,
            } => return self.detection(flow, request, finding, outcome, now),
            Event::Request {
                flow,
                request,
                rejected,
                detection_written,
            } => {
                let log = match self.requests_log() {
                    RequestsLog::All => true,
                    RequestsLog::Rejected => rejected && detection_written,
                    RequestsLog::None => false,
                };
                if log {
                    let line = RequestLine {
                        request: RequestFields::new(flow, Some(request)),
                        rejected,
                    };
                    self.write("request", &line);
                    return true;
                }
            }
            Event::ManualBan { target, ttl, note } => {
                m.bans_issued
                    .with_label_values(&[&origin_name(BanReason::Manual)])
                    .inc();
                let line = ManualBanLine {
                    src: target.to_string(),
                    reason: origin_name(BanReason::Manual),
                    note,
                    ttl_secs: ttl.map(|t| t.as_secs()),
                    action: "ban",
                };
                self.write("ban", &line);
                return true;
            }
            Event::Unban {
                target,
                origin,
                cause,
            } => {
                m.unbans.with_label_values(&[cause.as_str()]).inc();
                let line = UnbanLine {
                    src: target.to_string(),
                    reason: origin.map(|o| origin_name(o).into_owned()),
                    action: cause.as_str(),
                };
                self.write("unban", &line);
                return true;
            }
            Event::Reconciled(r) => {
                for (kind, n) in [
                    (RepairKind::Missing, r.missing),
                    (RepairKind::Extra, r.extra),
                    (RepairKind::Stale, r.stale),
                ] {
                    m.repairs.with_label_values(&[kind.as_str()]).inc_by(n);
                }
            }
            Event::Reloaded(result) => m.reloads.with_label_values(&[result.as_str()]).inc(),
            Event::ReassemblyCapHit { cap, count } => {
                m.reassembly_caps
                    .with_label_values(&[cap.as_str()])
                    .inc_by(count);
            }
            Event::FlowsTracked(n) => m.flows.set(n as i64),
            Event::InterfaceLost { iface } => {
                m.interfaces_lost.with_label_values(&[iface]).inc();
            }
            Event::RingCounters {
                iface,
                drops,
                truncated,
            } => {
                m.ring_drops.with_label_values(&[iface]).inc_by(drops);
                m.capture_truncated
                    .with_label_values(&[iface])
                    .inc_by(truncated);
            }
        }
        false
    }

    fn detection(
        &self,
        flow: &FlowKey,
        request: Option<&Inspection>,
        finding: &Finding,
        outcome: Outcome,
        now: Instant,
    ) -> bool {
        let m = &*self.metrics;
        let source = flow.client.ip();
        let detection = finding.detection.name();
        m.detections
            .with_label_values(&[detection, finding.class, outcome.mode().name()])
            .inc();
        match outcome {
            Outcome::Banned { closed, .. } => {
                m.bans_issued.with_label_values(&[detection]).inc();
                m.connections_destroyed.inc_by(closed.unwrap_or(0) as u64);
            }
            Outcome::BanFailed { .. } => m.ban_errors.inc(),
            _ => {}
        }
        // A finding that bans is always written (the source is cut off, it cannot repeat
        // much); others are folded per source, detection and class.
        let folded = if matches!(outcome, Outcome::Banned { .. }) {
            Some(0)
        } else {
            self.repeats
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .admit(source, finding.detection, finding.class, now)
        };
        let Some(folded) = folded else {
            return false;
        };
        // The per-source log is one ring for all sources: a repeat folded above must not
        // push other sources' detections out of it.
        self.sources.detection(
            source,
            finding.detection,
            finding.class,
            outcome,
            &finding.fragment,
        );
        let (ttl_secs, connections_closed) = match outcome {
            Outcome::Banned { ttl, closed } => (Some(ttl.as_secs()), Some(closed)),
            _ => (None, None),
        };
        let line = DetectionLine {
            request: RequestFields::new(flow, request),
            detection,
            class: finding.class,
            rule: &finding.rule,
            location: finding.location.map(|l| l.name()),
            name: &finding.name,
            fragment: &finding.fragment,
            raw: finding.raw.as_deref(),
            action: outcome.name(),
            ttl_secs,
            connections_closed,
            repeats_folded: (folded > 0).then_some(folded),
        };
        self.write("detection", &line);
        if matches!(outcome, Outcome::Banned { .. }) {
            self.write("ban", &line);
        }
        true
    }
}
