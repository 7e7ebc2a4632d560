//! `cargo xtask bench`: builds the release benchmark binary, runs it (as root), and writes
//! BENCHMARKS.md with the machine, kernel, date and command in front of its figures. A run
//! of some sections replaces just those sections (and their target lines) in an existing
//! BENCHMARKS.md.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::SystemTime,
};

use anyhow::{Context as _, Result, bail};

/// Where cargo puts the builds: `$CARGO_TARGET_DIR`, or `target/` in the workspace.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Runs the measurements (all of them, or only `sections`) and writes `BENCHMARKS.md` at
/// the workspace root: whole for a full run; for a run of some sections, only those
/// sections are replaced in the existing file.
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
    let release = target_dir(root).join("release");
    let out = Command::new(release.join("sec-agent-bench"))
        .args(sections)
        .env("SEC_AGENT_BIN", release.join("sec-agent"))
        .stderr(Stdio::inherit())
        .output()
        .context("running sec-agent-bench")?;
    if !out.status.success() {
        bail!("sec-agent-bench failed ({})", out.status);
    }
    let figures = String::from_utf8(out.stdout)?;
    if !sections.is_empty() {
        print!("{figures}");
        let path = root.join("BENCHMARKS.md");
        match fs::read_to_string(&path) {
            Ok(existing) => {
                let note = format!(
                    "(This section: `cargo xtask bench {}`, {}.)",
                    sections.join(" "),
                    humantime_like(SystemTime::now())
                );
                fs::write(&path, splice(&existing, &figures, &note))?;
                println!("sections replaced in BENCHMARKS.md");
            }
            Err(_) => println!("no BENCHMARKS.md to update: run the whole bench to write it"),
        }
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

/// `figures`' sections (each from its `## ` heading to the next) in place of the sections
/// of `existing` with the same heading (appended when it has none), with `note` under each
/// heading, and their `Target: ` lines in place of theirs in the summary at the top.
fn splice(existing: &str, figures: &str, note: &str) -> String {
    let mut lines: Vec<String> = existing.lines().map(str::to_string).collect();
    let mut new: Vec<(String, Vec<String>)> = Vec::new();
    for line in figures.lines() {
        if line.starts_with("## ") {
            new.push((line.to_string(), vec![line.to_string()]));
        } else if let Some((_, body)) = new.last_mut() {
            body.push(line.to_string());
        }
    }
    for (heading, mut body) in new {
        body.insert(1, String::new());
        body.insert(2, note.to_string());
        let start = lines.iter().position(|l| *l == heading);
        match start {
            Some(s) => {
                let e = section_end(&lines, s);
                lines.splice(s..e, body.iter().cloned());
            }
            None => lines.extend(body.iter().cloned()),
        }
        // The summary: `- *<heading>*: <target>` under `## Targets`.
        let title = heading.trim_start_matches("## ");
        let prefix = format!("- *{title}*: ");
        let targets: Vec<String> = body
            .iter()
            .filter_map(|l| l.strip_prefix("Target: "))
            .map(|t| format!("{prefix}{t}"))
            .collect();
        let Some(summary) = lines.iter().position(|l| l == "## Targets") else {
            continue;
        };
        let summary_end = section_end(&lines, summary);
        let old: Vec<usize> = (summary..summary_end)
            .filter(|&i| lines[i].starts_with(&prefix))
            .collect();
        let at = old.first().copied().unwrap_or_else(|| {
            (summary..summary_end)
                .rev()
                .find(|&i| lines[i].starts_with("- *"))
                .map_or(summary + 2, |i| i + 1)
        });
        for &i in old.iter().rev() {
            lines.remove(i);
        }
        lines.splice(at..at, targets);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The line after the section that starts at `from`: the next `## ` heading, or the end.
fn section_end(lines: &[String], from: usize) -> usize {
    lines[from + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |i| from + 1 + i)
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

#[cfg(test)]
mod tests {
    use super::splice;

    #[test]
    fn splice_replaces_one_section_and_its_target() {
        let existing = "# Benchmarks\n\n## Targets\n\n- *A*: a old\n- *B*: b old\n\n## A\n\nold a\n\nTarget: a old\n\n## B\n\nold b\n\nTarget: b old\n";
        let figures = "## B\n\nnew b\n\nTarget: b new\n\n";
        let text = splice(existing, figures, "(note)");
        assert_eq!(
            text,
            "# Benchmarks\n\n## Targets\n\n- *A*: a old\n- *B*: b new\n\n## A\n\nold a\n\nTarget: a old\n\n## B\n\n(note)\n\nnew b\n\nTarget: b new\n\n"
        );
        // A section the file lacks is appended, its target added to the summary.
        let text = splice(existing, "## C\n\nc\n\nTarget: c\n", "(note)");
        assert!(text.contains("- *B*: b old\n- *C*: c\n"));
        assert!(text.ends_with("## C\n\n(note)\n\nc\n\nTarget: c\n"));
    }
}
