//! `cargo xtask test`: runs `cargo test`, passing its output through, and ends with one
//! summary line over all test binaries: `tests: N passed, N failed, N skipped`.
//!
//! Skips are the `SKIPPED <test>: <reason>` lines the kernel tests print when they cannot
//! run (no root); libtest counts those tests as passed, so they are moved to `skipped`.

use std::{
    io::{BufRead as _, BufReader, Read},
    process::{Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    thread,
};

use anyhow::{Context as _, Result, bail};

#[derive(Default)]
struct Tally {
    passed: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
}

impl Tally {
    fn read_line(&self, line: &str) {
        if line.starts_with("SKIPPED ") {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        // "test result: ok. 10 passed; 0 failed; 0 ignored; ..."
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                    continue;
                };
                let Ok(n) = n.parse::<u64>() else { continue };
                match kind {
                    "passed" => self.passed.fetch_add(n, Ordering::Relaxed),
                    "failed" => self.failed.fetch_add(n, Ordering::Relaxed),
                    _ => 0,
                };
            }
        }
    }
}

/// Runs `cmd` (a `cargo test`), then prints the summary; fails when cargo does.
pub fn run(cmd: &mut Command) -> Result<()> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let tally = Tally::default();
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    thread::scope(|s| {
        s.spawn(|| forward(stdout, &tally, std::io::stdout()));
        s.spawn(|| forward(stderr, &tally, std::io::stderr()));
    });
    let st = child.wait()?;
    let skipped = tally.skipped.load(Ordering::Relaxed);
    let passed = tally.passed.load(Ordering::Relaxed).saturating_sub(skipped);
    let failed = tally.failed.load(Ordering::Relaxed);
    println!("tests: {passed} passed, {failed} failed, {skipped} skipped");
    if !st.success() {
        bail!("cargo test failed: {st}");
    }
    Ok(())
}

fn forward(from: impl Read, tally: &Tally, mut to: impl std::io::Write) {
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        tally.read_line(&line);
        let _ = writeln!(to, "{line}");
    }
}
