//! The `sec-agent` command line: `run` starts the agent; the other commands inspect and edit
//! the pinned maps from any process, whether or not the agent runs.
//!
//! Exit codes: 0 success, 1 system failure (no maps pinned, no permission), 2 bad input
//! (unparsable address, refused or impossible change); on 2 the maps are unchanged.

mod allow;
mod ban;
mod inspect;
mod ip;
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
    error::exit_code,
    kernel::KernelMaps,
    net::{PortSpec, Target, TargetError},
    service::control::{Client, Request},
};

/// Linux host security agent: XDP banlist, allowlist and per-source rate limits.
#[derive(Debug, Parser)]
#[command(name = "sec-agent", version, about, propagate_version = true)]
pub struct Cli {
    /// Directory (on a bpffs) holding the pinned maps and links.
    #[arg(long, global = true, env = "SEC_AGENT_PIN_PATH", value_name = "DIR")]
    pub pin_path: Option<PathBuf>,
    /// The running agent's control socket.
    #[arg(
        long,
        global = true,
        env = "SEC_AGENT_CONTROL_SOCKET",
        value_name = "PATH"
    )]
    pub control_socket: Option<PathBuf>,
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
    /// Interfaces, attach modes, program and link ids, map fill levels, agent state.
    Status(status::StatusArgs),
    /// Everything known about one address: ban, why and until when, allowlist, counters,
    /// recent detections.
    Ip(ip::IpArgs),
    /// Make the running agent re-read its config file (like SIGHUP, but reports errors).
    Reload,
    /// Run raw HTTP requests (files, a directory, or stdin) through inspection offline and
    /// print the findings and the decision the agent would take; no root needed.
    Inspect(inspect::InspectArgs),
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

/// Where the CLI finds the maps and the agent.
pub(crate) struct Ctx {
    pin_path: PathBuf,
    socket: PathBuf,
}

impl Ctx {
    fn maps(&self) -> Result<KernelMaps> {
        KernelMaps::open(&self.pin_path)
    }

    /// The running agent, if one answers on the control socket.
    fn agent(&self) -> Result<Option<Client>> {
        Client::connect(&self.socket)
    }

    /// Says that a change bypasses the agent (none is running).
    fn direct_note(&self) {
        eprintln!(
            "note: no agent answers on {}: changing the pinned maps directly (not journaled; \
             the agent adopts the change when it starts)",
            self.socket.display()
        );
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        pin_path: cli
            .pin_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::DEFAULT_PIN_PATH)),
        socket: cli
            .control_socket
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::service::control::DEFAULT_SOCKET)),
    };
    match cli.command {
        Command::Run(args) => run::run(args, cli.pin_path, cli.control_socket),
        Command::CheckConfig { file } => {
            Config::from_file(&file).map_err(|e| crate::error::input_error(e.to_string()))?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Command::Inspect(args) => inspect::exec(args),
        Command::Ban(cmd) => ban::exec(cmd, &ctx),
        Command::Allow(cmd) => allow::exec(cmd, &ctx),
        Command::Ratelimit(cmd) => ratelimit::exec(cmd, &mut ctx.maps()?),
        Command::Ports(cmd) => ports::exec(cmd, &mut ctx.maps()?),
        Command::Stats(args) => stats::exec(args, &ctx.maps()?),
        Command::Status(args) => status::exec(args, &ctx),
        Command::Ip(args) => ip::exec(args, &ctx),
        Command::Reload => match ctx.agent()? {
            Some(mut agent) => {
                agent.call(&Request::Reload)?;
                println!("config reloaded");
                Ok(())
            }
            None => anyhow::bail!("no agent answers on {}", ctx.socket.display()),
        },
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
