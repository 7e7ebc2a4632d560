//! `sec-agent allow add|del|list`.

use anyhow::Result;
use clap::Subcommand;
use ipnet::IpNet;

use super::output::print_json;
use crate::{enforce::KernelMaps, error::input_error};

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

pub(super) fn exec(cmd: AllowCmd, maps: &mut KernelMaps) -> Result<()> {
    match cmd {
        AllowCmd::Add { nets } => {
            for net in nets {
                maps.allow(net)?;
                println!("allowed {net}");
            }
            Ok(())
        }
        AllowCmd::Del { nets } => {
            let mut missing = Vec::new();
            for net in nets {
                if maps.disallow(net)? {
                    println!("removed {net} from the allowlist");
                } else {
                    missing.push(net.to_string());
                }
            }
            if missing.is_empty() {
                Ok(())
            } else {
                Err(input_error(format!(
                    "not in the allowlist: {}",
                    missing.join(", ")
                )))
            }
        }
        AllowCmd::List { json } => {
            let nets = maps.allowlist()?;
            if json {
                print_json(&serde_json::json!(
                    nets.iter().map(|n| n.to_string()).collect::<Vec<_>>()
                ));
            } else {
                for n in nets {
                    println!("{n}");
                }
            }
            Ok(())
        }
    }
}
