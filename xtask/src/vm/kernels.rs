//! Debian kernels for the guests: resolving, downloading and extracting them.
//!
//! Each kernel line is resolved through a private apt configuration (its own sources list,
//! lists and cache under `target/vm-test/apt/<line>`) so the host's `/etc/apt` is neither
//! read nor changed and any Debian release can be fetched from any host. The packages are
//! unpacked with `dpkg-deb` and cached under `target/vm-test/kernels/<line>`; a later run
//! reuses the tree once its `version` file exists.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Result, bail};

use crate::status;

/// A Debian kernel line and where to find it.
pub(super) struct Line {
    /// What the user passes to `--kernel` and the report shows.
    pub(super) name: &'static str,
    /// apt sources lines (`deb [signed-by=...] URI SUITE main`) without the `deb` options.
    suites: &'static [(&'static str, &'static str)],
    /// Regex for `apt-cache search --names-only` of the image package.
    image: &'static str,
    /// Regex of a separate modules package, if the line splits them.
    modules: Option<&'static str>,
}

const DEBIAN: &str = "http://deb.debian.org/debian";
const SECURITY: &str = "http://deb.debian.org/debian-security";

/// Every kernel line `--kernel all` boots, oldest first.
pub(super) const LINES: &[Line] = &[
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

/// A kernel ready to boot.
pub(super) struct Kernel {
    /// `uname -r` of the kernel, as its packaging names it.
    pub(super) version: String,
    pub(super) vmlinuz: PathBuf,
    /// Root of the extracted packages (holds lib/modules or usr/lib/modules).
    tree: PathBuf,
}

/// Writes the private apt configuration of `line` and returns a builder of apt commands
/// that use it.
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
    // apt reads the dpkg status file `Dir::State::status` names; empty means nothing is
    // installed, so nothing the host has installed influences resolution.
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

/// Sort key of a package name: its runs of digits as numbers, so `6.1.10` sorts after
/// `6.1.9`, which a string comparison gets wrong.
fn version_key(name: &str) -> Vec<u64> {
    name.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

/// Where `depmod` and `modprobe` find `lib/modules`: merged-/usr packages ship it under
/// `usr/`.
fn modules_root(tree: &Path) -> PathBuf {
    if tree.join("usr/lib/modules").exists() {
        tree.join("usr")
    } else {
        tree.to_path_buf()
    }
}

/// The newest kernel of `line`, downloaded and extracted on first use, cached afterwards.
pub(super) fn fetch_kernel(work: &Path, line: &Line) -> Result<Kernel> {
    let dir = work.join("kernels").join(line.name);
    let done = dir.join("version");
    if !done.exists() {
        println!("== kernel {}: resolving through apt", line.name);
        let apt = apt(work, line)?;
        status(apt(&["apt-get", "-qq", "update"]).stdout(Stdio::null()))?;
        // A run interrupted before `version` was written leaves a partial tree.
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
        // The packages' postinst would run depmod; unpacking skips it, and modprobe
        // --show-depends needs modules.dep.
        status(
            Command::new("depmod")
                .arg("-b")
                .arg(modules_root(&tree))
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

/// The kernel version and image path in an extracted tree.
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

/// Copies the modules the tests need, with their dependencies, into `dest`, decompressed so
/// the guest's busybox `insmod` needs no decompressor; returns their file names in the
/// order they must be loaded.
pub(super) fn modules(k: &Kernel, dest: &Path) -> Result<Vec<String>> {
    let root = modules_root(&k.tree);
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
