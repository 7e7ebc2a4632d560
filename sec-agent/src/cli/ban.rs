//! `sec-agent ban add|del|list`.

use std::time::Duration;

use anyhow::Result;
use clap::Subcommand;
use sec_agent_common::BanReason;
use serde_json::json;

use super::output::{print_json, remaining};
use crate::{
    clock,
    net::Target,
    service::{
        control::Request,
        state::{Durability, origin_name},
        verbs,
    },
};

/// `ban` subcommands.
#[derive(Debug, Subcommand)]
pub enum BanCmd {
    /// Ban an address or CIDR range (a re-ban replaces the TTL).
    Add {
        /// Address or CIDR, e.g. 192.0.2.7, 198.51.100.0/24, 2001:db8::/48.
        #[arg(value_parser = super::parse_target)]
        target: Target,
        /// Time to live (90s, 15m, 1h, 7d); permanent when left out.
        #[arg(long, value_parser = super::parse_ttl)]
        ttl: Option<Duration>,
        /// Free-text note kept with the ban (at most 64 bytes).
        #[arg(long)]
        reason: Option<String>,
        /// Store the ban even if it overlaps the allowlist (the allowlist still wins).
        #[arg(long)]
        force: bool,
    },
    /// Remove bans (exactly these addresses or ranges).
    Del {
        /// Addresses or CIDRs.
        #[arg(required = true, value_parser = super::parse_target)]
        targets: Vec<Target>,
    },
    /// List bans with kind, reason and remaining TTL.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn exec(cmd: BanCmd, ctx: &super::Ctx) -> Result<()> {
    match cmd {
        BanCmd::Add {
            target,
            ttl,
            reason,
            force,
        } => {
            if let Some(mut agent) = ctx.agent()? {
                agent.call(&Request::Ban {
                    target: target.to_string(),
                    ttl_secs: ttl.map(|t| t.as_secs().max(1)),
                    note: reason,
                    force,
                })?;
                println!("banned {target} ({})", remaining(ttl));
                return Ok(());
            }
            ctx.direct_note();
            verbs::ban(
                &mut ctx.maps()?,
                target,
                ttl,
                reason.as_deref(),
                force,
                Durability::Synced,
            )?;
            println!("banned {target} ({})", remaining(ttl));
            Ok(())
        }
        BanCmd::Del { targets } => {
            let (done, missing) = match ctx.agent()? {
                Some(mut agent) => {
                    let v = agent.call(&Request::Unban {
                        targets: targets.iter().map(|t| t.to_string()).collect(),
                    })?;
                    let done: Vec<String> = v["unbanned"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect();
                    (done, Ok(()))
                }
                None => {
                    ctx.direct_note();
                    let mut maps = ctx.maps()?;
                    let (done, missing) =
                        verbs::remove_each(&targets, |t| maps.unban(t), "not banned")?;
                    (done.iter().map(|t| t.to_string()).collect(), missing)
                }
            };
            for t in done {
                println!("unbanned {t}");
            }
            missing
        }
        BanCmd::List { json } => {
            let bans = ctx.maps()?.bans()?;
            if json {
                let rows = bans
                    .iter()
                    .map(|b| {
                        let left = clock::remaining(b.entry.expires_ns);
                        json!({
                            "address": b.target.to_string(),
                            "kind": kind(b.target),
                            "reason": origin_name(BanReason::from_code(b.entry.reason)),
                            "note": b.note,
                            "permanent": left.is_none(),
                            "ttl_remaining_secs": left.map(|d| d.as_secs_f64()),
                            "expired": left.is_some_and(|d| d.is_zero()),
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
                return Ok(());
            }
            println!(
                "{:<42} {:<6} {:<14} {:<16} NOTE",
                "ADDRESS", "KIND", "REASON", "EXPIRES IN"
            );
            for b in &bans {
                println!(
                    "{:<42} {:<6} {:<14} {:<16} {}",
                    b.target.to_string(),
                    kind(b.target),
                    origin_name(BanReason::from_code(b.entry.reason)),
                    remaining(clock::remaining(b.entry.expires_ns)),
                    b.note.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

fn kind(target: Target) -> &'static str {
    match target {
        Target::Addr(_) => "exact",
        Target::Range(_) => "range",
    }
}
