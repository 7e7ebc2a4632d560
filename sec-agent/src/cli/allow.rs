//! `sec-agent allow add|del|list`.

use anyhow::Result;
use clap::Subcommand;
use ipnet::IpNet;

use super::output::{print_list, remove_each};
use crate::enforce::KernelMaps;

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
        AllowCmd::Del { nets } => remove_each(
            nets,
            |n| maps.disallow(*n),
            "removed from the allowlist:",
            "not in the allowlist",
        ),
        AllowCmd::List { json } => {
            print_list(&maps.allowlist()?, json);
            Ok(())
        }
    }
}
