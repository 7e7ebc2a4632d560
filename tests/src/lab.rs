//! A two-namespace lab: `client` and `server` joined by a veth pair, plus a private bpffs.
//!
//! ```text
//!  netns <id>-c                      netns <id>-s
//!  c<id>  10.200.0.1/24  <--veth-->  s<id>  10.200.0.2/24   (XDP attaches here)
//!         fd00:200::1/64                    fd00:200::2/64
//!         + extra client addresses 10.200.0.10.. / fd00:200::10..
//! ```

use std::{
    collections::HashMap,
    fs,
    path::PathBuf,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

use sec_agent::kernel::KernelMaps;
use sec_agent_common::{Counter, Verdict};

use crate::{agent_bin, metrics::Metrics, run, run_ok};

/// Server address (IPv4) inside every lab.
pub const SERVER_V4: &str = "10.200.0.2";
/// Server address (IPv6) inside every lab.
pub const SERVER_V6: &str = "fd00:200::2";
/// Main client address (IPv4).
pub const CLIENT_V4: &str = "10.200.0.1";
/// Main client address (IPv6).
pub const CLIENT_V6: &str = "fd00:200::1";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Short id unique across parallel tests and test binaries: PID bits and a counter, which
/// is returned too. It keeps interface names (`c<id>`, `s<id>`) within the kernel's 15 bytes.
fn unique_id() -> (String, u32) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    (format!("{:x}{n:x}", std::process::id() & 0xffff), n)
}

/// First port handed out for agents' `/metrics` endpoints (one per lab, counting up).
const METRICS_PORT_BASE: u16 = 19_100;

/// A lab; everything it created is removed on drop.
pub struct Lab {
    /// Client namespace name.
    pub client_ns: String,
    /// Server namespace name.
    pub server_ns: String,
    /// Client-side veth.
    pub client_if: String,
    /// Server-side veth (where the agent attaches).
    pub server_if: String,
    /// The lab's private bpffs.
    pub bpffs: Bpffs,
    /// Pin directory for the agent and CLI (inside `bpffs`).
    pub pin_path: PathBuf,
    /// Directory for the lab's files (configs, event log, web root); removed on drop.
    pub dir: PathBuf,
    /// Port of the agent's `/metrics` endpoint on 127.0.0.1 in the server namespace, set in
    /// every config [`Lab::config`] writes; [`Lab::metrics`] scrapes it.
    pub metrics_port: u16,
}

impl Lab {
    /// Creates the namespaces, the veth pair, addresses and the bpffs.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Lab {
        let (id, n) = unique_id();
        let bpffs = Bpffs::mount(&id);
        let dir = std::env::temp_dir().join(format!("sa-test-{id}-files"));
        fs::create_dir_all(&dir).expect("create lab directory");
        let lab = Lab {
            dir,
            client_ns: format!("sa-test-{id}-c"),
            server_ns: format!("sa-test-{id}-s"),
            client_if: format!("c{id}"),
            server_if: format!("s{id}"),
            pin_path: bpffs.dir.join("sec-agent"),
            bpffs,
            metrics_port: METRICS_PORT_BASE + (n % 10_000) as u16,
        };
        // From here on, Drop cleans up whatever was created, also on a failed step.
        lab.setup();
        lab.wait_reachable();
        lab
    }

    fn setup(&self) {
        let ip = |args: &[&str]| run_ok(Command::new("ip").args(args));
        ip(&["netns", "add", &self.client_ns]);
        ip(&["netns", "add", &self.server_ns]);
        self.add_link();
    }

    /// Deletes the veth pair (both ends), as when a container's interface goes away.
    pub fn delete_link(&self) {
        run_ok(
            self.in_ns(&self.server_ns, "ip")
                .args(["link", "del", &self.server_if]),
        );
    }

    /// Creates the veth pair with its names and addresses (again, after
    /// [`Lab::delete_link`]) and waits until the server answers.
    pub fn recreate_link(&self) {
        self.add_link();
        self.wait_reachable();
    }

    fn add_link(&self) {
        let ip = |args: &[&str]| run_ok(Command::new("ip").args(args));
        ip(&[
            "link",
            "add",
            &self.client_if,
            "netns",
            &self.client_ns,
            "type",
            "veth",
            "peer",
            "name",
            &self.server_if,
            "netns",
            &self.server_ns,
        ]);
        for (ns, dev, v4, v6) in [
            (&self.client_ns, &self.client_if, CLIENT_V4, CLIENT_V6),
            (&self.server_ns, &self.server_if, SERVER_V4, SERVER_V6),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
    }

    /// Waits (a few seconds at most) until the server answers on both families: right after
    /// the links come up, the first IPv6 packets can be lost while link-local addresses are
    /// still tentative.
    fn wait_reachable(&self) {
        for dst in [SERVER_V4, SERVER_V6] {
            let ok = (0..5).any(|_| self.ping(dst, 1) == 1);
            assert!(ok, "{dst} unreachable in a fresh lab");
        }
    }

    /// Adds `n` more client addresses (10.200.0.10+i, fd00:200::10+i) to act as other
    /// sources; returns them as (IPv4, IPv6) strings.
    pub fn add_clients(&self, n: u8) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let v4 = format!("10.200.0.{}", 10 + i);
                let v6 = format!("fd00:200::{:x}", 0x10 + i);
                for (addr, extra) in [
                    (format!("{v4}/24"), None),
                    (format!("{v6}/64"), Some("nodad")),
                ] {
                    let mut cmd = Command::new("ip");
                    cmd.args([
                        "-n",
                        &self.client_ns,
                        "addr",
                        "add",
                        &addr,
                        "dev",
                        &self.client_if,
                    ]);
                    cmd.args(extra);
                    run_ok(&mut cmd);
                }
                (v4, v6)
            })
            .collect()
    }

    /// Starts the agent in the server namespace on the server veth with `extra` arguments
    /// to `run`, and waits until it reports that it is running. Without `--config` in
    /// `extra`, it gets [`Lab::config`] with nothing added.
    pub fn start_agent(&self, extra: &[&str]) -> crate::Agent {
        if extra.contains(&"--config") {
            return crate::Agent::start(self, extra);
        }
        let config = self.config("");
        let mut args = vec!["--config", config.as_str()];
        args.extend_from_slice(extra);
        crate::Agent::start(self, &args)
    }

    /// Writes an agent config that sends events to the lab's own event log, listens for
    /// control requests on the lab's socket and serves `/metrics` on
    /// [`Lab::metrics_port`], followed by `extra` TOML (which must not repeat those three
    /// sections); returns its path.
    pub fn config(&self, extra: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = self
            .dir
            .join(format!("agent-{}.toml", N.fetch_add(1, Ordering::SeqCst)));
        let text = format!(
            "[events]\nfile = \"{}\"\n\n[control]\nsocket = \"{}\"\n\n[metrics]\nlisten = \"127.0.0.1:{}\"\n\n{extra}",
            self.events_path().display(),
            self.control_socket().display(),
            self.metrics_port
        );
        fs::write(&path, text).expect("write agent config");
        path.to_string_lossy().into_owned()
    }

    /// The agent's control socket in this lab.
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// The agent's state directory (journal) in this lab.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The agent's event log in this lab.
    pub fn events_path(&self) -> PathBuf {
        self.dir.join("events.jsonl")
    }

    /// Every event logged so far, parsed.
    pub fn events(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(self.events_path())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| panic!("bad event line ({e}): {l}"))
            })
            .collect()
    }

    /// A `sec-agent` CLI command on this lab's pin path, run from the host namespace (the
    /// pinned maps do not belong to any network namespace).
    pub fn cli_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(agent_bin());
        cmd.arg("--pin-path")
            .arg(&self.pin_path)
            .arg("--control-socket")
            .arg(self.control_socket())
            .args(args);
        cmd
    }

    /// Runs the CLI; returns its output whatever the exit status.
    pub fn cli(&self, args: &[&str]) -> Output {
        run(&mut self.cli_cmd(args))
    }

    /// Runs the CLI and panics unless it succeeds; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&run_ok(&mut self.cli_cmd(args)).stdout).into_owned()
    }

    /// `ban list --json`: one object per ban, as the CLI prints them.
    pub fn ban_list(&self) -> Vec<serde_json::Value> {
        match crate::json(&self.cli_ok(&["ban", "list", "--json"])) {
            serde_json::Value::Array(bans) => bans,
            other => panic!("ban list --json is not an array: {other}"),
        }
    }

    /// One scrape of the agent's `/metrics` (see [`Lab::metrics_port`]).
    pub fn metrics(&self) -> std::io::Result<Metrics> {
        Metrics::scrape(self)
    }

    /// Opens the lab's pinned maps directly.
    pub fn maps(&self) -> KernelMaps {
        KernelMaps::open(&self.pin_path).expect("open pinned maps")
    }

    /// Counters per verdict, summed over CPUs, read from the pinned `stats` map.
    pub fn stats(&self) -> HashMap<Verdict, Counter> {
        self.maps()
            .stats()
            .expect("read stats")
            .into_iter()
            .collect()
    }

    /// Packets counted for `verdict`.
    pub fn packets(&self, verdict: Verdict) -> u64 {
        self.stats()[&verdict].packets
    }

    /// A command run inside namespace `ns` (through nsenter, which keeps /sys/fs/bpf).
    ///
    /// The program is resolved on PATH first: busybox's nsenter would otherwise run its own
    /// applet of the same name (its `ip` cannot do what the tests need).
    pub fn in_ns(&self, ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        let program = crate::which(program).unwrap_or_else(|| program.into());
        cmd.arg(format!("--net=/run/netns/{ns}")).arg(program);
        cmd
    }

    /// Pings `dst` from the client `count` times (0.05 s apart, 1 s deadline per reply) and
    /// returns how many replies came back.
    pub fn ping(&self, dst: &str, count: u32) -> u32 {
        let out = run(self.in_ns(&self.client_ns, "ping").args([
            "-n",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            "0.05",
            "-W",
            "1",
            dst,
        ]));
        // iputils: "3 packets transmitted, 3 received, ..."; busybox: "..., 3 packets received, ...".
        let text = String::from_utf8_lossy(&out.stdout);
        text.split(',')
            .find_map(|part| part.trim().strip_suffix(" received"))
            .and_then(|n| n.trim().trim_end_matches(" packets").parse().ok())
            .unwrap_or_else(|| panic!("unexpected ping output: {text}"))
    }

    /// XDP attachments `ip` reports on the server veth: lines mentioning `prog/xdp`.
    pub fn server_xdp_progs(&self) -> usize {
        let out = run_ok(self.in_ns(&self.server_ns, "ip").args([
            "-d",
            "link",
            "show",
            "dev",
            &self.server_if,
        ]));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("prog/xdp"))
            .count()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth end, and with it the peer.
        for ns in [&self.client_ns, &self.server_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = fs::remove_dir_all(&self.dir);
        // The bpffs field unmounts after this.
    }
}

/// A private bpffs mounted under the temp directory; unmounted and removed on drop, which
/// releases every map and link pinned in it.
pub struct Bpffs {
    /// Mount point.
    pub dir: PathBuf,
}

impl Bpffs {
    /// Mounts a new bpffs instance at `$TMPDIR/sa-test-<id>-bpffs`.
    pub fn mount(id: &str) -> Bpffs {
        let dir = std::env::temp_dir().join(format!("sa-test-{id}-bpffs"));
        fs::create_dir_all(&dir).expect("create bpffs mount point");
        let bpffs = Bpffs { dir };
        sec_agent::kernel::bpffs::mount_bpffs(&bpffs.dir).expect("mount a private bpffs");
        bpffs
    }

    /// A fresh bpffs with a unique name.
    pub fn unique() -> Bpffs {
        Bpffs::mount(&unique_id().0)
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        if let Ok(c) = std::ffi::CString::new(self.dir.as_os_str().as_encoded_bytes()) {
            // SAFETY: NUL-terminated path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = fs::remove_dir(&self.dir);
    }
}
