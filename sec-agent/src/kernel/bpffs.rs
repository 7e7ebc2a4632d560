//! The BPF file system that holds pinned maps and links.

use std::{
    ffi::CString,
    fs,
    os::{fd::AsRawFd as _, unix::ffi::OsStrExt as _},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result, bail};

/// `BPF_FS_MAGIC` from `<linux/magic.h>`.
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// Whether `path` lies on a bpffs.
pub fn is_bpffs(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: zeroed statfs is a valid out-parameter; c is NUL terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_type as i64 == BPF_FS_MAGIC
}

/// Makes `pin_dir` exist on a bpffs. When its nearest existing ancestor is not on a bpffs
/// and is `/sys/fs/bpf` (the conventional mount point, left unmounted by some container and
/// minimal systems), a bpffs is mounted there; any other location must already be a bpffs.
///
/// # Errors
/// The directory is not on a bpffs and cannot be made so, or cannot be created.
pub fn ensure_pin_dir(pin_dir: &Path) -> Result<()> {
    let mut existing = pin_dir.to_path_buf();
    while !existing.exists() {
        if !existing.pop() {
            break;
        }
    }
    if !is_bpffs(&existing) {
        let default_mount = Path::new("/sys/fs/bpf");
        if existing == default_mount {
            mount_bpffs(default_mount)?;
            tracing::info!("mounted a bpffs at /sys/fs/bpf");
        } else {
            bail!(
                "{} is not on a BPF file system (bpffs): mount one (mount -t bpf bpf DIR) or \
                 choose a pin path under /sys/fs/bpf",
                pin_dir.display()
            );
        }
    }
    fs::create_dir_all(pin_dir)
        .with_context(|| format!("creating pin directory {}", pin_dir.display()))?;
    fs::create_dir_all(links_dir(pin_dir))
        .with_context(|| format!("creating {}", links_dir(pin_dir).display()))?;
    Ok(())
}

/// Mounts a new bpffs instance at `dir`.
pub fn mount_bpffs(dir: &Path) -> Result<()> {
    let target = CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: NUL-terminated strings, no data argument.
    let rc = unsafe {
        libc::mount(
            c"bpf".as_ptr(),
            target.as_ptr(),
            c"bpf".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("mounting a bpffs at {}", dir.display()));
    }
    Ok(())
}

/// Directory of the pinned XDP links, one file per interface name.
pub fn links_dir(pin_dir: &Path) -> PathBuf {
    pin_dir.join("links")
}

/// An exclusive lock on a pin directory, held by the running agent so that two agents never
/// drive the same maps. Released when dropped (or when the process dies).
pub struct RunLock(#[allow(dead_code)] fs::File);

impl RunLock {
    /// Takes the lock without waiting.
    ///
    /// # Errors
    /// Another agent holds it.
    pub fn acquire(pin_dir: &Path) -> Result<RunLock> {
        let dir =
            fs::File::open(pin_dir).with_context(|| format!("opening {}", pin_dir.display()))?;
        // SAFETY: valid fd owned by `dir`.
        let rc = unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            bail!(
                "another sec-agent is already running on {} (its lock is held)",
                pin_dir.display()
            );
        }
        Ok(RunLock(dir))
    }
}
