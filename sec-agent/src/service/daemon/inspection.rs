//! The protected interfaces and the inspection thread: starting capture, and following
//! interfaces that disappear and come back while the agent runs (a deleted veth, a
//! container's namespace removed and recreated).

use std::{
    sync::{Arc, atomic::AtomicBool, mpsc},
    thread::{self, JoinHandle},
};

use anyhow::{Context as _, Result};
use aya::programs::SocketFilter;
use serde_json::{Value, json};

use super::{Daemon, stop_attachments};
use crate::{
    CAPTURE_PROGRAM,
    config::{Config, XdpMode},
    kernel::{
        capture::{CaptureConfig, PacketRing},
        loader::{self, Attachment, Loaded},
    },
    pipeline::{self, InterfaceState, Pipeline, Rings},
    service::{enforcer::KernelEnforcer, report::Reporter, state::Store},
};

/// One protected interface.
struct Interface {
    name: String,
    state: InterfaceState,
    /// The attachment while it is up.
    attachment: Option<Attachment>,
    /// Times it disappeared.
    losses: u64,
}

/// The loaded programs and the protected interfaces, with the channels to the
/// inspection thread's rings.
pub(super) struct Interfaces {
    loaded: Loaded,
    mode: XdpMode,
    list: Vec<Interface>,
    /// `None` while inspection is off.
    capture: Option<Capture>,
}

struct Capture {
    config: CaptureConfig,
    add: mpsc::Sender<(String, u32, PacketRing)>,
    lost: mpsc::Receiver<(String, u32)>,
}

impl Interfaces {
    pub(super) fn new(loaded: Loaded, attached: Vec<Attachment>, mode: XdpMode) -> Self {
        Interfaces {
            loaded,
            mode,
            list: attached
                .into_iter()
                .map(|a| Interface {
                    name: a.iface.clone(),
                    state: InterfaceState::Up,
                    attachment: Some(a),
                    losses: 0,
                })
                .collect(),
            capture: None,
        }
    }

    fn filter(&mut self) -> Result<&mut SocketFilter> {
        Ok(self
            .loaded
            .ebpf
            .program_mut(CAPTURE_PROGRAM)
            .context("capture program missing from the object")?
            .try_into()?)
    }

    /// Starts HTTP inspection (socket filter, rings, pipeline thread); `None` when every
    /// detection is off or no HTTP port is configured.
    pub(super) fn start_inspection(
        &mut self,
        config: &Config,
        store: Arc<Store>,
        reporter: Arc<Reporter>,
        reload: mpsc::Receiver<Config>,
        stop: Arc<AtomicBool>,
    ) -> Result<Option<JoinHandle<()>>> {
        if !config.detections.any_enabled() || config.capture.http_ports.is_empty() {
            tracing::info!("HTTP inspection disabled (no detection on, or no HTTP port)");
            return Ok(None);
        }
        self.filter()?
            .load()
            .context("the kernel refused the capture socket filter (verifier)")?;
        let names: Vec<(String, u32)> = self
            .list
            .iter()
            .filter_map(|i| i.attachment.as_ref().map(|a| (a.iface.clone(), a.ifindex)))
            .collect();
        let filter = self.filter()?;
        let rings = names
            .into_iter()
            .map(|(iface, ifindex)| {
                PacketRing::open(&iface, &config.capture, filter)
                    .with_context(|| format!("capture on {iface}"))
                    .map(|r| (iface, ifindex, r))
            })
            .collect::<Result<Vec<_>>>()?;
        let (add_tx, add_rx) = mpsc::channel();
        let (lost_tx, lost_rx) = mpsc::channel();
        let pipeline = Pipeline::new(config, KernelEnforcer::new(store), reporter)?;
        tracing::info!(ports = ?config.capture.http_ports, "HTTP inspection on");
        let rings = Rings::new(rings, add_rx, lost_tx);
        let handle = thread::Builder::new()
            .name("inspect".into())
            .spawn(move || pipeline::run(rings, pipeline, reload, stop))
            .context("starting the inspection thread")?;
        self.capture = Some(Capture {
            config: config.capture.clone(),
            add: add_tx,
            lost: lost_rx,
        });
        Ok(Some(handle))
    }

    /// Frees the records of interfaces that disappeared (reported by the inspection
    /// thread, or found gone here: without inspection nobody else looks), and attaches
    /// again to those that came back; returns the names lost in this call.
    fn watch(&mut self) -> Vec<String> {
        let reported: Vec<(String, u32)> = match &self.capture {
            Some(c) => c.lost.try_iter().collect(),
            None => Vec::new(),
        };
        let mut lost_now = Vec::new();
        for i in 0..self.list.len() {
            let Some(a) = &self.list[i].attachment else {
                continue;
            };
            // A report about an earlier incarnation (already lost and re-attached) is stale.
            let reported = reported
                .iter()
                .any(|(name, ifindex)| *name == a.iface && *ifindex == a.ifindex);
            if reported || loader::ifindex(&a.iface).ok() != Some(a.ifindex) {
                self.lose(i);
                lost_now.push(self.list[i].name.clone());
            }
        }
        let gone: Vec<String> = self
            .list
            .iter()
            .filter(|i| i.state == InterfaceState::Gone)
            .filter(|i| loader::ifindex(&i.name).is_ok())
            .map(|i| i.name.clone())
            .collect();
        for name in gone {
            if let Err(e) = self.reattach(&name) {
                tracing::warn!(iface = %name, error = %format!("{e:#}"), "attaching to the returned interface failed; trying again in a second");
            }
        }
        lost_now
    }

    /// Marks interface `i` gone and frees its attachment record (pinned link and `ifaces`
    /// entry; the kernel detached the program with the device).
    fn lose(&mut self, i: usize) {
        let iface = &mut self.list[i];
        if let Some(a) = iface.attachment.take() {
            if let Err(e) = loader::detach(&mut self.loaded.maps, &a) {
                tracing::warn!(iface = %a.iface, ifindex = a.ifindex, error = %format!("{e:#}"), "freeing the attachment record failed");
            }
            if self.capture.is_none() {
                tracing::warn!(iface = %a.iface, ifindex = a.ifindex, "interface is gone; it is attached again when an interface of that name appears");
            }
        }
        iface.state = InterfaceState::Gone;
        iface.losses += 1;
    }

    fn reattach(&mut self, name: &str) -> Result<()> {
        let a = self.loaded.attach(name, self.mode)?;
        tracing::info!(iface = %a.iface, ifindex = a.ifindex, mode = a.mode.map_or("unknown", |m| m.name()), "interface is back: XDP attached");
        if let Some(config) = self.capture.as_ref().map(|c| c.config.clone()) {
            let ring = PacketRing::open(name, &config, self.filter()?)
                .with_context(|| format!("capture on {name}"))?;
            if let Some(c) = &self.capture {
                let _ = c.add.send((name.to_string(), a.ifindex, ring));
            }
        }
        if let Some(i) = self.list.iter_mut().find(|i| i.name == name) {
            i.attachment = Some(a);
            i.state = InterfaceState::Up;
        }
        Ok(())
    }

    /// The interfaces for `sec-agent status`.
    fn status(&self) -> Vec<Value> {
        self.list
            .iter()
            .map(|i| {
                let a = i.attachment.as_ref();
                json!({
                    "iface": i.name,
                    "state": i.state.name(),
                    "mode": a.and_then(|a| a.mode).map(|m| m.name()),
                    "adopted": a.map(|a| a.adopted),
                    "pinned": a.map(|a| a.pinned),
                    "losses": i.losses,
                })
            })
            .collect()
    }

    /// Undoes this run's new attachments (adopted ones stay).
    pub(super) fn rollback(&mut self) {
        let fresh: Vec<Attachment> = self
            .list
            .iter_mut()
            .filter_map(|i| i.attachment.take())
            .filter(|a| !a.adopted)
            .collect();
        let _ = stop_attachments(&mut self.loaded.maps, &fresh);
    }

    /// Detaches every interface that is up.
    pub(super) fn stop(&mut self) -> Result<()> {
        let attached: Vec<Attachment> = self
            .list
            .iter_mut()
            .filter_map(|i| i.attachment.take())
            .collect();
        stop_attachments(&mut self.loaded.maps, &attached)
    }
}

impl Daemon {
    /// Follows interfaces that disappeared or came back (every second).
    pub(super) fn watch_interfaces(&self) {
        let lost = self.lock_interfaces().watch();
        for iface in lost {
            self.reporter
                .emit(crate::service::report::Event::InterfaceLost { iface: &iface });
        }
    }

    /// The interfaces as `sec-agent status` shows them.
    pub(super) fn interfaces_status(&self) -> Vec<Value> {
        self.lock_interfaces().status()
    }
}
