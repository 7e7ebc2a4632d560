//! Reloading the config without detaching or losing state: what a reload can change is
//! applied to the maps, the allowlist and the inspection thread; what it cannot is named
//! in the log.

use std::path::Path;

use anyhow::{Result, bail};
use ipnet::IpNet;

use super::Daemon;
use crate::{
    config::Config,
    error::input_error,
    kernel::KernelMaps,
    service::{
        report::{Event, ReloadResult},
        systemd,
    },
};

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

impl Daemon {
    /// Re-reads the config file; on success applies it without detaching or losing state,
    /// on failure keeps the running config. Logs and counts either way.
    ///
    /// # Errors
    /// The new config is invalid (the message names file, line and key).
    pub fn reload(&self) -> Result<()> {
        systemd::notify("RELOADING=1");
        let result = self.try_reload();
        self.reporter.emit(Event::Reloaded(if result.is_ok() {
            ReloadResult::Ok
        } else {
            ReloadResult::Error
        }));
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
        new.detections.build()?;
        let mut current = self.config.lock().unwrap_or_else(|p| p.into_inner());
        for (what, old, new) in restart_only(&current, &new) {
            tracing::warn!(setting = what, running = %old, file = %new, "changed in the file; takes effect at the next restart");
        }
        self.store
            .with_maps(|m| apply_kernel_config(&new, Some(&current), m))?;
        let allow: Vec<IpNet> = new.allowlist.cidrs.iter().map(|c| c.0).collect();
        self.store.set_config_allow(&allow)?;
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
pub(super) fn apply_kernel_config(
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
