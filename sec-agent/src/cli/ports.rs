//! `sec-agent ports restrict|unrestrict|list`.

use anyhow::Result;
use clap::Subcommand;

use super::output::print_list;
use crate::service::verbs;
use crate::{error::input_error, kernel::KernelMaps, net::PortSpec};

/// `ports` subcommands.
#[derive(Debug, Subcommand)]
pub enum PortsCmd {
    /// Only allowlisted sources may reach these destination ports (22, 22/tcp, 53/udp).
    Restrict {
        /// Ports; a bare number means TCP and UDP.
        #[arg(required = true, value_parser = super::parse_port)]
        ports: Vec<PortSpec>,
        /// Restrict even while the allowlist is empty (nobody could reach these ports).
        #[arg(long)]
        force: bool,
    },
    /// Lift restrictions.
    Unrestrict {
        /// Ports; a bare number means TCP and UDP.
        #[arg(required = true, value_parser = super::parse_port)]
        ports: Vec<PortSpec>,
    },
    /// List restricted ports.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn exec(cmd: PortsCmd, maps: &mut KernelMaps) -> Result<()> {
    match cmd {
        PortsCmd::Restrict { ports, force } => {
            if !force && maps.allowlist()?.is_empty() {
                return Err(input_error(
                    "the allowlist is empty, so no client could reach a restricted port (your \
                     own session included): add your addresses with `sec-agent allow add` \
                     first, or pass --force",
                ));
            }
            for p in ports {
                maps.restrict(p)?;
                println!("restricted {p}");
            }
            Ok(())
        }
        PortsCmd::Unrestrict { ports } => {
            let (done, missing) =
                verbs::remove_each(&ports, |p| maps.unrestrict(p), "not restricted")?;
            for p in done {
                println!("unrestricted {p}");
            }
            missing
        }
        PortsCmd::List { json } => {
            print_list(&maps.restricted_ports()?, json);
            Ok(())
        }
    }
}
