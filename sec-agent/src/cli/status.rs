//! `sec-agent status`: interfaces, attach modes, program and link ids, map fill levels, and
//! the running agent's own state.

use std::fs;

use anyhow::Result;
use aya::programs::links::{FdLink, PinnedLink};
use clap::Args;
use serde_json::json;

use super::output::print_json;
use crate::kernel::{
    bpffs::{RunLock, links_dir},
    loader::{AttachMode, recorded_name},
};
use crate::service::control::Request;

/// `status` options.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub(super) fn exec(args: StatusArgs, ctx: &super::Ctx) -> Result<()> {
    let maps = &ctx.maps()?;
    let running = RunLock::acquire(maps.pin_dir()).is_err();
    let agent = ctx.agent()?.and_then(|mut a| a.call(&Request::Status).ok());
    let ifaces = maps.ifaces()?;
    let mut rows = Vec::new();
    for (ifindex, info) in &ifaces {
        let name = recorded_name(info);
        let link = PinnedLink::from_pin(links_dir(maps.pin_dir()).join(&name))
            .ok()
            .and_then(|pinned| FdLink::from(pinned).info().ok());
        rows.push(json!({
            "iface": name,
            "ifindex": ifindex,
            "mode": AttachMode::from_code(info.mode).map(AttachMode::name),
            "pinned": link.is_some(),
            "program_id": link.as_ref().map(|l| l.program_id()),
            "link_id": link.as_ref().map(|l| l.id()),
        }));
    }
    // Pinned links whose interface is not recorded (should not happen; shown for repair).
    if let Ok(entries) = fs::read_dir(links_dir(maps.pin_dir())) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !rows.iter().any(|r| r["iface"] == json!(n)) {
                rows.push(json!({ "iface": n, "mode": null, "pinned": true, "orphan": true }));
            }
        }
    }
    let fill = maps.fill()?;
    if args.json {
        print_json(&json!({
            "pin_path": maps.pin_dir().display().to_string(),
            "agent_running": running,
            "agent": agent,
            "interfaces": rows,
            "maps": fill.iter().map(|f| json!({
                "name": f.name, "entries": f.entries, "capacity": f.capacity,
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("pin path: {}", maps.pin_dir().display());
    println!(
        "agent:    {}",
        if running {
            "running"
        } else {
            "not running (XDP stays attached through pinned links)"
        }
    );
    if let Some(a) = &agent {
        println!(
            "          pid {}, up {} s, state {}, config {}",
            a["pid"],
            a["uptime_secs"],
            a["state_dir"].as_str().unwrap_or("?"),
            a["config"].as_str().unwrap_or("(built-in defaults)")
        );
        let repairs: u64 = ["missing", "extra", "stale"]
            .iter()
            .filter_map(|k| a["repairs"][k].as_u64())
            .sum();
        println!(
            "          restored {} bans ({} expired, {} adopted); {repairs} map repairs; {} requests inspected",
            a["restored"]["bans"],
            a["restored"]["expired"],
            a["restored"]["adopted"],
            a["requests_inspected"]
        );
    }
    println!("interfaces:");
    if rows.is_empty() {
        println!("  (none attached)");
    }
    for r in &rows {
        println!(
            "  {:<16} mode {:<7} program id {:<8} link id {}",
            r["iface"].as_str().unwrap_or("?"),
            r["mode"].as_str().unwrap_or("?"),
            r["program_id"]
                .as_u64()
                .map_or("-".into(), |v| v.to_string()),
            r["link_id"].as_u64().map_or("-".into(), |v| v.to_string()),
        );
    }
    // Interfaces the agent lost: no longer in the kernel's records, waiting to come back.
    let agent_ifaces = agent.as_ref().and_then(|a| a["interfaces"].as_array());
    for i in agent_ifaces.into_iter().flatten() {
        if i["state"] == "gone" {
            println!(
                "  {:<16} gone (deleted while the agent ran; attached again when it returns)",
                i["iface"].as_str().unwrap_or("?")
            );
        }
    }
    println!("maps:");
    for f in fill {
        println!(
            "  {:<12} {:>9} / {:<9} ({:.1}%)",
            f.name,
            f.entries,
            f.capacity,
            100.0 * f.entries as f64 / f.capacity.max(1) as f64
        );
    }
    Ok(())
}
