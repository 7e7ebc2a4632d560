//! `cargo xtask`: set up the toolchain, build, run the agent, run the tests.
//!
//! Every command first checks the prerequisites and runs `setup` when one is missing, so a
//! fresh Debian machine needs nothing but `cargo xtask <command>`.

mod bench;
mod install;
mod lab;
mod setup;
mod test;
mod vm;

use std::{
    path::PathBuf,
    process::{Command, ExitCode},
};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "sec-agent developer tasks")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install every prerequisite (apt packages, nightly rust-src, bpf-linker 0.13.0 against
    /// LLVM 22) and check the toolchain; idempotent.
    Setup,
    /// Build the workspace (the XDP object is embedded in the agent).
    Build {
        /// Release profile.
        #[arg(long)]
        release: bool,
    },
    /// The main job, end to end: a lab of namespaces (server, client, attackers), a real
    /// HTTP server, the agent, benign browsing and attacks; prints events, bans and counters,
    /// checks every attacker is cut off, cleans up. Needs root.
    Lab,
    /// Build (release) and install the binary, the systemd unit and the default config
    /// (an existing /etc/sec-agent/sec-agent.toml is never overwritten).
    Install {
        /// Installation prefix of the binary.
        #[arg(long, default_value = "/usr/local")]
        prefix: PathBuf,
        /// Stage everything under this directory instead of / (for packaging).
        #[arg(long, default_value = "/")]
        root: PathBuf,
    },
    /// The kernel integration suite in QEMU guests on Debian kernels (5.10, 6.1, 6.12, 7.2),
    /// or on the host kernel; prints a kernel x test matrix (target/vm-test/report.md).
    VmTest {
        /// 5.10, 6.1, 6.12, 7.2, host or all.
        #[arg(long, default_value = "all")]
        kernel: String,
        /// Only tests whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Measure sec-agent against the floor programs and its peers (XDP cost, flood drop
    /// rate, detection throughput, end-to-end inspection, ban latency, memory); writes
    /// BENCHMARKS.md. Needs root.
    Bench {
        /// Run only these sections (xdp, peer, flood, detection, quality, latency, e2e,
        /// memory, agent-memory), print them and replace just those sections in BENCHMARKS.md.
        sections: Vec<String>,
    },
    /// Build (release) and run `sec-agent run` with these arguments, e.g. `--iface eth0`.
    Run {
        /// Arguments for `sec-agent run`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Formatting check and clippy (-D warnings) on the host crates and on the eBPF crate for
    /// the BPF target.
    Lint,
    /// Run the whole test suite: unit, CLI and kernel integration tests (root for the latter).
    Test {
        /// Extra arguments for `cargo test`, e.g. a test name filter.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Task::Setup => setup::setup(),
        Task::Build { release } => {
            setup::ensure()?;
            let mut cmd = cargo(&["build", "--workspace"]);
            if release {
                cmd.arg("--release");
            }
            status(&mut cmd)
        }
        Task::Run { args } => {
            setup::ensure()?;
            status(&mut cargo(&["build", "--release", "-p", "sec-agent"]))?;
            let bin = workspace_root().join("target/release/sec-agent");
            status(Command::new(bin).arg("run").args(args))
        }
        Task::Install { prefix, root } => {
            setup::ensure()?;
            status(&mut cargo(&["build", "--release", "-p", "sec-agent"]))?;
            install::install(&workspace_root(), &prefix, &root)
        }
        Task::VmTest { kernel, filter } => {
            setup::ensure()?;
            setup::ensure_vm()?;
            vm::run(&workspace_root(), &kernel, filter.as_deref())
        }
        Task::Bench { sections } => {
            setup::ensure()?;
            setup::ensure_bench()?;
            bench::run(&workspace_root(), &sections)
        }
        Task::Lab => {
            setup::ensure()?;
            lab::run(&workspace_root())
        }
        Task::Lint => {
            setup::ensure()?;
            status(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
            status(&mut cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?;
            status(
                Command::new("cargo")
                    .args(["+nightly", "clippy", "--target", "bpfel-unknown-none"])
                    // Both objects: the agent's and the benchmark's (`bench` feature).
                    .args(["--features", "bench"])
                    .args(["-Z", "build-std=core", "--", "-D", "warnings"])
                    .current_dir(workspace_root().join("sec-agent-ebpf")),
            )
        }
        Task::Test { args } => {
            setup::ensure()?;
            test::run(cargo(&["test", "--workspace"]).args(args))
        }
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args).current_dir(workspace_root());
    cmd
}

/// Runs `cmd`, failing unless it exits 0.
pub(crate) fn status(cmd: &mut Command) -> Result<()> {
    let st = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed: {st}");
    }
    Ok(())
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}
