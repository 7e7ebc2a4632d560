//! Booting a guest under QEMU and reading test outcomes off its serial console.
//!
//! QEMU runs under TCG (KVM does not work on these hosts) with the serial console on
//! stdout. The guest's init prints `@@@` markers around each test binary's libtest output;
//! [`parse`] turns that console into per-test outcomes. The same parser reads the output of
//! a run on the host, which is shaped like a console for that purpose.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};

use super::{KernelRun, Outcome, kernels::Kernel};

/// Longest one guest may run.
const BOOT_TIMEOUT: Duration = Duration::from_secs(25 * 60);

/// Boots kernel `k` with `initrd` and collects the outcomes; the whole console goes to
/// `target/vm-test/console-<name>.log`.
///
/// A guest that hangs or dies is not an `Err`: the outcomes it printed are kept and
/// [`KernelRun::error`] says what happened, with the end of the console.
pub(super) fn boot(work: &Path, name: &str, k: &Kernel, initrd: &Path) -> Result<KernelRun> {
    println!("== kernel {name} ({}): booting under QEMU (TCG)", k.version);
    let log_path = work.join(format!("console-{name}.log"));
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "tcg,thread=multi",
            "-cpu",
            "max",
            "-M",
            "pc",
            "-m",
            "2G",
            "-smp",
            "2",
        ])
        .args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&k.vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", "console=ttyS0 panic=-1 quiet loglevel=3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting qemu-system-x86_64")?;
    // Read on a thread so the loop below can time out while the guest prints nothing.
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut console = Vec::new();
    let mut done = false;
    while started.elapsed() < BOOT_TIMEOUT {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let line = line.trim_end_matches('\r').to_string();
                if line.starts_with("@@@")
                    || line.starts_with("test ")
                    || line.starts_with("SKIPPED")
                    || line.contains("panicked")
                {
                    println!("   [{name}] {line}");
                }
                done |= line == "@@@ DONE";
                console.push(line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Ok(Some(_)) = child.try_wait() {
            // Drain what is left.
            while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                done |= line.trim_end() == "@@@ DONE";
                console.push(line.trim_end_matches('\r').to_string());
            }
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    fs::write(&log_path, console.join("\n"))?;
    let mut run = parse(name, &console);
    run.wall = started.elapsed();
    if !done {
        let tail: Vec<&String> = console
            .iter()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        run.error = Some(format!(
            "guest did not finish within {:?} (hung or crashed); console tail:\n{}",
            BOOT_TIMEOUT,
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(run)
}

/// Per-test outcomes from libtest output between the BEGIN/END markers.
///
/// With `--test-threads=1` libtest prints `test NAME ... `, then whatever the test writes to
/// the real stderr (a `SKIPPED NAME: reason` line, for one), then `ok`/`FAILED` — possibly
/// on the same line or on a later one.
pub(super) fn parse(kernel: &str, console: &[String]) -> KernelRun {
    let mut results = BTreeMap::new();
    let mut version = "?".to_string();
    let mut binary = String::new();
    let mut pending: Option<String> = None;
    let mut skip_reason: Option<String> = None;
    let verdict = |word: &str| matches!(word, "ok" | "FAILED" | "ignored");
    for line in console {
        if let Some(v) = line.strip_prefix("@@@ KERNEL ") {
            version = v.to_string();
            continue;
        }
        if let Some(b) = line.strip_prefix("@@@ BEGIN ") {
            binary = b.to_string();
            continue;
        }
        let mut rest = line.as_str();
        if let Some(r) = line.strip_prefix("test ")
            && let Some((name, tail)) = r.split_once(" ... ")
        {
            pending = Some(name.to_string());
            skip_reason = None;
            rest = tail;
        }
        if let Some(at) = rest.find("SKIPPED ") {
            let text = &rest[at + 8..];
            skip_reason = Some(
                text.split_once(": ")
                    .map_or(text, |(_, why)| why)
                    .to_string(),
            );
            rest = "";
        }
        let word = rest.trim();
        if verdict(word)
            && let Some(name) = pending.take()
        {
            let outcome = match (word, skip_reason.take()) {
                ("ok", Some(why)) => Outcome::Skip(why),
                ("ok", None) => Outcome::Pass,
                ("ignored", _) => Outcome::Skip("ignored".into()),
                _ => Outcome::Fail,
            };
            results.insert(format!("{binary}::{name}"), outcome);
        }
    }
    KernelRun {
        kernel: kernel.to_string(),
        version,
        results,
        wall: Duration::ZERO,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_outcomes_skips_split_lines_and_failures() {
        let console: Vec<String> = [
            "@@@ KERNEL 5.10.0-35-cloud-amd64",
            "@@@ BEGIN netns",
            "test a ... ok",
            "test b ... SKIPPED b: `promtool` is not installed",
            "ok",
            "test c ... ",
            "some output",
            "FAILED",
            "test d ... ignored",
            "@@@ END netns rc=101",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let run = parse("5.10", &console);
        assert_eq!(run.version, "5.10.0-35-cloud-amd64");
        assert_eq!(run.results["netns::a"], Outcome::Pass);
        assert_eq!(
            run.results["netns::b"],
            Outcome::Skip("`promtool` is not installed".into())
        );
        assert_eq!(run.results["netns::c"], Outcome::Fail);
        assert_eq!(run.results["netns::d"], Outcome::Skip("ignored".into()));
    }
}
