//! The running agent: attaches XDP, restores its state, inspects HTTP, answers the control
//! socket, serves metrics, reloads on SIGHUP, sweeps and reconciles, and talks to systemd.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use aya::programs::SocketFilter;
use ipnet::IpNet;
use sec_agent_common::BanReason;
use serde_json::{Map, Value, json};
use tokio::signal::unix::{SignalKind, signal};

use crate::{
    CAPTURE_PROGRAM,
    capture::{PacketRing, RingConfig},
    config::{Config, Mode, XdpMode},
    control::{self, Handler, Request},
    detect::{self, DetectionKind},
    enforce::{
        KernelMaps,
        bpffs::{RunLock, ensure_pin_dir},
        loader::{self, Attachment, Loaded},
    },
    error::input_error,
    events::EventLog,
    metrics::{self, Metrics},
    net::Target,
    pipeline::{self, Pipeline, PipelineStats, Shared},
    sources::SourceLog,
    state::{Restored, Store},
    systemd,
};

/// Default state directory when neither `--state-dir` nor `$STATE_DIRECTORY` says.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/sec-agent";

/// How `run` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Interfaces from the command line (else the config's).
    pub ifaces: Vec<String>,
    /// Attach mode from the command line (else the config's).
    pub xdp_mode: Option<XdpMode>,
    /// Config file (reloaded on SIGHUP).
    pub config: Option<PathBuf>,
    /// Pin directory from the command line (else the config's).
    pub pin_path: Option<PathBuf>,
    /// State directory from the command line.
    pub state_dir: Option<PathBuf>,
    /// Control socket from the command line (else the config's).
    pub control_socket: Option<PathBuf>,
    /// Leave XDP attached on SIGINT/SIGTERM.
    pub keep_attached: bool,
}

/// The state directory: explicit, else systemd's `$STATE_DIRECTORY` (first entry), else
/// [`DEFAULT_STATE_DIR`].
pub fn state_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    std::env::var("STATE_DIRECTORY")
        .ok()
        .and_then(|v| {
            v.split(':')
                .next()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The shared part of a running agent, used by the control socket and the timers.
pub struct Daemon {
    shared: Shared,
    config: Mutex<Config>,
    config_path: Option<PathBuf>,
    reload_tx: Mutex<Option<mpsc::Sender<Config>>>,
    events: Mutex<EventLog>,
    interfaces: Vec<Value>,
    started: Instant,
    restored: Restored,
    state_dir: PathBuf,
}

/// Loads the config named in `opts` (or the built-in defaults).
///
/// # Errors
/// [`crate::error::InputError`] naming the file, line and key.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Config::from_file(p).map_err(|e| input_error(e.to_string())),
        None => Ok(Config::default()),
    }
}

/// Runs the agent until SIGINT or SIGTERM.
///
/// # Errors
/// Anything that prevents enforcement from starting; what was attached is rolled back.
pub fn run(opts: Options) -> Result<()> {
    let config = load_config(opts.config.as_deref())?;
    let pin_dir = opts
        .pin_path
        .clone()
        .unwrap_or_else(|| config.xdp.pin_path.clone());
    let ifaces = if opts.ifaces.is_empty() {
        config.xdp.interfaces.clone()
    } else {
        opts.ifaces.clone()
    };
    if ifaces.is_empty() {
        return Err(input_error(
            "no interface to protect: pass --iface IFACE or set [xdp] interfaces in the config",
        ));
    }
    // The command line wins over the config.
    let mode = opts.xdp_mode.unwrap_or(config.xdp.mode);
    ensure_pin_dir(&pin_dir)?;
    let _lock = RunLock::acquire(&pin_dir)?;
    let mut loaded = loader::load(&config, &pin_dir)?;
    apply_kernel_config(&config, None, &mut loaded.maps)?;

    let mut attached: Vec<Attachment> = Vec::new();
    let started = (|| -> Result<_> {
        for iface in &ifaces {
            let a = loaded.attach(iface, mode)?;
            tracing::info!(iface = %a.iface, ifindex = a.ifindex, mode = a.mode.map_or("unknown", |m| m.name()), adopted = a.adopted, pinned = a.pinned, "XDP attached");
            attached.push(a);
        }
        let state_dir = state_dir(opts.state_dir.as_deref());
        let config_allow: Vec<IpNet> = config.allowlist.cidrs.iter().map(|c| c.0).collect();
        let (store, restored) = Store::open(&state_dir, KernelMaps::open(&pin_dir)?, &config_allow)
            .with_context(|| format!("restoring state from {}", state_dir.display()))?;
        tracing::info!(dir = %state_dir.display(), bans = restored.bans, expired = restored.expired, adopted = restored.adopted, repairs = restored.repairs, skipped_lines = restored.skipped_lines, "state restored");
        let shared = Shared {
            store: Arc::new(store),
            metrics: Arc::new(Metrics::new()),
            sources: Arc::new(SourceLog::new(config.detections.max_sources)),
        };
        Ok((shared, restored, state_dir))
    })();
    let (shared, restored, state_dir) = match started {
        Ok(s) => s,
        Err(e) => {
            rollback(&mut loaded.maps, attached);
            return Err(e);
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (reload_tx, reload_rx) = mpsc::channel();
    let inspector = match start_inspection(
        &config,
        &mut loaded,
        &ifaces,
        shared.clone(),
        reload_rx,
        Arc::clone(&stop),
    ) {
        Ok(h) => h,
        Err(e) => {
            rollback(&mut loaded.maps, attached);
            return Err(e);
        }
    };
    let daemon = Arc::new(Daemon {
        shared: shared.clone(),
        config: Mutex::new(config.clone()),
        config_path: opts.config.clone(),
        reload_tx: Mutex::new(Some(reload_tx)),
        events: Mutex::new(EventLog::open(&config.events.file)?),
        interfaces: attached
            .iter()
            .map(|a| json!({"iface": a.iface, "mode": a.mode.map(|m| m.name()), "adopted": a.adopted, "pinned": a.pinned}))
            .collect(),
        started: Instant::now(),
        restored,
        state_dir,
    });
    let socket = opts
        .control_socket
        .clone()
        .unwrap_or_else(|| config.control.socket.clone());
    control::serve(&socket, Arc::clone(&daemon) as Arc<dyn Handler>)?;
    if !config.metrics.listen.is_empty() {
        let listen: SocketAddr = config.metrics.listen.parse().map_err(|e| {
            input_error(format!(
                "[metrics] listen = {:?}: {e}",
                config.metrics.listen
            ))
        })?;
        let d = Arc::clone(&daemon);
        let bound = metrics::serve(listen, Arc::clone(&shared.metrics), move || {
            d.refresh_metrics()
        })?;
        tracing::info!(%bound, "metrics on /metrics");
    }
    daemon.refresh_fill();
    tracing::info!(pin_path = %pin_dir.display(), interfaces = ifaces.len(), control = %socket.display(), "sec-agent running");
    systemd::notify("READY=1\nSTATUS=enforcing");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(daemon.clone().main_loop(&config));
    systemd::notify("STOPPING=1");
    stop.store(true, Ordering::Relaxed);
    if let Some(handle) = inspector {
        let _ = handle.join();
    }
    let _ = std::fs::remove_file(&socket);
    if opts.keep_attached {
        tracing::info!("stopping; XDP stays attached (--keep-attached)");
    } else {
        stop_attachments(&mut loaded.maps, &attached)?;
    }
    result
}

impl Daemon {
    async fn main_loop(self: Arc<Self>, config: &Config) -> Result<()> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut sweep = tokio::time::interval(config.xdp.sweep_interval);
        let mut reconcile = tokio::time::interval(config.state.reconcile_interval);
        reconcile.tick().await; // The first tick is immediate; start just did it.
        let watchdog = systemd::watchdog_interval();
        let mut dog = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        loop {
            tokio::select! {
                _ = term.recv() => return Ok(()),
                _ = int.recv() => return Ok(()),
                _ = hup.recv() => {
                    let d = Arc::clone(&self);
                    let _ = tokio::task::spawn_blocking(move || d.reload()).await;
                }
                _ = sweep.tick() => self.sweep(),
                _ = reconcile.tick() => self.reconcile(),
                _ = dog.tick() => if watchdog.is_some() { systemd::notify("WATCHDOG=1"); },
            }
        }
    }

    /// Re-reads the config file; on success applies it without detaching or losing state,
    /// on failure keeps the running config. Logs and counts either way.
    ///
    /// # Errors
    /// The new config is invalid (the message names file, line and key).
    pub fn reload(&self) -> Result<()> {
        systemd::notify("RELOADING=1");
        let result = self.try_reload();
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.shared
            .metrics
            .reloads
            .with_label_values(&[outcome])
            .inc();
        match &result {
            Ok(()) => tracing::info!("config reloaded"),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "config reload failed; keeping the running config")
            }
        }
        systemd::notify("READY=1");
        result
    }

    fn try_reload(&self) -> Result<()> {
        let Some(path) = &self.config_path else {
            bail!("the agent was started without --config: nothing to reload");
        };
        let new = load_config(Some(path))?;
        // Build the detections once to reject bad pattern files before anything changes.
        detect::registry(&new.detections).context("detections")?;
        let mut current = self.config.lock().unwrap_or_else(|p| p.into_inner());
        for (what, old, new) in restart_only(&current, &new) {
            tracing::warn!(setting = what, running = %old, file = %new, "changed in the file; takes effect at the next restart");
        }
        self.shared
            .store
            .with_maps(|m| apply_kernel_config(&new, Some(&current), m))?;
        let allow: Vec<IpNet> = new.allowlist.cidrs.iter().map(|c| c.0).collect();
        self.shared.store.set_config_allow(&allow)?;
        if let Some(tx) = self
            .reload_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send(new.clone());
        }
        *current = new;
        Ok(())
    }

    fn sweep(&self) {
        match self.shared.store.sweep() {
            Ok(expired) => {
                let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
                for (target, ban) in expired {
                    self.shared
                        .metrics
                        .unbans
                        .with_label_values(&["expired"])
                        .inc();
                    let mut f = Map::new();
                    f.insert("src".into(), json!(target.to_string()));
                    f.insert("reason".into(), json!(origin_name(ban.reason)));
                    f.insert("action".into(), json!("expired"));
                    events.write("unban", f);
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "sweeping expired bans failed"),
        }
    }

    fn reconcile(&self) {
        match self.shared.store.reconcile() {
            Ok(r) => {
                let m = &self.shared.metrics;
                m.repairs.with_label_values(&["missing"]).inc_by(r.missing);
                m.repairs.with_label_values(&["extra"]).inc_by(r.extra);
                m.repairs.with_label_values(&["stale"]).inc_by(r.stale);
                if r.total() > 0 {
                    tracing::warn!(
                        missing = r.missing,
                        extra = r.extra,
                        stale = r.stale,
                        "kernel maps drifted from the desired state; repaired"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reconciliation failed"),
        }
        self.refresh_fill();
    }

    fn refresh_fill(&self) {
        if let Ok(fill) = self.shared.store.with_maps(|m| m.fill()) {
            for f in fill {
                self.shared
                    .metrics
                    .map_fill
                    .with_label_values(&[f.name])
                    .set(f.entries as f64 / f64::from(f.capacity.max(1)));
            }
        }
    }

    /// Reads the kernel counters and ban totals into the metrics (before each scrape).
    pub fn refresh_metrics(&self) {
        let m = &self.shared.metrics;
        if let Ok(stats) = self.shared.store.with_maps(|maps| maps.stats()) {
            m.set_xdp(&stats);
        }
        m.bans_active.reset();
        for (reason, n) in self.shared.store.bans_by_reason() {
            m.bans_active
                .with_label_values(&[&origin_name(reason)])
                .set(n as i64);
        }
    }

    fn event(&self, kind: &str, fields: Map<String, Value>) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write(kind, fields);
    }
}

impl Handler for Daemon {
    fn handle(&self, request: Request) -> Result<Value> {
        let store = &self.shared.store;
        match request {
            Request::Ban {
                target,
                ttl_secs,
                note,
                force,
            } => {
                let t: Target = target
                    .parse()
                    .map_err(|e: crate::net::TargetError| input_error(e.to_string()))?;
                let ttl = ttl_secs.map(Duration::from_secs);
                store.ban(t, ttl, BanReason::Manual, note.as_deref(), force, true)?;
                self.shared
                    .metrics
                    .bans_issued
                    .with_label_values(&["manual"])
                    .inc();
                let mut f = Map::new();
                f.insert("src".into(), json!(t.to_string()));
                f.insert("reason".into(), json!("manual"));
                f.insert("note".into(), json!(note));
                f.insert("ttl_secs".into(), json!(ttl_secs));
                f.insert("action".into(), json!("ban"));
                self.event("ban", f);
                Ok(json!({"banned": t.to_string(), "ttl_secs": ttl_secs, "journaled": true}))
            }
            Request::Unban { targets } => {
                let mut done = Vec::new();
                let mut missing = Vec::new();
                for s in targets {
                    let t: Target = s
                        .parse()
                        .map_err(|e: crate::net::TargetError| input_error(e.to_string()))?;
                    if store.unban(t)? {
                        self.shared
                            .metrics
                            .unbans
                            .with_label_values(&["manual"])
                            .inc();
                        let mut f = Map::new();
                        f.insert("src".into(), json!(t.to_string()));
                        f.insert("action".into(), json!("manual"));
                        self.event("unban", f);
                        done.push(t.to_string());
                    } else {
                        missing.push(t.to_string());
                    }
                }
                if !missing.is_empty() {
                    return Err(input_error(format!("not banned: {}", missing.join(", "))));
                }
                Ok(json!({"unbanned": done}))
            }
            Request::Allow { nets } => {
                let nets = parse_nets(&nets)?;
                for n in &nets {
                    store.allow(*n)?;
                }
                Ok(json!({"allowed": nets.iter().map(|n| n.to_string()).collect::<Vec<_>>()}))
            }
            Request::Disallow { nets } => {
                let nets = parse_nets(&nets)?;
                let mut missing = Vec::new();
                let mut done = Vec::new();
                for n in nets {
                    if store.disallow(n)? {
                        done.push(n.to_string());
                    } else {
                        missing.push(n.to_string());
                    }
                }
                if !missing.is_empty() {
                    return Err(input_error(format!(
                        "not in the allowlist: {}",
                        missing.join(", ")
                    )));
                }
                Ok(json!({"removed": done}))
            }
            Request::Status => {
                let m = &self.shared.metrics;
                let r = &self.restored;
                let repairs = store.repairs();
                Ok(json!({
                    "pid": std::process::id(),
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptime_secs": self.started.elapsed().as_secs(),
                    "config": self.config_path.as_ref().map(|p| p.display().to_string()),
                    "state_dir": self.state_dir.display().to_string(),
                    "interfaces": self.interfaces,
                    "restored": {"bans": r.bans, "expired": r.expired, "adopted": r.adopted, "skipped_lines": r.skipped_lines, "repairs": r.repairs},
                    "repairs": {"missing": repairs.missing, "extra": repairs.extra, "stale": repairs.stale},
                    "requests_inspected": m.requests.get(),
                    "flows_tracked": m.flows.get(),
                }))
            }
            Request::Ip { addr } => {
                let ip: IpAddr = addr
                    .parse()
                    .map_err(|_| input_error(format!("`{addr}` is not an IP address")))?;
                let info = store.lookup(ip)?;
                let source = self.shared.sources.get(ip).unwrap_or_default();
                Ok(json!({
                    "address": ip.to_canonical().to_string(),
                    "banned": info.ban.is_some(),
                    "ban": info.ban.map(|(t, b)| json!({
                        "target": t.to_string(),
                        "origin": origin_name(b.reason),
                        "note": b.note,
                        "permanent": b.expires_ms == 0,
                        "expires": (b.expires_ms != 0).then(|| humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(b.expires_ms)).to_string()),
                    })),
                    "allowlisted": info.allowlisted,
                    "requests": source.requests,
                    "client_errors": source.client_errors,
                    "bans_issued": source.bans,
                    "recent_detections": source.recent,
                }))
            }
            Request::Reload => {
                self.reload()?;
                Ok(json!({"reloaded": true}))
            }
        }
    }
}

fn parse_nets(nets: &[String]) -> Result<Vec<IpNet>> {
    nets.iter()
        .map(|n| crate::net::parse_net(n).map_err(|e| input_error(e.to_string())))
        .collect()
}

/// Origin label of a ban reason code: `manual`, `imported`, a detection name, `unknown`.
pub fn origin_name(code: u32) -> String {
    match BanReason::from_code(code) {
        BanReason::Manual => "manual".into(),
        BanReason::Imported => "imported".into(),
        BanReason::Detection(k) => DetectionKind::from_code(k)
            .map_or_else(|| format!("detection:{k}"), |d| d.name().to_string()),
        BanReason::Unknown(_) => "unknown".into(),
    }
}

/// Settings a reload cannot change, as (name, running, in the file).
fn restart_only(old: &Config, new: &Config) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, a: String, b: String| {
        if a != b {
            out.push((name, a, b));
        }
    };
    check(
        "[xdp] interfaces/mode/pin_path",
        format!(
            "{:?}",
            (&old.xdp.interfaces, old.xdp.mode, &old.xdp.pin_path)
        ),
        format!(
            "{:?}",
            (&new.xdp.interfaces, new.xdp.mode, &new.xdp.pin_path)
        ),
    );
    check(
        "[maps]",
        format!("{:?}", old.maps),
        format!("{:?}", new.maps),
    );
    check(
        "[capture] ring",
        format!(
            "{:?}",
            (
                old.capture.ring_version,
                old.capture.ring_block_size,
                old.capture.ring_blocks,
                old.capture.ring_block_timeout
            )
        ),
        format!(
            "{:?}",
            (
                new.capture.ring_version,
                new.capture.ring_block_size,
                new.capture.ring_blocks,
                new.capture.ring_block_timeout
            )
        ),
    );
    check(
        "[reassembly]",
        format!("{:?}", old.reassembly),
        format!("{:?}", new.reassembly),
    );
    check(
        "[events] file",
        format!("{:?}", old.events.file),
        format!("{:?}", new.events.file),
    );
    check(
        "[control]",
        format!("{:?}", old.control),
        format!("{:?}", new.control),
    );
    check(
        "[metrics]",
        format!("{:?}", old.metrics),
        format!("{:?}", new.metrics),
    );
    out
}

/// Writes the config's rate limit, restricted ports and HTTP ports into the maps. With
/// `previous`, ports that the previous config restricted and this one does not are lifted
/// (ports restricted with the CLI are left alone).
fn apply_kernel_config(
    config: &Config,
    previous: Option<&Config>,
    maps: &mut KernelMaps,
) -> Result<()> {
    if let Some(rl) = &config.rate_limit {
        let cfg = rl.get_ref().to_rate_config().map_err(input_error)?;
        maps.set_rate(cfg)?;
    }
    if let Some(prev) = previous {
        for p in &prev.ports.restricted {
            if !config.ports.restricted.contains(p) {
                maps.unrestrict(*p)?;
            }
        }
    }
    for port in &config.ports.restricted {
        maps.restrict(*port)?;
    }
    if !config.ports.restricted.is_empty()
        && maps.allowlist()?.is_empty()
        && config.allowlist.cidrs.is_empty()
    {
        tracing::warn!(
            "restricted ports are configured but the allowlist is empty: no client can reach them"
        );
    }
    maps.set_http_ports(&config.capture.http_ports)?;
    Ok(())
}

/// Starts HTTP inspection (socket filter, rings, pipeline thread); `None` when every
/// detection is off or no HTTP port is configured.
fn start_inspection(
    config: &Config,
    loaded: &mut Loaded,
    ifaces: &[String],
    shared: Shared,
    reload: mpsc::Receiver<Config>,
    stop: Arc<AtomicBool>,
) -> Result<Option<JoinHandle<PipelineStats>>> {
    let d = &config.detections;
    let all_off = [
        d.payload.mode,
        d.user_agent.mode,
        d.user_agent.missing,
        d.enumeration.mode,
        d.request_flood.mode,
        d.decoy_path.mode,
    ]
    .iter()
    .all(|m| *m == Mode::Off);
    if all_off || config.capture.http_ports.is_empty() {
        tracing::info!("HTTP inspection disabled (no detection on, or no HTTP port)");
        return Ok(None);
    }
    let filter: &mut SocketFilter = loaded
        .ebpf
        .program_mut(CAPTURE_PROGRAM)
        .context("capture program missing from the object")?
        .try_into()?;
    filter
        .load()
        .context("the kernel refused the capture socket filter (verifier)")?;
    let ring = RingConfig {
        version: config.capture.ring_version,
        block_size: config.capture.ring_block_size,
        blocks: config.capture.ring_blocks,
        block_timeout: config.capture.ring_block_timeout,
    };
    let rings = ifaces
        .iter()
        .map(|i| {
            PacketRing::open(i, ring, filter)
                .with_context(|| format!("capture on {i}"))
                .map(|r| (i.clone(), r))
        })
        .collect::<Result<Vec<_>>>()?;
    let events = EventLog::open(&config.events.file)?;
    let pipeline = Pipeline::new(config, shared, events)?;
    tracing::info!(ports = ?config.capture.http_ports, "HTTP inspection on");
    let handle = thread::Builder::new()
        .name("inspect".into())
        .spawn(move || pipeline::run(rings, pipeline, reload, stop))
        .context("starting the inspection thread")?;
    Ok(Some(handle))
}

fn rollback(maps: &mut KernelMaps, attached: Vec<Attachment>) {
    // Leave nothing half-done: undo this run's new attachments (adopted ones stay).
    let fresh: Vec<_> = attached.into_iter().filter(|a| !a.adopted).collect();
    let _ = stop_attachments(maps, &fresh);
}

fn stop_attachments(maps: &mut KernelMaps, attached: &[Attachment]) -> Result<()> {
    let mut failed = false;
    for a in attached {
        if let Err(e) = loader::detach(maps, a) {
            tracing::error!(iface = %a.iface, error = %format!("{e:#}"), "detach failed");
            failed = true;
        } else {
            tracing::info!(iface = %a.iface, "XDP detached");
        }
    }
    if failed {
        bail!("some interfaces could not be detached");
    }
    Ok(())
}
