//! Prerequisites of the build and the tests, installed idempotently on Debian.
//!
//! Versions come from `../shared/TOOLCHAIN.md`: the eBPF crate builds on the preinstalled
//! `nightly` (LLVM 22) with rust-src, linked by bpf-linker 0.13.0 built against Debian's
//! LLVM 22. A nightly with another LLVM major would make bpf-linker fail, so it is checked,
//! never updated.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::status;

/// Debian packages and why they are needed.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("llvm-22-dev", "bpf-linker links against LLVM 22"),
    ("bpftool", "inspecting programs and maps"),
    ("iproute2", "`ip` for the test labs (netns, veth)"),
    ("iputils-ping", "`ping` in the kernel tests"),
    ("util-linux", "`nsenter` in the kernel tests"),
    ("curl", "HTTP client in the inspection tests and the lab"),
    (
        "python3",
        "HTTP server (`python3 -m http.server`) in the lab",
    ),
    (
        "busybox-static",
        "HTTP server (`busybox httpd`) in the kernel tests",
    ),
    ("prometheus", "`promtool check metrics` in the metrics test"),
    (
        "systemd",
        "`systemd-analyze verify` of the unit in the service tests",
    ),
];
const EBPF_TOOLCHAIN: &str = "nightly";
const LLVM_MAJOR: &str = "22";
const BPF_LINKER_VERSION: &str = "0.13.0";

/// Runs [`setup`] when anything is missing.
pub fn ensure() -> Result<()> {
    let missing = missing();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: missing {}; running setup", missing.join(", "));
    setup()
}

/// Installs everything that is missing, then checks again.
pub fn setup() -> Result<()> {
    check_nightly_llvm()?;
    let packages: Vec<&str> = APT_PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !apt_installed(p))
        .collect();
    if !packages.is_empty() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc_geteuid() } != 0 {
            bail!(
                "apt packages missing ({}); run `cargo xtask setup` as root",
                packages.join(" ")
            );
        }
        apt_install(&packages)?;
    }
    if !rust_src_installed() {
        // Never self-update rustup or the toolchain: its LLVM must stay at 22.
        let _ = Command::new("rustup")
            .args(["set", "auto-self-update", "disable"])
            .status();
        status(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            EBPF_TOOLCHAIN,
        ]))?;
    }
    if !bpf_linker_ok() {
        eprintln!("xtask: cargo install bpf-linker {BPF_LINKER_VERSION} (about a minute)");
        status(
            Command::new("cargo")
                .args([
                    "install",
                    "bpf-linker",
                    "--version",
                    BPF_LINKER_VERSION,
                    "--locked",
                    "--force",
                    "--no-default-features",
                    "--features",
                    &format!("llvm-{LLVM_MAJOR}"),
                ])
                // Without it the build finds Debian's default llvm-config (LLVM 14).
                .env("LLVM_PREFIX", format!("/usr/lib/llvm-{LLVM_MAJOR}")),
        )?;
    }
    let missing = missing();
    if !missing.is_empty() {
        bail!("setup finished but still missing: {}", missing.join(", "));
    }
    eprintln!("xtask: toolchain ready");
    Ok(())
}

/// Packages and the musl target that `vm-test` needs on top of the normal set.
const VM_PACKAGES: &[&str] = &[
    "qemu-system-x86",
    "busybox-static",
    "kmod",
    "xz-utils",
    "zstd",
    "cpio",
    "lz4",
    "debian-archive-keyring",
    "binutils",
];

/// Debian packages the benchmarks run as peers and load generators.
const BENCH_PACKAGES: &[&str] = &["xdp-tools", "nftables", "iptables", "wrk", "bpftool"];

/// Installs those of `packages` that are missing.
fn ensure_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !apt_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)
}

/// Installs what `bench` needs (peers, load generator), when missing.
pub fn ensure_bench() -> Result<()> {
    ensure_packages(BENCH_PACKAGES)
}

/// Installs what `vm-test` needs, when missing.
pub fn ensure_vm() -> Result<()> {
    ensure_packages(VM_PACKAGES)?;
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("x86_64-unknown-linux-musl"));
    if !installed {
        status(Command::new("rustup").args(["target", "add", "x86_64-unknown-linux-musl"]))?;
    }
    Ok(())
}

fn missing() -> Vec<String> {
    let mut out: Vec<String> = APT_PACKAGES
        .iter()
        .filter(|(p, _)| !apt_installed(p))
        .map(|(p, why)| format!("{p} ({why})"))
        .collect();
    if !rust_src_installed() {
        out.push(format!("rust-src for {EBPF_TOOLCHAIN}"));
    }
    if !bpf_linker_ok() {
        out.push(format!("bpf-linker {BPF_LINKER_VERSION}"));
    }
    out
}

fn check_nightly_llvm() -> Result<()> {
    let out = Command::new("rustc")
        .arg(format!("+{EBPF_TOOLCHAIN}"))
        .arg("-vV")
        .output()
        .context("running rustc +nightly")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "no `{EBPF_TOOLCHAIN}` toolchain: the eBPF crate needs the preinstalled nightly with \
             LLVM {LLVM_MAJOR} (do not install a newer one: bpf-linker {BPF_LINKER_VERSION} \
             needs LLVM {LLVM_MAJOR})"
        );
    }
    let llvm = text
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .unwrap_or("unknown");
    if llvm.split('.').next() != Some(LLVM_MAJOR) {
        bail!(
            "rustc +{EBPF_TOOLCHAIN} uses LLVM {llvm}, but bpf-linker {BPF_LINKER_VERSION} is \
             built against LLVM {LLVM_MAJOR}: install a nightly whose LLVM major is {LLVM_MAJOR}"
        );
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: apt-get install {}", packages.join(" "));
    status(apt().arg("update").arg("-qq"))?;
    status(
        apt()
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages),
    )
}

fn apt() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

fn apt_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn rust_src_installed() -> bool {
    Command::new("rustup")
        .args([
            "component",
            "list",
            "--installed",
            "--toolchain",
            EBPF_TOOLCHAIN,
        ])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with("rust-src"))
        })
}

fn bpf_linker_ok() -> bool {
    Command::new("bpf-linker")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(BPF_LINKER_VERSION))
}

// The one libc call xtask needs; declared here to keep xtask free of the libc crate.
unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
