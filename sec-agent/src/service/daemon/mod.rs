//! The running agent: attaches XDP, restores its state, inspects HTTP, answers the control
//! socket, serves metrics, reloads on SIGHUP, sweeps and reconciles, and talks to systemd.
//!
//! Start and stop live here; the control verbs in `handler.rs`, the timers in `tasks.rs`,
//! reloading in `reload.rs`, and the inspection thread with its interfaces in
//! `inspection.rs`.

mod handler;
mod inspection;
mod reload;
mod tasks;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use ipnet::IpNet;
use tokio::signal::unix::{SignalKind, signal};

pub use reload::load_config;

use super::{
    control,
    events::EventLog,
    metrics,
    report::Reporter,
    state::{Restored, Store},
    systemd,
};
use crate::{
    config::{Config, XdpMode},
    error::input_error,
    kernel::{
        KernelMaps,
        bpffs::{RunLock, ensure_pin_dir},
        loader::{self, Attachment},
    },
};
use inspection::Interfaces;

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
    store: Arc<Store>,
    reporter: Arc<Reporter>,
    config: Mutex<Config>,
    config_path: Option<PathBuf>,
    reload_tx: Mutex<Option<mpsc::Sender<Config>>>,
    interfaces: Mutex<Interfaces>,
    started: Instant,
    restored: Restored,
    state_dir: PathBuf,
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
    reload::apply_kernel_config(&config, None, &mut loaded.maps)?;

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
        let reporter = Reporter::new(
            EventLog::open(&config.events.file)?,
            config.detections.max_sources,
            config.events.requests_log,
        );
        Ok((Arc::new(store), Arc::new(reporter), restored, state_dir))
    })();
    let (store, reporter, restored, state_dir) = match started {
        Ok(s) => s,
        Err(e) => {
            rollback(&mut loaded.maps, attached);
            return Err(e);
        }
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (reload_tx, reload_rx) = mpsc::channel();
    let mut interfaces = Interfaces::new(loaded, attached, mode);
    let inspector = match interfaces.start_inspection(
        &config,
        Arc::clone(&store),
        Arc::clone(&reporter),
        reload_rx,
        Arc::clone(&stop),
    ) {
        Ok(h) => h,
        Err(e) => {
            interfaces.rollback();
            return Err(e);
        }
    };
    let daemon = Arc::new(Daemon {
        store,
        reporter: Arc::clone(&reporter),
        config: Mutex::new(config.clone()),
        config_path: opts.config.clone(),
        reload_tx: Mutex::new(Some(reload_tx)),
        interfaces: Mutex::new(interfaces),
        started: Instant::now(),
        restored,
        state_dir,
    });
    let socket = opts
        .control_socket
        .clone()
        .unwrap_or_else(|| config.control.socket.clone());
    control::serve(&socket, Arc::clone(&daemon) as Arc<dyn control::Handler>)?;
    if !config.metrics.listen.is_empty() {
        let listen: SocketAddr = config.metrics.listen.parse().map_err(|e| {
            input_error(format!(
                "[metrics] listen = {:?}: {e}",
                config.metrics.listen
            ))
        })?;
        let d = Arc::clone(&daemon);
        let bound = metrics::serve(listen, Arc::clone(reporter.metrics()), move || {
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
        daemon.lock_interfaces().stop()?;
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
        let mut interfaces = tokio::time::interval(Duration::from_secs(1));
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
                _ = interfaces.tick() => self.watch_interfaces(),
                _ = dog.tick() => if watchdog.is_some() { systemd::notify("WATCHDOG=1"); },
            }
        }
    }

    fn lock_interfaces(&self) -> std::sync::MutexGuard<'_, Interfaces> {
        self.interfaces.lock().unwrap_or_else(|p| p.into_inner())
    }
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
