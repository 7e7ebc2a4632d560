//! `sec-agent run`: the agent itself (see [`crate::service::daemon`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::{config::XdpMode, service::daemon};

/// `run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Interface to protect (repeat for several); default: `[xdp] interfaces` of the config.
    #[arg(long = "iface", value_name = "IFACE")]
    ifaces: Vec<String>,
    /// XDP attach mode: auto tries native (driver) first, then generic (skb).
    #[arg(long, value_enum)]
    xdp_mode: Option<XdpMode>,
    /// TOML configuration file (re-read on SIGHUP); built-in defaults when left out.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory of the ban journal; default: $STATE_DIRECTORY (set by systemd), else
    /// /var/lib/sec-agent.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// On SIGINT/SIGTERM leave the program attached (enforcement continues without the agent).
    #[arg(long)]
    keep_attached: bool,
}

pub(super) fn run(
    args: RunArgs,
    pin_path: Option<PathBuf>,
    control_socket: Option<PathBuf>,
) -> Result<()> {
    daemon::run(daemon::Options {
        ifaces: args.ifaces,
        xdp_mode: args.xdp_mode,
        config: args.config,
        pin_path,
        state_dir: args.state_dir,
        control_socket,
        keep_attached: args.keep_attached,
    })
}
