//! `cargo xtask vm-test`: the kernel integration suite inside QEMU guests running Debian's
//! kernels, one boot per kernel line.
//!
//! For each line the newest Debian kernel package is resolved and downloaded through a
//! private apt configuration (its own sources list, lists and cache under
//! `target/vm-test/apt`; `/etc/apt` is not touched), extracted and cached under
//! `target/vm-test/kernels`. The tests and the agent are built as static musl binaries and
//! packed with busybox, the host's `ip`, `ss` and `curl` (with the libraries `ldd` names)
//! and the kernel modules the tests need into an initramfs. QEMU boots it under TCG (KVM
//! does not work on these hosts), the init script runs every test binary and prints
//! markers on the serial console, which is parsed into a kernel × test matrix printed at
//! the end and written to `target/vm-test/report.md`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    fs,
    io::{BufRead as _, BufReader},
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use crate::status;

/// A Debian kernel line and where to find it.
struct Line {
    name: &'static str,
    /// apt sources lines (`deb [signed-by=...] URI SUITE main`) without the `deb` options.
    suites: &'static [(&'static str, &'static str)],
    /// Regex for `apt-cache search --names-only` of the image package.
    image: &'static str,
    /// Regex of a separate modules package, if the line splits them.
    modules: Option<&'static str>,
}

const DEBIAN: &str = "http://deb.debian.org/debian";
const SECURITY: &str = "http://deb.debian.org/debian-security";

const LINES: &[Line] = &[
    Line {
        name: "5.10",
        suites: &[
            (DEBIAN, "bullseye"),
            (DEBIAN, "bullseye-updates"),
            (SECURITY, "bullseye-security"),
        ],
        image: r"^linux-image-5\.10\.[0-9.]+-[0-9]+-cloud-amd64-unsigned$",
        modules: None,
    },
    Line {
        name: "6.1",
        suites: &[
            (DEBIAN, "bookworm"),
            (DEBIAN, "bookworm-updates"),
            (SECURITY, "bookworm-security"),
        ],
        image: r"^linux-image-6\.1\.[0-9.]+-[0-9]+-cloud-amd64-unsigned$",
        modules: None,
    },
    Line {
        name: "6.12",
        suites: &[
            (DEBIAN, "bookworm"),
            (DEBIAN, "bookworm-updates"),
            (SECURITY, "bookworm-security"),
        ],
        image: r"^linux-image-6\.12\.[0-9.]+\+deb12-cloud-amd64-unsigned$",
        modules: None,
    },
    Line {
        name: "7.2",
        suites: &[(DEBIAN, "sid")],
        image: r"^linux-binary-7\.2\.[0-9.]+\+deb[0-9]+-cloud-amd64$",
        modules: Some(r"^linux-modules-7\.2\.[0-9.]+\+deb[0-9]+-cloud-amd64$"),
    },
];

/// Modules the tests need (with their dependencies); built-in ones are skipped.
const MODULES: &[&str] = &["veth", "tcp_diag", "udp_diag", "inet_diag", "af_packet"];

/// Host tools copied into the guest with their shared libraries (busybox's applets of the
/// same names lack what the tests use). Missing ones are left out; tests needing them skip.
const HOST_TOOLS: &[&str] = &[
    "/usr/sbin/ip",
    "/usr/bin/ss",
    "/usr/bin/curl",
    "/usr/bin/setpriv",
    "/usr/bin/promtool",
];

/// Longest one guest may run.
const BOOT_TIMEOUT: Duration = Duration::from_secs(25 * 60);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail,
    Skip(String),
}

struct KernelRun {
    kernel: String,
    version: String,
    results: BTreeMap<String, Outcome>,
    wall: Duration,
    error: Option<String>,
}

/// Entry point: `kernel` is `5.10`, `6.1`, `6.12`, `7.2`, `host` or `all`.
pub fn run(root: &Path, kernel: &str, filter: Option<&str>) -> Result<()> {
    let lines: Vec<&Line> = match kernel {
        "all" => LINES.iter().collect(),
        "host" => Vec::new(),
        k => vec![LINES.iter().find(|l| l.name == k).with_context(|| {
            format!("unknown kernel line {k} (5.10, 6.1, 6.12, 7.2, host, all)")
        })?],
    };
    let work = root.join("target/vm-test");
    fs::create_dir_all(&work)?;
    let bins = build(root)?;
    let mut runs = Vec::new();
    if kernel == "host" {
        runs.push(run_on_host(&bins, filter)?);
    }
    for line in lines {
        let started = Instant::now();
        let run = fetch_kernel(&work, line).and_then(|k| {
            let initrd = pack(&work, line.name, &k, &bins, filter)?;
            boot(&work, line.name, &k, &initrd)
        });
        match run {
            Ok(mut r) => {
                r.wall = started.elapsed();
                runs.push(r);
            }
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

/// Static test and agent binaries.
struct Binaries {
    agent: PathBuf,
    tests: Vec<(String, PathBuf)>,
}

fn build(root: &Path) -> Result<Binaries> {
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

/// A kernel ready to boot.
struct Kernel {
    version: String,
    vmlinuz: PathBuf,
    /// Root of the extracted packages (holds lib/modules or usr/lib/modules).
    tree: PathBuf,
}

fn apt(work: &Path, line: &Line) -> Result<impl Fn(&[&str]) -> Command> {
    let dir = work.join("apt").join(line.name);
    for d in [
        "lists/partial",
        "cache/archives/partial",
        "etc/sources.list.d",
        "etc/preferences.d",
    ] {
        fs::create_dir_all(dir.join(d))?;
    }
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let sources: String = line
        .suites
        .iter()
        .map(|(uri, suite)| format!("deb [signed-by={keyring}] {uri} {suite} main\n"))
        .collect();
    fs::write(dir.join("etc/sources.list"), sources)?;
    let status_file = dir.join("status");
    if !status_file.exists() {
        fs::write(&status_file, "")?;
    }
    let conf = format!(
        "Dir::Etc::SourceList \"{0}/etc/sources.list\";\nDir::Etc::SourceParts \"{0}/etc/sources.list.d\";\n\
         Dir::Etc::Preferences \"{0}/etc/preferences\";\nDir::Etc::PreferencesParts \"{0}/etc/preferences.d\";\n\
         Dir::State::Lists \"{0}/lists\";\nDir::Cache \"{0}/cache\";\nDir::State::status \"{0}/status\";\n\
         APT::Architecture \"amd64\";\nAPT::Architectures \"amd64\";\nAcquire::Languages \"none\";\n",
        dir.display()
    );
    fs::write(dir.join("apt.conf"), conf)?;
    let conf_path = dir.join("apt.conf");
    Ok(move |args: &[&str]| {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]).env("APT_CONFIG", &conf_path);
        c
    })
}

/// Package names matching `regex`, newest first (version runs compared numerically).
fn candidates(apt: &impl Fn(&[&str]) -> Command, regex: &str) -> Result<Vec<String>> {
    let out = apt(&["apt-cache", "search", "--names-only", regex]).output()?;
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(" - ").next().map(str::to_string))
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(version_key(n)));
    if names.is_empty() {
        bail!("no package matches {regex}");
    }
    Ok(names)
}

/// Downloads the newest of `names` the mirror actually serves (an index can list a
/// package whose file is gone); returns its name.
fn download_newest(
    apt: &impl Fn(&[&str]) -> Command,
    names: &[String],
    dest: &Path,
) -> Result<String> {
    for name in names.iter().take(6) {
        println!("   downloading {name}");
        let ok = apt(&["apt-get", "-qq", "download", name])
            .current_dir(dest)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(name.clone());
        }
        println!("   {name} is listed but not downloadable; trying an older one");
    }
    bail!(
        "none of the newest {} candidates could be downloaded",
        names.len().min(6)
    )
}

fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

fn fetch_kernel(work: &Path, line: &Line) -> Result<Kernel> {
    let dir = work.join("kernels").join(line.name);
    let done = dir.join("version");
    if !done.exists() {
        println!("== kernel {}: resolving through apt", line.name);
        let apt = apt(work, line)?;
        status(apt(&["apt-get", "-qq", "update"]).stdout(Stdio::null()))?;
        let _ = fs::remove_dir_all(&dir);
        let debs = dir.join("debs");
        fs::create_dir_all(&debs)?;
        let image = download_newest(&apt, &candidates(&apt, line.image)?, &debs)?;
        if let Some(m) = line.modules {
            // The modules package must be of the same version as the image.
            let version = image.trim_start_matches("linux-binary-");
            let wanted: Vec<String> = candidates(&apt, m)?
                .into_iter()
                .filter(|n| n.ends_with(version))
                .collect();
            download_newest(&apt, &wanted, &debs)?;
        }
        let tree = dir.join("tree");
        for deb in fs::read_dir(&debs)? {
            status(
                Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(deb?.path())
                    .arg(&tree),
            )?;
        }
        let version = find_vmlinuz(&tree)?.0;
        let modules_root = if tree.join("usr/lib/modules").exists() {
            tree.join("usr")
        } else {
            tree.clone()
        };
        status(
            Command::new("depmod")
                .arg("-b")
                .arg(&modules_root)
                .arg(&version),
        )?;
        fs::remove_dir_all(&debs)?;
        fs::write(&done, &version)?;
    }
    let tree = dir.join("tree");
    let (version, vmlinuz) = find_vmlinuz(&tree)?;
    Ok(Kernel {
        version,
        vmlinuz,
        tree,
    })
}

fn find_vmlinuz(tree: &Path) -> Result<(String, PathBuf)> {
    for boot in [tree.join("boot"), tree.join("usr/lib/linux")] {
        if let Ok(entries) = fs::read_dir(&boot) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(v) = name.strip_prefix("vmlinuz-") {
                    return Ok((v.to_string(), e.path()));
                }
            }
        }
    }
    // Newer packaging: /usr/lib/modules/<version>/vmlinuz.
    for base in [tree.join("usr/lib/modules"), tree.join("lib/modules")] {
        if let Ok(entries) = fs::read_dir(&base) {
            for e in entries.flatten() {
                let z = e.path().join("vmlinuz");
                if z.exists() {
                    return Ok((e.file_name().to_string_lossy().into_owned(), z));
                }
            }
        }
    }
    bail!("no vmlinuz in {}", tree.display())
}

/// Modules to load, in dependency order, decompressed into `dest`; returns their names.
fn modules(k: &Kernel, dest: &Path) -> Result<Vec<String>> {
    let root = if k.tree.join("usr/lib/modules").exists() {
        k.tree.join("usr")
    } else {
        k.tree.clone()
    };
    let mut order = Vec::new();
    for m in MODULES {
        let out = Command::new("modprobe")
            .arg("-d")
            .arg(&root)
            .arg("-S")
            .arg(&k.version)
            .args(["--show-depends", m])
            .output()?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(path) = line.strip_prefix("insmod ") {
                let path = path.split_whitespace().next().unwrap_or(path).to_string();
                if !order.contains(&path) {
                    order.push(path);
                }
            }
        }
    }
    fs::create_dir_all(dest)?;
    let mut names = Vec::new();
    for path in order {
        let file = Path::new(&path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let base = file
            .trim_end_matches(".xz")
            .trim_end_matches(".zst")
            .trim_end_matches(".gz")
            .to_string();
        let out = dest.join(&base);
        let data = if file.ends_with(".xz") {
            Command::new("xz").arg("-dc").arg(&path).output()?.stdout
        } else if file.ends_with(".zst") {
            Command::new("zstd").arg("-dc").arg(&path).output()?.stdout
        } else {
            fs::read(&path)?
        };
        fs::write(&out, data)?;
        names.push(base);
    }
    Ok(names)
}

fn copy_exe(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to.parent().unwrap())?;
    fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))?;
    Ok(())
}

/// Copies a dynamically linked host tool and every library `ldd` lists.
fn copy_tool(tool: &str, root: &Path) -> Result<()> {
    copy_exe(Path::new(tool), &root.join(tool.trim_start_matches('/')))?;
    let out = Command::new("ldd").arg(tool).output()?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = line
            .split("=>")
            .last()
            .unwrap_or(line)
            .split_whitespace()
            .next()
            .unwrap_or("");
        if path.starts_with('/') {
            let dest = root.join(path.trim_start_matches('/'));
            if !dest.exists() {
                copy_exe(Path::new(path), &dest)?;
            }
        }
    }
    Ok(())
}

fn pack(
    work: &Path,
    name: &str,
    k: &Kernel,
    bins: &Binaries,
    filter: Option<&str>,
) -> Result<PathBuf> {
    let root = work.join("initramfs").join(name);
    let _ = fs::remove_dir_all(&root);
    for d in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "etc",
        "tests",
        "lib/modules",
        "var/log",
    ] {
        fs::create_dir_all(root.join(d))?;
    }
    copy_exe(Path::new("/bin/busybox"), &root.join("bin/busybox"))?;
    for tool in HOST_TOOLS.iter().filter(|t| Path::new(t).exists()) {
        copy_tool(tool, &root)?;
    }
    // Strip debug info: the guest only needs to run them.
    let strip = |from: &Path, to: &Path| -> Result<()> {
        fs::create_dir_all(to.parent().unwrap())?;
        status(Command::new("strip").arg("-o").arg(to).arg(from))?;
        Ok(())
    };
    strip(&bins.agent, &root.join("bin/sec-agent"))?;
    let mut names = Vec::new();
    for (test, path) in &bins.tests {
        strip(path, &root.join("tests").join(test))?;
        names.push(test.clone());
    }
    let mods = modules(k, &root.join("lib/modules"))?;
    let filter = filter.map(|f| format!(" {f}")).unwrap_or_default();
    let init = format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /sys/fs/bpf /sys/fs/cgroup
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount --make-rshared / 2>/dev/null
ip link set lo up
for m in {mods}; do insmod /lib/modules/$m 2>/dev/null; done
echo "@@@ KERNEL $(uname -r)"
export SEC_AGENT_BIN=/bin/sec-agent RUST_BACKTRACE=1 TMPDIR=/tmp
for t in {tests}; do
  echo "@@@ BEGIN $t"
  /tests/$t --test-threads=1{filter} 2>&1
  echo "@@@ END $t rc=$?"
done
echo "@@@ DONE"
poweroff -f
"#,
        mods = mods.join(" "),
        tests = names.join(" "),
    );
    fs::write(root.join("init"), init)?;
    fs::set_permissions(root.join("init"), fs::Permissions::from_mode(0o755))?;
    let initrd = work.join(format!("initramfs-{name}.cpio.gz"));
    let cmd = format!(
        "cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
        root.display(),
        initrd.display()
    );
    status(Command::new("sh").args(["-c", &cmd]))?;
    Ok(initrd)
}

fn boot(work: &Path, name: &str, k: &Kernel, initrd: &Path) -> Result<KernelRun> {
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
fn parse(kernel: &str, console: &[String]) -> KernelRun {
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
    let mut run = parse("host", &console);
    run.wall = started.elapsed();
    Ok(run)
}

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
