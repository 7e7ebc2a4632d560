//! `cargo xtask vm-test`: the kernel integration suite inside QEMU guests running Debian's
//! kernels, one boot per kernel line.
//!
//! For each line the newest Debian kernel package is resolved, downloaded and extracted
//! ([`kernels`]). The tests and the agent are built as static musl binaries ([`binaries`])
//! and packed with busybox, a few host tools and the kernel modules the tests need into an
//! initramfs whose init script runs every test binary ([`initramfs`]). QEMU boots it and the
//! markers the script prints on the serial console are parsed into outcomes ([`qemu`]).
//! This module ties the steps together and renders the kernel × test matrix, printed at the
//! end and written to `target/vm-test/report.md`.

mod binaries;
mod initramfs;
mod kernels;
mod qemu;

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use binaries::Binaries;
use kernels::LINES;

/// What became of one test on one kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    /// Skipped, with the reason the test printed (or `ignored`).
    Skip(String),
}

/// The outcomes of the suite on one kernel: a column of the report.
struct KernelRun {
    /// Kernel line name (`5.10`, …, `host`).
    kernel: String,
    /// `uname -r` the guest reported, `?` if it never did.
    version: String,
    /// Outcome per `binary::test`.
    results: BTreeMap<String, Outcome>,
    wall: Duration,
    /// Why the run is incomplete (no kernel, guest hung or crashed).
    error: Option<String>,
}

/// Entry point: `kernel` is `5.10`, `6.1`, `6.12`, `7.2`, `host` or `all`; `filter` is
/// passed to every test binary as libtest's name filter.
///
/// Fails when any test fails, a kernel produced no results, or a run did not finish; the
/// report is written either way.
pub fn run(root: &Path, kernel: &str, filter: Option<&str>) -> Result<()> {
    let lines: Vec<&kernels::Line> = match kernel {
        "all" => LINES.iter().collect(),
        "host" => Vec::new(),
        k => vec![LINES.iter().find(|l| l.name == k).with_context(|| {
            format!("unknown kernel line {k} (5.10, 6.1, 6.12, 7.2, host, all)")
        })?],
    };
    let work = root.join("target/vm-test");
    fs::create_dir_all(&work)?;
    let bins = binaries::build(root)?;
    let mut runs = Vec::new();
    if kernel == "host" {
        runs.push(run_on_host(&bins, filter)?);
    }
    for line in lines {
        let started = Instant::now();
        let run = kernels::fetch_kernel(&work, line).and_then(|k| {
            let initrd = initramfs::pack(&work, line.name, &k, &bins, filter)?;
            qemu::boot(&work, line.name, &k, &initrd)
        });
        match run {
            Ok(mut r) => {
                r.wall = started.elapsed();
                runs.push(r);
            }
            // One kernel failing to download or boot must not hide the others' results.
            Err(e) => runs.push(KernelRun {
                kernel: line.name.to_string(),
                version: "?".into(),
                results: BTreeMap::new(),
                wall: started.elapsed(),
                error: Some(format!("{e:#}")),
            }),
        }
    }
    let report = report(&runs);
    println!("\n{report}");
    fs::write(work.join("report.md"), &report)?;
    println!("written to {}", work.join("report.md").display());
    let failed = runs.iter().any(|r| {
        r.error.is_some() || r.results.is_empty() || r.results.values().any(|o| *o == Outcome::Fail)
    });
    let count = |f: fn(&Outcome) -> bool| {
        runs.iter()
            .flat_map(|r| r.results.values())
            .filter(|o| f(o))
            .count()
    };
    println!(
        "vm-test: {} passed, {} failed, {} skipped",
        count(|o| *o == Outcome::Pass),
        count(|o| *o == Outcome::Fail),
        count(|o| matches!(o, Outcome::Skip(_)))
    );
    if failed {
        bail!("the VM suite failed");
    }
    Ok(())
}

/// The musl binaries run directly on the host kernel, their output shaped like a guest
/// console so the same parser and report apply.
fn run_on_host(bins: &Binaries, filter: Option<&str>) -> Result<KernelRun> {
    let started = Instant::now();
    let mut console = vec![format!(
        "@@@ KERNEL {}",
        String::from_utf8_lossy(&Command::new("uname").arg("-r").output()?.stdout).trim()
    )];
    for (name, path) in &bins.tests {
        console.push(format!("@@@ BEGIN {name}"));
        let mut c = Command::new(path);
        c.arg("--test-threads=2").env("SEC_AGENT_BIN", &bins.agent);
        if let Some(f) = filter {
            c.arg(f);
        }
        let out = c.output()?;
        for l in String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
        {
            console.push(l.to_string());
        }
    }
    let mut run = qemu::parse("host", &console);
    run.wall = started.elapsed();
    Ok(run)
}

/// The Markdown report: a summary row per kernel, then the test × kernel matrix, then the
/// errors of incomplete runs.
fn report(runs: &[KernelRun]) -> String {
    let mut tests: Vec<&String> = runs.iter().flat_map(|r| r.results.keys()).collect();
    tests.sort();
    tests.dedup();
    let mut out = String::from("# VM test matrix\n\n");
    let _ = writeln!(out, "| kernel | version | pass | fail | skip | wall time |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for r in runs {
        let count = |f: fn(&Outcome) -> bool| r.results.values().filter(|o| f(o)).count();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.0} s |",
            r.kernel,
            r.version,
            count(|o| *o == Outcome::Pass),
            count(|o| *o == Outcome::Fail),
            count(|o| matches!(o, Outcome::Skip(_))),
            r.wall.as_secs_f64()
        );
    }
    let _ = write!(out, "\n| test |");
    for r in runs {
        let _ = write!(out, " {} |", r.kernel);
    }
    let _ = write!(out, "\n|---|");
    for _ in runs {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    for t in &tests {
        let _ = write!(out, "| {t} |");
        for r in runs {
            let cell = match r.results.get(*t) {
                Some(Outcome::Pass) => "pass".to_string(),
                Some(Outcome::Fail) => "**FAIL**".to_string(),
                Some(Outcome::Skip(why)) => format!("skip: {why}"),
                None => "-".to_string(),
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    for r in runs {
        if let Some(e) = &r.error {
            let _ = writeln!(out, "\n## {} error\n\n```\n{e}\n```", r.kernel);
        }
    }
    out
}
