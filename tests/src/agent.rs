//! The agent under test, as a child process in the lab's server namespace.

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    thread,
    time::Duration,
};

use crate::{Lab, agent_bin, poll_until};

/// How long the agent may take to load, attach and report that it runs.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `sec-agent run`; SIGKILLed on drop if still alive.
pub struct Agent {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Agent {
    /// Starts `sec-agent run --iface <server veth>` plus `extra` in the server namespace
    /// and waits for its "sec-agent running" log line. Tests start it through
    /// [`Lab::start_agent`], which adds the lab's config (and with it the metrics port).
    pub fn start(lab: &Lab, extra: &[&str]) -> Agent {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", lab.server_ns))
            .arg(agent_bin())
            .arg("--pin-path")
            .arg(&lab.pin_path)
            .args(["run", "--iface", &lab.server_if, "--state-dir"])
            .arg(lab.state_dir())
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn the agent");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut agent = Agent { child, log };
        agent.wait_for_log("sec-agent running", START_TIMEOUT);
        agent
    }

    /// Waits until a log line contains `needle`; panics with the log on timeout or exit.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) {
        let found = poll_until(timeout, || {
            if self.log().iter().any(|l| l.contains(needle)) {
                return Some(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader thread a moment to collect the last lines.
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "agent exited ({status}) before logging {needle:?}:\n{}",
                    self.log().join("\n")
                );
            }
            None
        });
        assert!(
            found.is_some(),
            "agent did not log {needle:?} within {timeout:?}:\n{}",
            self.log().join("\n")
        );
    }

    /// Everything the agent logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The agent's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, as a crash would; returns once the process is gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (at most 10 s) for the exit status.
    pub fn stop(mut self) -> ExitStatus {
        // SAFETY: signalling our own child by PID.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = poll_until(Duration::from_secs(10), || {
            self.child.try_wait().expect("wait for agent")
        });
        status.unwrap_or_else(|| panic!("agent ignored SIGTERM:\n{}", self.log().join("\n")))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
