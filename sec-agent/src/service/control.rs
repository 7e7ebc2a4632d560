//! The control socket: a Unix stream socket (default `/run/sec-agent/control.sock`, mode
//! 0600) over which the CLI asks the running agent to ban, unban, allow, report status,
//! describe an address or reload, so that every change is journaled.
//!
//! Protocol: one JSON request per line, one JSON response per line. Requests are objects
//! with a `cmd` field ([`Request`]); responses are `{"ok": true, ...}` or
//! `{"ok": false, "error": "...", "exit": 1|2}` (2 for bad input). Only root may talk to
//! it: besides the file mode, the peer's credentials (`SO_PEERCRED`) are checked.

use std::{
    io::{BufRead as _, BufReader, Write as _},
    os::unix::{
        fs::PermissionsExt as _,
        net::{UnixListener, UnixStream},
    },
    path::{Path, PathBuf},
    sync::Arc,
    thread,
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Default socket path.
pub const DEFAULT_SOCKET: &str = "/run/sec-agent/control.sock";

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// Ban an address or CIDR.
    Ban {
        /// Address or CIDR.
        target: String,
        /// TTL in seconds; none = permanent.
        ttl_secs: Option<u64>,
        /// Operator note.
        note: Option<String>,
        /// Store it even if it overlaps the allowlist.
        force: bool,
    },
    /// Remove bans.
    Unban {
        /// Addresses or CIDRs.
        targets: Vec<String>,
    },
    /// Add to the allowlist.
    Allow {
        /// Addresses or CIDRs.
        nets: Vec<String>,
    },
    /// Remove from the allowlist.
    Disallow {
        /// Addresses or CIDRs.
        nets: Vec<String>,
    },
    /// The agent's own status.
    Status,
    /// Everything known about one address.
    Ip {
        /// The address.
        addr: String,
    },
    /// Re-read the config file and apply it.
    Reload,
}

/// Serves requests; implemented by the daemon.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request; errors become `{"ok": false}` responses.
    fn handle(&self, request: Request) -> Result<Value>;
}

/// Creates the socket (its directory too, mode 0700), removing a stale one, and serves it
/// on a background thread.
///
/// # Errors
/// The socket cannot be created or bound.
pub fn serve(path: &Path, handler: Arc<dyn Handler>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another process", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let h = Arc::clone(&handler);
                let _ = thread::Builder::new()
                    .name("control-conn".into())
                    .spawn(move || connection(stream, h.as_ref()));
            }
        })
        .context("starting the control thread")?;
    Ok(())
}

fn connection(stream: UnixStream, handler: &dyn Handler) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let root = peer_uid(&stream) == Some(0);
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        let response = if !root {
            json!({"ok": false, "error": "permission denied: the control socket is for root only", "exit": 1})
        } else {
            match serde_json::from_str::<Request>(&line) {
                Err(e) => json!({"ok": false, "error": format!("bad request: {e}"), "exit": 2}),
                Ok(req) => match handler.handle(req) {
                    Ok(mut v) => {
                        v["ok"] = json!(true);
                        v
                    }
                    Err(e) => {
                        json!({"ok": false, "error": format!("{e:#}"), "exit": crate::error::exit_code(&e)})
                    }
                },
            }
        };
        if writeln!(out, "{response}").is_err() || !root {
            return;
        }
    }
}

fn peer_uid(stream: &UnixStream) -> Option<u32> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: zeroed ucred is a valid out-parameter of the right size.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid fd and out-pointers.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(cred.uid)
}

/// A connection to the running agent.
pub struct Client {
    stream: UnixStream,
    path: PathBuf,
}

impl Client {
    /// Connects; `Ok(None)` when no agent listens there (no socket, or a stale one).
    ///
    /// # Errors
    /// The socket exists but this user may not use it (it is root only).
    pub fn connect(path: &Path) -> Result<Option<Client>> {
        let stream = match UnixStream::connect(path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                bail!(
                    "cannot use the agent's control socket {}: permission denied (root only)",
                    path.display()
                )
            }
            Err(_) => return Ok(None),
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        Ok(Some(Client {
            stream,
            path: path.to_path_buf(),
        }))
    }

    /// Sends `request`; returns the response object.
    ///
    /// # Errors
    /// The connection failed, or the agent answered `ok: false` (an
    /// [`crate::error::InputError`] when it said the input was bad).
    pub fn call(&mut self, request: &Request) -> Result<Value> {
        let line = serde_json::to_string(request)?;
        writeln!(self.stream, "{line}")
            .with_context(|| format!("writing to {}", self.path.display()))?;
        let mut answer = String::new();
        BufReader::new(&self.stream)
            .read_line(&mut answer)
            .with_context(|| format!("reading from {}", self.path.display()))?;
        let v: Value = serde_json::from_str(&answer).context("the agent's answer is not JSON")?;
        if v["ok"] == json!(true) {
            return Ok(v);
        }
        let msg = v["error"]
            .as_str()
            .unwrap_or("the agent refused")
            .to_string();
        if v["exit"] == json!(2) {
            Err(crate::error::input_error(msg))
        } else {
            bail!(msg)
        }
    }
}
