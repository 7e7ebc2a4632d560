//! `cargo xtask install`: the release binary, the systemd unit (with the prefix rewritten),
//! the default config and pattern files (kept if present), and the Grafana dashboard.

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

/// `root` + an absolute path.
fn under(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

fn copy(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(mode))?;
    println!("installed {}", to.display());
    Ok(())
}

/// Copies `from` to `to` unless `to` exists (operator files are never overwritten).
fn copy_if_absent(from: &Path, to: &Path, mode: u32) -> Result<()> {
    if to.exists() {
        println!(
            "kept existing {} (the shipped default is {})",
            to.display(),
            from.display()
        );
        return Ok(());
    }
    copy(from, to, mode)
}

/// Installs under `root` with the binary in `prefix/bin`.
pub fn install(workspace: &Path, prefix: &Path, root: &Path) -> Result<()> {
    let bin = prefix.join("bin/sec-agent");
    copy(
        &workspace.join("target/release/sec-agent"),
        &under(root, &bin),
        0o755,
    )?;

    let unit = fs::read_to_string(workspace.join("config/sec-agent.service"))?
        .replace("/usr/local/bin/sec-agent", &bin.display().to_string());
    let unit_path = under(root, Path::new("/etc/systemd/system/sec-agent.service"));
    fs::create_dir_all(unit_path.parent().expect("has a parent"))?;
    fs::write(&unit_path, unit)?;
    fs::set_permissions(&unit_path, fs::Permissions::from_mode(0o644))?;
    println!("installed {}", unit_path.display());

    let etc = under(root, Path::new("/etc/sec-agent"));
    copy_if_absent(
        &workspace.join("config/sec-agent.toml"),
        &etc.join("sec-agent.toml"),
        0o640,
    )?;
    for f in ["literals.txt", "regexes.txt"] {
        copy_if_absent(
            &workspace.join("config/patterns").join(f),
            &etc.join("patterns").join(f),
            0o640,
        )?;
    }
    let share = under(root, &prefix.join("share/sec-agent"));
    copy(
        &workspace.join("config/grafana-dashboard.json"),
        &share.join("grafana-dashboard.json"),
        0o644,
    )?;
    copy(
        &workspace.join("README.md"),
        &share.join("README.md"),
        0o644,
    )?;

    println!(
        "\nnext: set [xdp] interfaces in /etc/sec-agent/sec-agent.toml, then\n  \
         systemctl daemon-reload && systemctl enable --now sec-agent"
    );
    Ok(())
}
