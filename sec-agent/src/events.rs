//! The event log: one JSON object per line for every detection, ban and unban (and, by the
//! `requests_log` tier, for requests), appended to a file and mirrored to tracing.
//!
//! Fields: `time` (RFC 3339, UTC, ms), `event` (`detection`, `ban`, `request`), `src`,
//! `src_port`, `dst`, `dst_port`, `method`, `host`, `path`, `detection`, `class`, `rule`,
//! `location`, `name`, `fragment` (at most 80 bytes), `action`, `ttl_secs`. Request
//! header values other than the matched fragment are never written, so credentials do not
//! end up in logs.

use std::{
    fs::{File, OpenOptions},
    io::{BufWriter, Write as _},
    path::Path,
    time::SystemTime,
};

use anyhow::{Context as _, Result};
use serde_json::{Map, Value, json};

/// Where events go.
pub struct EventLog {
    file: Option<BufWriter<File>>,
}

impl EventLog {
    /// Appends to `path` (created with its directory); an empty path logs to tracing only.
    ///
    /// # Errors
    /// The file or its directory cannot be created or opened for appending.
    pub fn open(path: &Path) -> Result<EventLog> {
        if path.as_os_str().is_empty() {
            return Ok(EventLog { file: None });
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
            file: Some(BufWriter::new(file)),
        })
    }

    /// A log that writes nowhere but tracing.
    pub fn tracing_only() -> EventLog {
        EventLog { file: None }
    }

    /// Writes one event of type `event` with `fields`, and flushes it (events are rare and
    /// must survive a crash).
    pub fn write(&mut self, event: &str, fields: Map<String, Value>) {
        let mut obj = Map::new();
        obj.insert(
            "time".into(),
            json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
        );
        obj.insert("event".into(), json!(event));
        obj.extend(fields);
        let line = Value::Object(obj).to_string();
        tracing::info!(target: "sec_agent::events", "{line}");
        if let Some(f) = &mut self.file
            && let Err(e) = writeln!(f, "{line}").and_then(|()| f.flush())
        {
            tracing::warn!(error = %e, "writing the event log failed");
        }
    }
}
