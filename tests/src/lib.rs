//! Test harness for the kernel integration tests: network-namespace labs joined by a veth
//! pair, a private bpffs for pins, the agent as a child process, the CLI, and traffic
//! helpers that open sockets inside a namespace.
//!
//! Safety: every lab lives in namespaces and interfaces it creates with unique names, uses
//! only 10.200.0.0/24 and fd00:200::/64 inside them, and removes them (and kills its agent)
//! on drop, also when the test panics. Nothing touches the host's interfaces.

#![warn(missing_docs)]

pub mod agent;
pub mod frames;
pub mod http;
pub mod lab;
pub mod traffic;

use std::{
    io::Write as _,
    path::PathBuf,
    process::{Command, Output},
};

pub use agent::Agent;
pub use lab::Lab;

/// Whether kernel tests can run here. Without root they skip with a printed reason; under
/// CI (`CI` set) a missing privilege is a failure, so nothing passes silently there.
pub fn kernel_tests_enabled(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: kernel tests need root, and CI must run them all");
    }
    // Written to the real stderr, not through eprintln!, which the test harness captures
    // for passing tests: a skip must be visible. `cargo xtask test` counts these lines.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: needs root (BPF, XDP and network namespaces)"
    );
    false
}

/// Whether `tool` is on PATH. Without it a test skips with a printed reason; under CI
/// (`CI` set) a missing tool is a failure, since CI installs them all.
pub fn tool_available(test: &str, tool: &str) -> bool {
    if which(tool).is_some() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: `{tool}` is missing, and CI must have it");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: `{tool}` is not installed"
    );
    false
}

/// Absolute path of `program` found on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Path of the `sec-agent` binary under test: `$SEC_AGENT_BIN`, else the one cargo built
/// next to this test executable (`target/<profile>/sec-agent`).
pub fn agent_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SEC_AGENT_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary lives in target/<profile>/deps");
    let bin = profile_dir.join("sec-agent");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p sec-agent) or set SEC_AGENT_BIN",
        bin.display()
    );
    bin
}

/// Runs `cmd`, panicking with its output when it cannot be started.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd` and panics unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
