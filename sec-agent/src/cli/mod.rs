//! The `sec-agent` command line: `run` starts the agent; the other commands inspect and edit
//! the pinned maps from any process, whether or not the agent runs.
//!
//! Exit codes: 0 success, 1 system failure (no maps pinned, no permission), 2 bad input
//! (unparsable address, refused or impossible change); on 2 the maps are unchanged.

mod allow;
mod ban;
mod output;
mod ports;
mod ratelimit;
mod run;
mod stats;
mod status;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::{
    config::Config,
    enforce::KernelMaps,
    error::exit_code,
    net::{PortSpec, Target, TargetError},
};

/// Linux host security agent: XDP banlist, allowlist and per-source rate limits.
#[derive(Debug, Parser)]
#[command(name = "sec-agent", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory (on a bpffs) holding the pinned maps and links.
    #[arg(long, global = true, env = "SEC_AGENT_PIN_PATH", value_name = "DIR")]
    pub pin_path: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the XDP program, attach it to interfaces and keep the maps swept.
    Run(run::RunArgs),
    /// Add, remove and list bans (exact addresses and CIDR ranges).
    #[command(subcommand)]
    Ban(ban::BanCmd),
    /// Add, remove and list allowlisted networks (never dropped).
    #[command(subcommand)]
    Allow(allow::AllowCmd),
    /// Set and show the per-source packet rate limit.
    #[command(subcommand)]
    Ratelimit(ratelimit::RatelimitCmd),
    /// Restrict destination ports to allowlisted sources.
    #[command(subcommand)]
    Ports(ports::PortsCmd),
    /// Packet and byte counters per XDP verdict.
    Stats(stats::StatsArgs),
    /// Interfaces, attach modes, program and link ids, map fill levels.
    Status(status::StatusArgs),
    /// Check a configuration file and exit non-zero on any error.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
}

/// Parses and runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let pin_path = cli
        .pin_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::DEFAULT_PIN_PATH));
    match cli.command {
        Command::Run(args) => run::run(args, cli.pin_path),
        Command::CheckConfig { file } => {
            Config::from_file(&file).map_err(|e| crate::error::input_error(e.to_string()))?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Ban(cmd) => ban::exec(cmd, &mut KernelMaps::open(&pin_path)?),
        Command::Allow(cmd) => allow::exec(cmd, &mut KernelMaps::open(&pin_path)?),
        Command::Ratelimit(cmd) => ratelimit::exec(cmd, &mut KernelMaps::open(&pin_path)?),
        Command::Ports(cmd) => ports::exec(cmd, &mut KernelMaps::open(&pin_path)?),
        Command::Stats(args) => stats::exec(args, &KernelMaps::open(&pin_path)?),
        Command::Status(args) => status::exec(args, &KernelMaps::open(&pin_path)?),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// clap value parser for ban targets.
fn parse_target(s: &str) -> Result<Target, TargetError> {
    s.parse()
}

/// clap value parser for allowlist networks.
fn parse_net(s: &str) -> Result<ipnet::IpNet, TargetError> {
    crate::net::parse_net(s)
}

/// clap value parser for ports.
fn parse_port(s: &str) -> Result<PortSpec, String> {
    s.parse()
}

/// clap value parser for TTLs: humantime (`90s`, `15m`, `1h30m`, `7d`), more than zero.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("`{s}` is not a duration like 90s, 15m, 1h or 7d: {e}"))?;
    if d.is_zero() {
        return Err("a TTL must be longer than 0s; leave --ttl out for a permanent ban".into());
    }
    Ok(d)
}
