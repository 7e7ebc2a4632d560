//! The agent and test binaries the guests run, built as static musl executables.
//!
//! Static, so they need nothing from the guest's file system but themselves. The test
//! executables are found through cargo's JSON messages because their file names carry a
//! hash.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result, bail};

use crate::status;

/// Static test and agent binaries.
pub(super) struct Binaries {
    pub(super) agent: PathBuf,
    /// Each test target's name and executable.
    pub(super) tests: Vec<(String, PathBuf)>,
}

/// Builds the agent and the `sec-agent-tests` test binaries for musl.
pub(super) fn build(root: &Path) -> Result<Binaries> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = "x86_64-unknown-linux-musl";
    status(
        Command::new(&cargo)
            .args([
                "build",
                "--target",
                target,
                "-p",
                "sec-agent",
                "--bin",
                "sec-agent",
            ])
            .current_dir(root),
    )?;
    let out = Command::new(&cargo)
        .args([
            "test",
            "--no-run",
            "--target",
            target,
            "-p",
            "sec-agent-tests",
            "--message-format=json",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("building the tests for musl")?;
    if !out.status.success() {
        bail!("building the musl tests failed");
    }
    let mut tests = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(kind)) = (
            msg["executable"].as_str(),
            msg["target"]["kind"][0].as_str(),
        ) else {
            continue;
        };
        if kind == "test" {
            let name = msg["target"]["name"].as_str().unwrap_or("test").to_string();
            tests.push((name, PathBuf::from(exe)));
        }
    }
    if tests.is_empty() {
        bail!("no test binaries found");
    }
    Ok(Binaries {
        agent: root.join(format!("target/{target}/debug/sec-agent")),
        tests,
    })
}
