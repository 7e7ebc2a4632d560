//! `sec-agent run`: load, attach, apply the config, sweep expired bans until stopped.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, JoinHandle},
};

use anyhow::{Context as _, Result, bail};
use aya::programs::SocketFilter;
use clap::Args;
use sec_agent_common::BanReason;
use tokio::signal::unix::{SignalKind, signal};

use crate::{
    CAPTURE_PROGRAM,
    capture::{PacketRing, RingConfig},
    clock,
    config::{Config, Mode, XdpMode},
    enforce::{
        KernelMaps,
        bpffs::{RunLock, ensure_pin_dir},
        loader::{self, Attachment, Loaded},
        maps::reason_name,
    },
    error::input_error,
    events::EventLog,
    pipeline::{self, Pipeline, PipelineStats},
};

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Interface to protect (repeat for several); default: `[xdp] interfaces` of the config.
    #[arg(long = "iface", value_name = "IFACE")]
    ifaces: Vec<String>,
    /// XDP attach mode: auto tries native (driver) first, then generic (skb).
    #[arg(long, value_enum)]
    xdp_mode: Option<XdpMode>,
    /// TOML configuration file; built-in defaults when left out.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// On SIGINT/SIGTERM leave the program attached (enforcement continues without the agent).
    #[arg(long)]
    keep_attached: bool,
}

pub(super) fn run(args: RunArgs, cli_pin_path: Option<PathBuf>) -> Result<()> {
    let config = match &args.config {
        Some(path) => Config::from_file(path).map_err(|e| input_error(e.to_string()))?,
        None => Config::default(),
    };
    let pin_dir = cli_pin_path.unwrap_or_else(|| config.xdp.pin_path.clone());
    let ifaces = if args.ifaces.is_empty() {
        config.xdp.interfaces.clone()
    } else {
        args.ifaces.clone()
    };
    if ifaces.is_empty() {
        return Err(input_error(
            "no interface to protect: pass --iface IFACE or set [xdp] interfaces in the config",
        ));
    }
    // The command line wins over the config.
    let mode = args.xdp_mode.unwrap_or(config.xdp.mode);

    ensure_pin_dir(&pin_dir)?;
    let _lock = RunLock::acquire(&pin_dir)?;
    let mut loaded = loader::load(&config, &pin_dir)?;
    apply_config(&config, &mut loaded.maps)?;
    let mut attached = Vec::new();
    for iface in &ifaces {
        let a = match loaded.attach(iface, mode) {
            Ok(a) => a,
            Err(e) => {
                // Leave nothing half-done: undo this run's new attachments (adopted ones
                // were there before and stay).
                let fresh: Vec<_> = attached
                    .into_iter()
                    .filter(|a: &Attachment| !a.adopted)
                    .collect();
                let _ = stop_attachments(&mut loaded.maps, &fresh);
                return Err(e);
            }
        };
        tracing::info!(
            iface = %a.iface,
            ifindex = a.ifindex,
            mode = a.mode.map_or("unknown", |m| m.name()),
            adopted = a.adopted,
            pinned = a.pinned,
            "XDP attached"
        );
        attached.push(a);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let inspector =
        match start_inspection(&config, &mut loaded, &ifaces, &pin_dir, Arc::clone(&stop)) {
            Ok(handle) => handle,
            Err(e) => {
                let fresh: Vec<_> = attached.into_iter().filter(|a| !a.adopted).collect();
                let _ = stop_attachments(&mut loaded.maps, &fresh);
                return Err(e);
            }
        };
    tracing::info!(pin_path = %pin_dir.display(), interfaces = ifaces.len(), "sec-agent running");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let sweep_every = config.xdp.sweep_interval;
    let mut events = EventLog::open(&config.events.file)?;
    runtime.block_on(async {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut tick = tokio::time::interval(sweep_every);
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = tick.tick() => sweep(&mut loaded.maps, &mut events),
            }
        }
        anyhow::Ok(())
    })?;

    stop.store(true, Ordering::Relaxed);
    if let Some(handle) = inspector {
        let _ = handle.join();
    }
    if args.keep_attached {
        tracing::info!("stopping; XDP stays attached (--keep-attached)");
    } else {
        stop_attachments(&mut loaded.maps, &attached)?;
    }
    Ok(())
}

/// Starts HTTP inspection on `ifaces` (capture rings, socket filter, pipeline thread);
/// `None` when every detection is off or no HTTP port is configured.
fn start_inspection(
    config: &Config,
    loaded: &mut Loaded,
    ifaces: &[String],
    pin_dir: &Path,
    stop: Arc<AtomicBool>,
) -> Result<Option<JoinHandle<PipelineStats>>> {
    loaded.maps.set_http_ports(&config.capture.http_ports)?;
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
        block_size: config.capture.ring_block_size,
        blocks: config.capture.ring_blocks,
        block_timeout: config.capture.ring_block_timeout,
    };
    let rings = ifaces
        .iter()
        .map(|i| PacketRing::open(i, ring, filter).with_context(|| format!("capture on {i}")))
        .collect::<Result<Vec<_>>>()?;
    let events = EventLog::open(&config.events.file)?;
    let pipeline = Pipeline::new(config, KernelMaps::open(pin_dir)?, events)?;
    tracing::info!(ports = ?config.capture.http_ports, "HTTP inspection on");
    let handle = thread::Builder::new()
        .name("inspect".into())
        .spawn(move || pipeline::run(rings, pipeline, stop))
        .context("starting the inspection thread")?;
    Ok(Some(handle))
}

/// Writes what the config says into the maps; what it leaves out keeps its current value.
fn apply_config(config: &Config, maps: &mut KernelMaps) -> Result<()> {
    if let Some(rl) = &config.rate_limit {
        let cfg = rl.get_ref().to_rate_config().map_err(input_error)?;
        maps.set_rate(cfg)?;
    }
    for cidr in &config.allowlist.cidrs {
        maps.allow(cidr.0)?;
    }
    for port in &config.ports.restricted {
        maps.restrict(*port)?;
    }
    if !config.ports.restricted.is_empty() && maps.allowlist()?.is_empty() {
        tracing::warn!(
            "restricted ports are configured but the allowlist is empty: no client can reach them"
        );
    }
    Ok(())
}

/// Removes expired bans and logs an `unban` event for each.
fn sweep(maps: &mut KernelMaps, events: &mut EventLog) {
    match maps.sweep_expired(clock::boot_ns()) {
        Ok(expired) => {
            for (target, entry) in expired {
                let mut fields = serde_json::Map::new();
                fields.insert("src".into(), serde_json::json!(target.to_string()));
                fields.insert(
                    "reason".into(),
                    serde_json::json!(reason_name(BanReason::from_code(entry.reason))),
                );
                fields.insert("action".into(), serde_json::json!("expired"));
                events.write("unban", fields);
            }
        }
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "sweeping expired bans failed"),
    }
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
