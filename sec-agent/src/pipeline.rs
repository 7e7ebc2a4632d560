//! The inspection pipeline, stage by stage on one thread: capture -> reassemble -> parse ->
//! normalize -> detect -> decide -> enforce. A ban is written to the kernel map right after
//! the request that earned it is parsed, before anything is logged.

use std::{
    mem,
    net::IpAddr,
    os::fd::AsRawFd as _,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::Result;
use sec_agent_common::BanReason;
use serde_json::{Map, Value, json};

use crate::{
    capture::{PacketRing, RingStats, decode},
    config::{Config, Mode, RequestsLog},
    decide::{Action, Decider},
    detect::{self, Detection, DetectionKind, Finding, RequestInfo, ResponseInfo},
    enforce::sockdiag,
    events::EventLog,
    metrics::Metrics,
    net::Target,
    normalize::Inspection,
    parse::{Head, HttpEvent, HttpFlow, Limits},
    reassemble::{Direction, FlowKey, Reassembler, ReassemblyConfig, ReassemblyStats},
    repeats::RepeatFilter,
    sources::SourceLog,
    state::Store,
};

/// What the pipeline shares with the rest of the agent.
#[derive(Clone)]
pub struct Shared {
    /// Bans and allowlist (journal and maps).
    pub store: Arc<Store>,
    /// Prometheus series.
    pub metrics: Arc<Metrics>,
    /// Per-source memory for `sec-agent ip`.
    pub sources: Arc<SourceLog>,
}

/// Counters of the user-space pipeline (monotonic).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PipelineStats {
    /// Frames read from the capture rings.
    pub frames: u64,
    /// Frames that were not a decodable TCP segment.
    pub decode_errors: u64,
    /// Requests parsed and inspected.
    pub requests: u64,
    /// Responses parsed.
    pub responses: u64,
    /// Directions of flows that stopped parsing (not HTTP, oversized, bad framing).
    pub parse_errors: u64,
    /// Findings reported by the detections.
    pub findings: u64,
    /// Bans written to the kernel.
    pub bans: u64,
    /// Bans that could not be written (map full, ...).
    pub ban_errors: u64,
    /// TCP connections of banned sources destroyed.
    pub connections_destroyed: u64,
}

/// One pipeline instance with all its state.
pub struct Pipeline {
    reassembler: Reassembler<HttpFlow>,
    limits: Limits,
    http_ports: Vec<bool>,
    detections: Vec<Box<dyn Detection>>,
    decider: Decider,
    /// Folds repeated non-banning findings in the event log.
    repeats: RepeatFilter,
    shared: Shared,
    events: EventLog,
    published: ReassemblyStats,
    requests_log: RequestsLog,
    ignore_paths: Vec<String>,
    stats: PipelineStats,
    /// Events of the current frame or tick, buffers kept from one to the next.
    pending: Vec<(FlowKey, HttpEvent)>,
    /// The last request's inspection, kept for its buffers (see [`Inspection::refill`]).
    inspection: Inspection,
    /// One flow's events, before they get their key in `pending`.
    flow_events: Vec<HttpEvent>,
    sockdiag_warned: bool,
}

impl Pipeline {
    /// Builds the pipeline from the config, banning through `shared.store`.
    ///
    /// # Errors
    /// Detection setup failed (unreadable pattern file, invalid regex).
    pub fn new(config: &Config, shared: Shared, events: EventLog) -> Result<Pipeline> {
        let mut http_ports = vec![false; 1 << 16];
        for &p in &config.capture.http_ports {
            http_ports[usize::from(p)] = true;
        }
        let r = &config.reassembly;
        Ok(Pipeline {
            reassembler: Reassembler::new(ReassemblyConfig {
                max_flows: r.max_flows,
                max_flow_buffer: r.max_flow_buffer,
                max_total_buffer: r.max_total_buffer,
                idle_timeout: r.idle_timeout,
            }),
            limits: Limits {
                max_head: config.http.max_head_bytes,
                max_headers: config.http.max_headers,
                body_limit: config.http.body_inspect_limit,
            },
            http_ports,
            detections: detect::registry(&config.detections)?,
            decider: Decider::new(config.detections.clone(), config.decide.clone()),
            repeats: RepeatFilter::new(config.detections.max_sources),
            shared,
            events,
            published: ReassemblyStats::default(),
            requests_log: config.events.requests_log,
            ignore_paths: config.detections.ignore_paths.clone(),
            stats: PipelineStats::default(),
            pending: Vec::new(),
            inspection: Inspection::default(),
            flow_events: Vec::new(),
            sockdiag_warned: false,
        })
    }

    /// Applies a reloaded config: detections, their modes, thresholds and lists, decide
    /// policy, parsing limits, HTTP ports and the request log tier. Flows and their parse
    /// state are kept; per-source detection windows start over.
    ///
    /// # Errors
    /// Detection setup failed; the previous settings stay.
    pub fn reconfigure(&mut self, config: &Config) -> Result<()> {
        self.detections = detect::registry(&config.detections)?;
        self.decider = Decider::new(config.detections.clone(), config.decide.clone());
        self.limits = Limits {
            max_head: config.http.max_head_bytes,
            max_headers: config.http.max_headers,
            body_limit: config.http.body_inspect_limit,
        };
        self.http_ports = vec![false; 1 << 16];
        for &p in &config.capture.http_ports {
            self.http_ports[usize::from(p)] = true;
        }
        self.requests_log = config.events.requests_log;
        self.ignore_paths = config.detections.ignore_paths.clone();
        Ok(())
    }

    /// Counters so far.
    pub fn stats(&self) -> PipelineStats {
        self.stats
    }

    /// Reassembly counters so far.
    pub fn reassembly_stats(&self) -> crate::reassemble::ReassemblyStats {
        self.reassembler.stats()
    }

    /// Processes one captured frame.
    pub fn on_frame(&mut self, frame: &[u8], now: Instant) {
        self.stats.frames += 1;
        let Ok(segment) = decode(frame) else {
            self.stats.decode_errors += 1;
            return;
        };
        let direction = if self.http_ports[usize::from(segment.dst.port())] {
            Direction::ToServer
        } else if self.http_ports[usize::from(segment.src.port())] {
            Direction::ToClient
        } else {
            return;
        };
        let (limits, pending, scratch) = (&self.limits, &mut self.pending, &mut self.flow_events);
        self.reassembler
            .push(&segment, direction, now, |key, dir, event, flow| {
                collect(pending, scratch, key, dir, event, flow, limits)
            });
        self.drain(now);
    }

    /// Housekeeping: drops idle flows. Call about once a second.
    pub fn tick(&mut self, now: Instant) {
        let (limits, pending, scratch) = (&self.limits, &mut self.pending, &mut self.flow_events);
        self.reassembler.expire(now, |key, dir, event, flow| {
            collect(pending, scratch, key, dir, event, flow, limits)
        });
        self.drain(now);
        let m = &self.shared.metrics;
        m.flows.set(self.reassembler.len() as i64);
        let st = self.reassembler.stats();
        let last = mem::replace(&mut self.published, st);
        let caps = [
            ("flow_buffer", st.flow_buffer_caps - last.flow_buffer_caps),
            (
                "total_buffer",
                st.total_buffer_caps - last.total_buffer_caps,
            ),
            ("flows", st.flows_evicted - last.flows_evicted),
        ];
        for (cap, n) in caps {
            m.reassembly_caps.with_label_values(&[cap]).inc_by(n);
        }
    }

    fn drain(&mut self, now: Instant) {
        let mut pending = mem::take(&mut self.pending);
        for (key, event) in pending.drain(..) {
            match event {
                HttpEvent::Request(request) => self.on_request(&key, &request, now),
                HttpEvent::Response { request, response } => {
                    self.stats.responses += 1;
                    self.shared.metrics.responses.inc();
                    let Head::Response { status } = response.head else {
                        continue;
                    };
                    if (400..500).contains(&status) {
                        self.shared
                            .sources
                            .update(key.client.ip(), |s| s.client_errors += 1);
                    }
                    let info = ResponseInfo {
                        client: key.client.ip(),
                        now,
                        status,
                        request: request.as_ref(),
                    };
                    let mut findings = Vec::new();
                    for d in &mut self.detections {
                        d.on_response(&info, &mut findings);
                    }
                    self.act(&key, None, findings, now);
                }
                HttpEvent::Error { direction, error } => {
                    self.stats.parse_errors += 1;
                    self.shared.metrics.parse_errors.inc();
                    tracing::debug!(client = %key.client, server = %key.server, ?direction, %error, "not parsing this flow direction any more");
                }
            }
        }
        // Keep the (empty) buffer for the next frame, unless handling added events.
        if self.pending.is_empty() {
            self.pending = pending;
        }
    }

    fn on_request(&mut self, key: &FlowKey, request: &crate::parse::Message, now: Instant) {
        self.stats.requests += 1;
        self.shared.metrics.requests.inc();
        self.shared
            .sources
            .update(key.client.ip(), |s| s.requests += 1);
        let mut inspection = std::mem::take(&mut self.inspection);
        inspection.refill(request);
        let ignored = self
            .ignore_paths
            .iter()
            .any(|p| inspection.path().starts_with(p.as_str()));
        let info = RequestInfo {
            source: key.client.ip(),
            now,
            inspection: &inspection,
        };
        let mut findings = Vec::new();
        for d in &mut self.detections {
            if !ignored || d.kind() == DetectionKind::RequestFlood {
                d.on_request(&info, &mut findings);
            }
        }
        let rejected = !findings.is_empty();
        // A request whose findings were all folded as repeats is not logged either.
        let written = self.act(key, Some(&inspection), findings, now);
        if self.requests_log == RequestsLog::All
            || (rejected && written && self.requests_log == RequestsLog::Rejected)
        {
            let mut fields = request_fields(key, Some(&inspection));
            fields.insert("rejected".into(), json!(rejected));
            self.events.write("request", fields);
        }
        self.inspection = inspection;
    }

    fn act(
        &mut self,
        key: &FlowKey,
        inspection: Option<&Inspection>,
        findings: Vec<Finding>,
        now: Instant,
    ) -> bool {
        let source = key.client.ip();
        let mut written = false;
        for finding in findings {
            self.stats.findings += 1;
            let (mode, _) = self.decider.policy(&finding);
            // The allowlist (a map lookup, one system call) matters only to a finding that
            // would ban: a monitored one repeating on every request must not pay for it.
            let allowlisted = mode == Mode::Ban
                && self.shared.store.allowlisted(source).unwrap_or_else(|e| {
                    tracing::warn!(error = %format!("{e:#}"), "allowlist lookup failed; not banning");
                    true
                });
            let action = self.decider.decide(source, &finding, allowlisted, now);
            let (outcome, closed) = match action {
                Action::Ban(ttl) => match self.ban(source, &finding, ttl) {
                    Ok(closed) => ("ban", closed),
                    Err(()) => ("ban_failed", None),
                },
                other => (other.name(), None),
            };
            self.shared
                .metrics
                .detections
                .with_label_values(&[finding.detection.name(), &finding.class, mode.name()])
                .inc();
            let folded = if outcome == "ban" {
                Some(0)
            } else {
                self.repeats
                    .admit(source, finding.detection.name(), &finding.class, now)
            };
            let Some(folded) = folded else {
                continue;
            };
            // The per-source log is one ring for all sources: a repeat folded here must
            // not push other sources' detections out of it.
            self.shared.sources.detection(
                source,
                finding.detection.name(),
                &finding.class,
                outcome,
                &finding.fragment,
            );
            written = true;
            let mut fields = request_fields(key, inspection);
            fields.insert("detection".into(), json!(finding.detection.name()));
            fields.insert("class".into(), json!(finding.class));
            fields.insert("rule".into(), json!(finding.rule));
            fields.insert("location".into(), json!(finding.location.map(|l| l.name())));
            fields.insert("name".into(), json!(finding.name));
            fields.insert("fragment".into(), json!(finding.fragment));
            fields.insert("action".into(), json!(outcome));
            if let Action::Ban(ttl) = action {
                fields.insert("ttl_secs".into(), json!(ttl.as_secs()));
                fields.insert("connections_closed".into(), json!(closed));
            }
            if folded > 0 {
                fields.insert("repeats_folded".into(), json!(folded));
            }
            self.events.write("detection", fields.clone());
            if outcome == "ban" {
                self.shared
                    .metrics
                    .bans_issued
                    .with_label_values(&[finding.detection.name()])
                    .inc();
                self.events.write("ban", fields);
            }
        }
        written
    }

    /// Bans `source`; returns how many of its connections were closed (`None` when closing
    /// them failed), or `Err` when the ban itself failed (logged and counted).
    fn ban(
        &mut self,
        source: IpAddr,
        finding: &Finding,
        ttl: Duration,
    ) -> Result<Option<usize>, ()> {
        let note = format!("{}/{}", finding.detection.name(), finding.class);
        let reason = BanReason::Detection(finding.detection.code());
        // The allowlist was checked by the decider; `force` skips a second scan of it. The
        // ban is in the kernel map on return; its journal line follows within one sync.
        match self.shared.store.ban(
            Target::Addr(source),
            Some(ttl),
            reason,
            Some(&note),
            true,
            false,
        ) {
            Ok(()) => {
                self.stats.bans += 1;
                match sockdiag::destroy_connections(source) {
                    Ok(n) => {
                        self.stats.connections_destroyed += n as u64;
                        Ok(Some(n))
                    }
                    Err(e) => {
                        if !self.sockdiag_warned {
                            self.sockdiag_warned = true;
                            tracing::warn!(error = %format!("{e:#}"), "cannot destroy connections of banned sources");
                        }
                        Ok(None)
                    }
                }
            }
            Err(e) => {
                self.stats.ban_errors += 1;
                tracing::error!(%source, error = %format!("{e:#}"), "ban failed");
                Err(())
            }
        }
    }
}

fn collect(
    pending: &mut Vec<(FlowKey, HttpEvent)>,
    scratch: &mut Vec<HttpEvent>,
    key: &FlowKey,
    dir: Direction,
    event: crate::reassemble::StreamEvent<'_>,
    flow: &mut HttpFlow,
    limits: &Limits,
) {
    flow.on_stream(dir, event, limits, scratch);
    pending.extend(scratch.drain(..).map(|e| (*key, e)));
}

fn request_fields(key: &FlowKey, inspection: Option<&Inspection>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "src".into(),
        json!(key.client.ip().to_canonical().to_string()),
    );
    m.insert("src_port".into(), json!(key.client.port()));
    m.insert(
        "dst".into(),
        json!(key.server.ip().to_canonical().to_string()),
    );
    m.insert("dst_port".into(), json!(key.server.port()));
    if let Some(i) = inspection {
        m.insert("method".into(), json!(i.method()));
        m.insert("host".into(), json!(i.host()));
        m.insert(
            "path".into(),
            json!(i.path().chars().take(256).collect::<String>()),
        );
    }
    m
}

/// Frames in one drain from which the rings count as busy (see [`run`]).
const MODERATION_BATCH: usize = 16;
/// Pause before the next drain of busy rings: at most this much latency added under load,
/// against a poll and a wake-up per frame.
const MODERATION_PAUSE: Duration = Duration::from_micros(100);

/// Runs the pipeline on `rings` (with their interface names) until `stop` is set, applying
/// configs that arrive on `reload`; returns the final counters.
pub fn run(
    mut rings: Vec<(String, PacketRing)>,
    mut pipeline: Pipeline,
    reload: mpsc::Receiver<Config>,
    stop: Arc<AtomicBool>,
) -> PipelineStats {
    let mut fds: Vec<libc::pollfd> = rings
        .iter()
        .map(|(_, r)| libc::pollfd {
            fd: std::os::fd::AsFd::as_fd(r).as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let mut last_tick = Instant::now();
    let mut last_report = Instant::now();
    let mut seen = vec![RingStats::default(); rings.len()];
    // Timer slack bounds how late the moderation sleep below wakes (default 50 us).
    // SAFETY: prctl with integer arguments, for this thread only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 10_000, 0, 0, 0) };
    while !stop.load(Ordering::Relaxed) {
        let mut frames = 0;
        for (_, ring) in &mut rings {
            frames += ring.drain(|frame, _| pipeline.on_frame(frame, Instant::now()));
        }
        // Wake-up moderation, as NAPI does in the kernel: a ring that yields a batch is
        // busy, so let the next batch gather for a moment instead of waking per frame
        // (TPACKET_V2 signals every frame). An idle ring is polled and wakes the thread
        // on its first frame, which keeps a lone attack's ban latency low.
        if frames >= MODERATION_BATCH {
            thread::sleep(MODERATION_PAUSE);
        } else {
            // SAFETY: fds is a valid array of pollfd.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
        }
        while let Ok(config) = reload.try_recv() {
            match pipeline.reconfigure(&config) {
                Ok(()) => tracing::info!("inspection reconfigured"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "inspection reconfiguration failed; keeping the previous settings")
                }
            }
        }
        let now = Instant::now();
        if now.duration_since(last_tick) >= Duration::from_secs(1) {
            pipeline.tick(now);
            for (i, (iface, ring)) in rings.iter_mut().enumerate() {
                let now_stats = ring.stats();
                let metrics = &pipeline.shared.metrics;
                let label = [iface.as_str()];
                metrics
                    .ring_drops
                    .with_label_values(&label)
                    .inc_by(now_stats.drops - seen[i].drops);
                metrics
                    .capture_truncated
                    .with_label_values(&label)
                    .inc_by(now_stats.truncated - seen[i].truncated);
                seen[i] = now_stats;
            }
            last_tick = now;
        }
        if now.duration_since(last_report) >= Duration::from_secs(60) {
            tracing::info!(stats = ?pipeline.stats(), capture = ?seen, "inspection counters");
            last_report = now;
        }
    }
    tracing::info!(stats = ?pipeline.stats(), reassembly = ?pipeline.reassembly_stats(), capture = ?seen, "inspection stopped");
    pipeline.stats()
}
