//! `sec-agent allow add|del|list`.

use anyhow::Result;
use clap::Subcommand;
use ipnet::IpNet;

use super::output::print_list;
use crate::service::{control::Request, verbs};

/// `allow` subcommands.
#[derive(Debug, Subcommand)]
pub enum AllowCmd {
    /// Allowlist addresses or CIDRs: they always pass, whatever else matches.
    Add {
        /// Addresses or CIDRs.
        #[arg(required = true, value_parser = super::parse_net)]
        nets: Vec<IpNet>,
    },
    /// Remove exactly these networks from the allowlist.
    Del {
        /// Addresses or CIDRs.
        #[arg(required = true, value_parser = super::parse_net)]
        nets: Vec<IpNet>,
    },
    /// List the allowlist.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn exec(cmd: AllowCmd, ctx: &super::Ctx) -> Result<()> {
    let strings = |nets: &[IpNet]| nets.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    match cmd {
        AllowCmd::Add { nets } => {
            if let Some(mut agent) = ctx.agent()? {
                agent.call(&Request::Allow {
                    nets: strings(&nets),
                })?;
                for n in nets {
                    println!("allowed {n}");
                }
                return Ok(());
            }
            ctx.direct_note();
            let mut maps = ctx.maps()?;
            for net in nets {
                maps.allow(net)?;
                println!("allowed {net}");
            }
            Ok(())
        }
        AllowCmd::Del { nets } => {
            if let Some(mut agent) = ctx.agent()? {
                agent.call(&Request::Disallow {
                    nets: strings(&nets),
                })?;
                for n in nets {
                    println!("removed from the allowlist: {n}");
                }
                return Ok(());
            }
            ctx.direct_note();
            let mut maps = ctx.maps()?;
            let (done, missing) =
                verbs::remove_each(&nets, |n| maps.disallow(n), "not in the allowlist")?;
            for n in done {
                println!("removed from the allowlist: {n}");
            }
            missing
        }
        AllowCmd::List { json } => {
            print_list(&ctx.maps()?.allowlist()?, json);
            Ok(())
        }
    }
}
