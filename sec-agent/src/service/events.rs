//! The event log: one JSON object per line for every detection, ban and unban (and, by the
//! `requests_log` tier, for requests), appended to a file and mirrored to tracing. The
//! lines are built by [`crate::service::report::Reporter`] from typed events; this module
//! only writes them.
//!
//! Fields: `time` (RFC 3339, UTC, ms), `event` (`detection`, `ban`, `unban`, `request`),
//! `src`, `src_port`, `dst`, `dst_port`, `method`, `host`, `path`, `detection`, `class`,
//! `rule`, `location`, `name`, `fragment` (at most 80 bytes, decoded), `raw` (the field as
//! it arrived, at most 160 bytes), `action`, `ttl_secs`. Request header values other than
//! the one that matched are never written, so credentials do not end up in logs.

use std::{
    fs::OpenOptions,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::SystemTime,
};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// What the request log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestsLog {
    /// No request lines.
    None,
    /// Requests with a finding.
    Rejected,
    /// Every inspected request.
    All,
}

/// `[events]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// JSON-lines event file; empty string: tracing only.
    pub file: PathBuf,
    /// Request log tier: none, rejected or all.
    pub requests_log: RequestsLog,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            file: PathBuf::from("/var/log/sec-agent/events.jsonl"),
            requests_log: RequestsLog::Rejected,
        }
    }
}

/// Where events go.
pub struct EventLog {
    out: Option<Box<dyn Write + Send>>,
}

/// A line: the time and event type, then the event's own fields.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    time: String,
    event: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

impl EventLog {
    /// Appends to `path` (created with its directory); an empty path logs to tracing only.
    ///
    /// # Errors
    /// The file or its directory cannot be created or opened for appending.
    pub fn open(path: &Path) -> Result<EventLog> {
        if path.as_os_str().is_empty() {
            return Ok(EventLog::tracing_only());
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening event log {}", path.display()))?;
        Ok(EventLog {
            out: Some(Box::new(BufWriter::new(file))),
        })
    }

    /// A log that writes nowhere but tracing.
    pub fn tracing_only() -> EventLog {
        EventLog { out: None }
    }

    /// A log into memory, for tests: the lines written, shared.
    pub fn memory() -> (EventLog, Arc<Mutex<Vec<u8>>>) {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let out = SharedBuf(Arc::clone(&buf));
        (
            EventLog {
                out: Some(Box::new(out)),
            },
            buf,
        )
    }

    /// Writes one event of type `event` with `fields` (a struct that serializes to a JSON
    /// object), and flushes it: events are rare and must survive a crash.
    pub fn write(&mut self, event: &str, fields: &impl Serialize) {
        let line = Line {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event,
            fields,
        };
        let line = match serde_json::to_string(&line) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "an event did not serialize");
                return;
            }
        };
        tracing::info!(target: "sec_agent::events", "{line}");
        if let Some(f) = &mut self.out
            && let Err(e) = writeln!(f, "{line}").and_then(|()| f.flush())
        {
            tracing::warn!(error = %e, "writing the event log failed");
        }
    }
}

/// The writer of [`EventLog::memory`].
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
