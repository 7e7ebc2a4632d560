//! The control verbs: each request of the control socket runs the shared verb
//! ([`crate::service::verbs`]) on the journaled store, and reports what changed.

use std::{net::IpAddr, time::Duration};

use anyhow::Result;
use ipnet::IpNet;
use serde_json::{Value, json};

use super::Daemon;
use crate::{
    error::input_error,
    net::{Target, TargetError},
    service::{
        control::{Handler, Request},
        report::{Event, UnbanCause},
        state::Durability,
        verbs,
    },
};

fn parse_targets(targets: &[String]) -> Result<Vec<Target>> {
    targets
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|e: TargetError| input_error(e.to_string()))
        })
        .collect()
}

fn parse_nets(nets: &[String]) -> Result<Vec<IpNet>> {
    nets.iter()
        .map(|n| crate::net::parse_net(n).map_err(|e| input_error(e.to_string())))
        .collect()
}

impl Handler for Daemon {
    fn handle(&self, request: Request) -> Result<Value> {
        let mut store = &*self.store;
        match request {
            Request::Ban {
                target,
                ttl_secs,
                note,
                force,
            } => {
                let target = parse_targets(&[target])?[0];
                let ttl = ttl_secs.map(Duration::from_secs);
                verbs::ban(
                    &mut store,
                    target,
                    ttl,
                    note.as_deref(),
                    force,
                    Durability::Synced,
                )?;
                self.reporter.emit(Event::ManualBan {
                    target,
                    ttl,
                    note: note.as_deref(),
                });
                Ok(json!({"banned": target.to_string(), "ttl_secs": ttl_secs, "journaled": true}))
            }
            Request::Unban { targets } => {
                let targets = parse_targets(&targets)?;
                let (done, missing) =
                    verbs::remove_each(&targets, |t| store.unban(t), "not banned")?;
                for &target in &done {
                    self.reporter.emit(Event::Unban {
                        target,
                        origin: None,
                        cause: UnbanCause::Manual,
                    });
                }
                missing?;
                Ok(json!({"unbanned": done.iter().map(|t| t.to_string()).collect::<Vec<_>>()}))
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
                let (done, missing) =
                    verbs::remove_each(&nets, |n| store.disallow(n), "not in the allowlist")?;
                missing?;
                Ok(json!({"removed": done.iter().map(|n| n.to_string()).collect::<Vec<_>>()}))
            }
            Request::Status => {
                let m = self.reporter.metrics();
                let r = &self.restored;
                let repairs = store.repairs();
                Ok(json!({
                    "pid": std::process::id(),
                    "version": env!("CARGO_PKG_VERSION"),
                    "uptime_secs": self.started.elapsed().as_secs(),
                    "config": self.config_path.as_ref().map(|p| p.display().to_string()),
                    "state_dir": self.state_dir.display().to_string(),
                    "interfaces": self.interfaces_status(),
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
                let source = self.reporter.sources().get(ip).unwrap_or_default();
                verbs::address(&mut store, ip, Some(source))
            }
            Request::Reload => {
                self.reload()?;
                Ok(json!({"reloaded": true}))
            }
        }
    }
}
