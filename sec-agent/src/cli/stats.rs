//! `sec-agent stats [--json] [--watch SECONDS]`.

use std::{thread, time::Duration, time::Instant};

use anyhow::Result;
use clap::Args;
use sec_agent_common::{Counter, Verdict};
use serde_json::{Map, json};

use super::output::print_json;
use crate::kernel::KernelMaps;

/// `stats` options.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// Print again every SECONDS with per-second rates, until interrupted.
    #[arg(long, value_name = "SECONDS")]
    watch: Option<f64>,
    /// With --watch: stop after this many reports.
    #[arg(long, value_name = "N", requires = "watch")]
    count: Option<u64>,
}

pub(super) fn exec(args: StatsArgs, maps: &KernelMaps) -> Result<()> {
    let Some(interval) = args.watch else {
        report(&maps.stats()?, None, args.json);
        return Ok(());
    };
    if !(interval.is_finite() && interval > 0.0) {
        return Err(crate::error::input_error(
            "--watch needs a positive number of seconds",
        ));
    }
    let interval = Duration::from_secs_f64(interval);
    let mut previous = (Instant::now(), maps.stats()?);
    let mut reports = 0;
    loop {
        thread::sleep(interval);
        let now = (Instant::now(), maps.stats()?);
        let secs = now.0.duration_since(previous.0).as_secs_f64();
        report(&now.1, Some((&previous.1, secs)), args.json);
        previous = now;
        reports += 1;
        if args.count.is_some_and(|n| reports >= n) {
            return Ok(());
        }
    }
}

type Stats = [(Verdict, Counter)];

fn report(now: &Stats, previous: Option<(&Stats, f64)>, json: bool) {
    let rate = |i: usize, f: fn(&Counter) -> u64| {
        previous.map(|(p, secs)| f(&now[i].1).saturating_sub(f(&p[i].1)) as f64 / secs)
    };
    if json {
        let mut obj = Map::new();
        for (i, (v, c)) in now.iter().enumerate() {
            let mut entry = json!({ "packets": c.packets, "bytes": c.bytes });
            if let Some(pps) = rate(i, |c| c.packets) {
                entry["pps"] = json!(pps);
                entry["bps"] = json!(rate(i, |c| c.bytes).unwrap_or(0.0) * 8.0);
            }
            obj.insert(v.name().to_string(), entry);
        }
        print_json(&serde_json::Value::Object(obj));
        return;
    }
    print!("{:<22} {:>14} {:>16}", "VERDICT", "PACKETS", "BYTES");
    if previous.is_some() {
        print!(" {:>12} {:>14}", "PKT/S", "BIT/S");
    }
    println!();
    for (i, (v, c)) in now.iter().enumerate() {
        print!("{:<22} {:>14} {:>16}", v.name(), c.packets, c.bytes);
        if let Some(pps) = rate(i, |c| c.packets) {
            let bps = rate(i, |c| c.bytes).unwrap_or(0.0) * 8.0;
            print!(" {pps:>12.1} {bps:>14.0}");
        }
        println!();
    }
}
