//! Test harness for the kernel integration tests: network-namespace labs joined by a veth
//! pair, a private bpffs for pins, the agent as a child process, the CLI, and traffic
//! helpers that open sockets inside a namespace.
//!
//! Safety: every lab lives in namespaces and interfaces it creates with unique names, uses
//! only 10.200.0.0/24 and fd00:200::/64 inside them, and removes them (and kills its agent)
//! on drop, also when the test panics. Nothing touches the host's interfaces.
//!
//! Helpers live here; the tests (`tests/*.rs`) and the bench (`src/bin/sec-agent-bench`)
//! import them instead of writing their own: [`kernel_test!`], [`json`], [`wait_until`] and
//! [`poll_until`], [`Lab::ban_list`], [`Lab::metrics`], and the frame builders and XDP
//! actions in [`frames`].

#![warn(missing_docs)]

pub mod agent;
pub mod frames;
pub mod http;
pub mod lab;
pub mod metrics;
pub mod traffic;

use std::{
    io::Write as _,
    path::PathBuf,
    process::{Command, Output},
    thread,
    time::{Duration, Instant},
};

pub use agent::Agent;
pub use lab::Lab;

/// Declares a `#[test] fn $name` that runs its body only where kernel tests can run
/// ([`kernel_tests_enabled`]) and, with `needs = [...]`, only when those tools are on PATH
/// ([`tool_available`]). The skip line names the test from `$name`, so the name is written
/// once.
///
/// ```ignore
/// kernel_test!(exact_ban_native_mode, {
///     let lab = Lab::new();
///     // ...
/// });
/// kernel_test!(metrics_pass_promtool, needs = ["promtool"], {
///     // ...
/// });
/// ```
#[macro_export]
macro_rules! kernel_test {
    ($name:ident, $body:block) => {
        $crate::kernel_test!($name, needs = [], $body);
    };
    ($name:ident, needs = [$($tool:expr),* $(,)?], $body:block) => {
        #[test]
        fn $name() {
            if !$crate::kernel_tests_enabled(stringify!($name)) {
                return;
            }
            $(
                if !$crate::tool_available(stringify!($name), $tool) {
                    return;
                }
            )*
            $body
        }
    };
}

/// Parses `text` as JSON, panicking with the text when it is not.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// How long [`poll_until`] sleeps between two looks.
const POLL: Duration = Duration::from_millis(50);

/// The harness's one wait loop: calls `f` every 50 ms until it returns `Some`, for at most
/// `timeout` (`f` runs at least once). Returns that value, or `None` when the time is up.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Waits (through [`poll_until`]) until `done` holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    if poll_until(timeout, || done().then_some(())).is_none() {
        panic!("timed out after {timeout:?} waiting for {what}");
    }
}

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
