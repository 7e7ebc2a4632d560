//! `cargo xtask bench`: builds the release benchmark binary, runs it (as root), and writes
//! BENCHMARKS.md with the machine, kernel, date and command in front of its figures.

use std::{
    fs,
    path::Path,
    process::{Command, Stdio},
    time::SystemTime,
};

use anyhow::{Context as _, Result, bail};

/// Runs the measurements (all of them, or only `sections`) and, for a full run, writes
/// `BENCHMARKS.md` at the workspace root.
pub fn run(root: &Path, sections: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    crate::status(
        Command::new(&cargo)
            .args([
                "build",
                "--release",
                "-p",
                "sec-agent",
                "--bin",
                "sec-agent",
                "-p",
                "sec-agent-tests",
                "--bin",
                "sec-agent-bench",
            ])
            .current_dir(root),
    )?;
    let started = std::time::Instant::now();
    let out = Command::new(root.join("target/release/sec-agent-bench"))
        .args(sections)
        .env("SEC_AGENT_BIN", root.join("target/release/sec-agent"))
        .stderr(Stdio::inherit())
        .output()
        .context("running sec-agent-bench")?;
    if !out.status.success() {
        bail!("sec-agent-bench failed ({})", out.status);
    }
    let figures = String::from_utf8(out.stdout)?;
    if !sections.is_empty() {
        print!("{figures}");
        return Ok(());
    }
    let sh = |cmd: &str| {
        Command::new("sh")
            .args(["-c", cmd])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    // Every section ends with a "Target: ..." line; gathered at the top as a summary.
    let mut section = "";
    let mut targets = String::new();
    for line in figures.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h;
        } else if let Some(t) = line.strip_prefix("Target: ") {
            targets.push_str(&format!("- *{section}*: {t}\n"));
        }
    }
    let now = humantime_like(SystemTime::now());
    let text = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (run as root); do not edit by hand.\n\n\
         - date: {now}\n\
         - machine: {} ({} CPUs), {}\n\
         - kernel: {}\n\
         - rustc: {}\n\
         - command: `cargo xtask bench` ({:.0} s)\n\n\
         Figures are min / median / max over repeated runs; ratios compare medians of the same\n\
         run. The machines are shared, so absolute figures move between runs; ratios move less.\n\n\
         ## Targets\n\n{targets}\n\
         {figures}",
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'"),
        sh("nproc"),
        sh("free -h | awk '/Mem:/ {print $2\" RAM\"}'"),
        sh("uname -r"),
        sh("rustc --version"),
        started.elapsed().as_secs_f64(),
    );
    fs::write(root.join("BENCHMARKS.md"), &text)?;
    print!("{text}");
    println!("written to BENCHMARKS.md");
    Ok(())
}

/// RFC 3339 date (UTC, seconds) without pulling a time crate into xtask.
fn humantime_like(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| secs.to_string())
}
