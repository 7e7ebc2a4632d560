//! The guest's root file system: an initramfs holding everything one test run needs.
//!
//! The guest has no disk, so the initramfs carries busybox, the host tools the tests call
//! (with the shared libraries `ldd` names), the stripped agent and test binaries, the
//! kernel modules the tests need and `/init`. That init script lives in `init.sh` so it
//! can be read and shellchecked as a file; the module, test and filter lists are
//! substituted for its `@NAME@` tokens when the initramfs is packed.

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result};

use super::{Binaries, kernels};
use crate::status;

/// Host tools copied into the guest with their shared libraries (busybox's applets of the
/// same names lack what the tests use). Missing ones are left out; tests needing them skip.
const HOST_TOOLS: &[&str] = &[
    "/usr/sbin/ip",
    "/usr/bin/ss",
    "/usr/bin/curl",
    "/usr/bin/setpriv",
    "/usr/bin/promtool",
];

/// The guest's `/init`, with `@MODULES@`, `@TESTS@` and `@FILTER@` still to substitute.
const INIT_TEMPLATE: &str = include_str!("init.sh");

/// Builds `target/vm-test/initramfs-<name>.cpio.gz` for kernel `k` and returns its path.
///
/// `filter` is passed to every test binary, as libtest's name filter.
pub(super) fn pack(
    work: &Path,
    name: &str,
    k: &kernels::Kernel,
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
    let mods = kernels::modules(k, &root.join("lib/modules"))?;
    fs::write(root.join("init"), render_init(&mods, &names, filter))?;
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

/// The init script: `mods` are loaded in order, each of `tests` is run with `filter`.
fn render_init(mods: &[String], tests: &[String], filter: Option<&str>) -> String {
    let filter = filter.map(|f| format!(" {f}")).unwrap_or_default();
    // The filter is the only free-form text, so it goes in last: no token inside it can be
    // substituted again.
    INIT_TEMPLATE
        .replace("@MODULES@", &mods.join(" "))
        .replace("@TESTS@", &tests.join(" "))
        .replace("@FILTER@", &filter)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn init_script_gets_modules_tests_and_filter() {
        let init = render_init(
            &strings(&["veth.ko", "af_packet.ko"]),
            &strings(&["netns", "verdicts"]),
            Some("ban"),
        );
        assert!(init.starts_with("#!/bin/busybox sh\n"));
        assert!(init.ends_with("echo \"@@@ DONE\"\npoweroff -f\n"));
        assert!(init.contains(
            "\nfor m in veth.ko af_packet.ko; do insmod /lib/modules/$m 2>/dev/null; done\n"
        ));
        assert!(init.contains("\nfor t in netns verdicts; do\n"));
        assert!(init.contains("\n  /tests/$t --test-threads=1 ban 2>&1\n"));
        assert!(!init.contains("@MODULES@") && !init.contains("@TESTS@"));
        assert!(!init.contains("@FILTER@"));
    }

    #[test]
    fn init_script_without_filter_runs_every_test() {
        let init = render_init(&[], &strings(&["netns"]), None);
        assert!(init.contains("\nfor m in ; do insmod"));
        assert!(init.contains("\n  /tests/$t --test-threads=1 2>&1\n"));
    }
}
