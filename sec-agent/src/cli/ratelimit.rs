//! `sec-agent ratelimit set|show`.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::output::print_json;
use crate::{config::rate_config, error::input_error, kernel::KernelMaps};

/// `ratelimit` subcommands.
#[derive(Debug, Subcommand)]
pub enum RatelimitCmd {
    /// Set the per-source token bucket (--pps 0 turns rate limiting off).
    Set {
        /// Sustained packets per second per source.
        #[arg(long)]
        pps: u64,
        /// Bucket depth in packets (back-to-back packets allowed after idling).
        #[arg(long, default_value_t = 0)]
        burst: u64,
        /// IPv4 sources in the same /N share one bucket.
        #[arg(long, default_value_t = 32)]
        v4_prefix: u32,
        /// IPv6 sources in the same /N share one bucket.
        #[arg(long, default_value_t = 64)]
        v6_prefix: u32,
    },
    /// Show the rate-limit policy.
    Show {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn exec(cmd: RatelimitCmd, maps: &mut KernelMaps) -> Result<()> {
    match cmd {
        RatelimitCmd::Set {
            pps,
            burst,
            v4_prefix,
            v6_prefix,
        } => {
            let cfg = rate_config(pps, burst, v4_prefix, v6_prefix).map_err(input_error)?;
            maps.set_rate(cfg)?;
            if pps == 0 {
                println!("rate limiting off");
            } else {
                println!(
                    "rate limit {pps} pps, burst {burst}, per /{v4_prefix} (IPv4) and /{v6_prefix} (IPv6)"
                );
            }
            Ok(())
        }
        RatelimitCmd::Show { json } => {
            let cfg = maps.rate()?;
            if json {
                print_json(&json!({
                    "enabled": cfg.pps > 0,
                    "pps": cfg.pps,
                    "burst": cfg.burst,
                    "v4_prefix": cfg.v4_prefix,
                    "v6_prefix": cfg.v6_prefix,
                }));
            } else if cfg.pps == 0 {
                println!("rate limiting off");
            } else {
                println!(
                    "{} pps, burst {}, per /{} (IPv4) and /{} (IPv6)",
                    cfg.pps, cfg.burst, cfg.v4_prefix, cfg.v6_prefix
                );
            }
            Ok(())
        }
    }
}
