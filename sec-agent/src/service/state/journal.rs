//! The ban and allowlist journal: an append-only file of JSON lines under the state
//! directory, one line per change, so that no acknowledged change is lost to a crash, a
//! restart or a reboot.
//!
//! Durability policy: a dedicated writer thread appends the lines queued since its last
//! write, then `fdatasync`s the file once for all of them (group commit). A change is
//! acknowledged (the control socket answers, the CLI prints "banned") only after the sync
//! that covers it returned, so a SIGKILL at any moment loses no acknowledged change.
//! Detection bans do not wait: they are in the pinned kernel map at once and journaled
//! within the next sync; a restart also adopts pinned entries the journal lacks.
//!
//! A crash can leave a torn last line; loading skips it and counts it.
//!
//! Compaction: when the journal holds more than twice the live entries (and at least
//! [`COMPACT_MIN`] lines), and at every start, the current state is written to
//! `journal.jsonl.tmp`, synced, renamed over `journal.jsonl`, and the directory synced: the
//! old file stays valid until the rename, so a crash during compaction loses nothing.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    sync::mpsc,
    thread,
};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// Lines below which the journal is never compacted during a run.
pub const COMPACT_MIN: usize = 1000;

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Record {
    /// A ban (or re-ban, which replaces the previous one).
    Ban {
        /// Address or CIDR.
        target: String,
        /// Expiry in ms since the Unix epoch (wall clock); 0 = permanent.
        expires_ms: u64,
        /// `BanReason` code.
        reason: u32,
        /// Operator or detection note.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A ban removed (by an operator, or expired).
    Unban {
        /// Address or CIDR.
        target: String,
    },
    /// A network added to the allowlist.
    Allow {
        /// Address or CIDR.
        net: String,
    },
    /// A network removed from the allowlist.
    Disallow {
        /// Address or CIDR.
        net: String,
    },
}

/// What loading found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Records in order.
    pub records: Vec<Record>,
    /// Lines that did not parse (a torn last line after a crash).
    pub skipped: usize,
}

enum Msg {
    Append(String, Option<mpsc::SyncSender<io::Result<()>>>),
    Compact(Vec<Record>, mpsc::SyncSender<io::Result<()>>),
}

/// Handle on the journal's writer thread (cheap to clone).
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Msg>,
    path: PathBuf,
}

/// Waits for the sync that makes an appended record durable.
pub struct Ticket(mpsc::Receiver<io::Result<()>>);

impl Ticket {
    /// Blocks until the record is on disk.
    ///
    /// # Errors
    /// The write or the sync failed (the change must not be acknowledged).
    pub fn wait(self) -> io::Result<()> {
        self.0
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("journal writer stopped")))
    }
}

impl Journal {
    /// Loads `dir/journal.jsonl` (creating `dir`), and starts the writer.
    ///
    /// # Errors
    /// The directory or file cannot be created, read or opened for appending.
    pub fn open(dir: &Path) -> Result<(Journal, Loaded)> {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
        let path = dir.join("journal.jsonl");
        let loaded = load(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening journal {}", path.display()))?;
        let (tx, rx) = mpsc::channel();
        let writer_path = path.clone();
        thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer(file, writer_path, rx))
            .context("starting the journal writer")?;
        Ok((Journal { tx, path }, loaded))
    }

    /// The journal file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues `record`; the returned ticket resolves once it is durable.
    pub fn append(&self, record: &Record) -> Ticket {
        let (tx, rx) = mpsc::sync_channel(1);
        let line = serde_json::to_string(record).expect("records serialize");
        if self.tx.send(Msg::Append(line, Some(tx.clone()))).is_err() {
            let _ = tx.send(Err(io::Error::other("journal writer stopped")));
        }
        Ticket(rx)
    }

    /// Queues `record` without waiting for it.
    pub fn append_nowait(&self, record: &Record) {
        let line = serde_json::to_string(record).expect("records serialize");
        let _ = self.tx.send(Msg::Append(line, None));
    }

    /// Replaces the journal by `snapshot` (the whole current state); waits for it.
    ///
    /// # Errors
    /// Writing, syncing or renaming failed; the old journal is still in place.
    pub fn compact(&self, snapshot: Vec<Record>) -> io::Result<()> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Compact(snapshot, tx))
            .map_err(|_| io::Error::other("journal writer stopped"))?;
        rx.recv()
            .unwrap_or_else(|_| Err(io::Error::other("journal writer stopped")))
    }
}

fn load(path: &Path) -> Result<Loaded> {
    let mut out = Loaded::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading journal {}", path.display())),
    };
    for line in BufReader::new(file).split(b'\n') {
        let line = line.with_context(|| format!("reading journal {}", path.display()))?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Record>(&line) {
            Ok(r) => out.records.push(r),
            Err(_) => out.skipped += 1,
        }
    }
    Ok(out)
}

fn writer(mut file: File, path: PathBuf, rx: mpsc::Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
            if batch.len() >= 1024 {
                break;
            }
        }
        let mut waiters = Vec::new();
        let mut buf = Vec::new();
        for msg in batch {
            match msg {
                Msg::Append(line, waiter) => {
                    buf.extend_from_slice(line.as_bytes());
                    buf.push(b'\n');
                    waiters.extend(waiter);
                }
                Msg::Compact(snapshot, reply) => {
                    // Flush what came before the snapshot request into the old file first.
                    let r = flush(&mut file, &mut buf, &mut waiters);
                    let r = r.and_then(|()| rewrite(&path, &snapshot));
                    match r {
                        Ok(f) => {
                            file = f;
                            let _ = reply.send(Ok(()));
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
            }
        }
        let _ = flush(&mut file, &mut buf, &mut waiters);
    }
}

/// Writes and syncs `buf`, then answers every waiter with the outcome.
fn flush(
    file: &mut File,
    buf: &mut Vec<u8>,
    waiters: &mut Vec<mpsc::SyncSender<io::Result<()>>>,
) -> io::Result<()> {
    if buf.is_empty() && waiters.is_empty() {
        return Ok(());
    }
    let r = file.write_all(buf).and_then(|()| file.sync_data());
    for w in waiters.drain(..) {
        let _ = w.send(match &r {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        });
    }
    buf.clear();
    if let Err(e) = &r {
        tracing::error!(error = %e, "journal write failed");
    }
    r
}

/// Writes `snapshot` to a temporary file, syncs it, renames it over `path`, syncs the
/// directory; returns the new file open for appending.
fn rewrite(path: &Path, snapshot: &[Record]) -> io::Result<File> {
    let tmp = path.with_extension("jsonl.tmp");
    {
        let mut f = File::create(&tmp)?;
        let mut text = String::new();
        for r in snapshot {
            text.push_str(&serde_json::to_string(r).expect("records serialize"));
            text.push('\n');
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sa-journal-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn appends_survive_reopen_and_torn_lines_are_skipped() {
        let dir = tmpdir("reopen");
        let (j, loaded) = Journal::open(&dir).unwrap();
        assert!(loaded.records.is_empty());
        let ban = Record::Ban {
            target: "192.0.2.1".into(),
            expires_ms: 0,
            reason: 1,
            note: Some("n".into()),
        };
        j.append(&ban).wait().unwrap();
        j.append(&Record::Allow {
            net: "10.0.0.0/8".into(),
        })
        .wait()
        .unwrap();
        drop(j);
        // A crash mid-write leaves half a line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("journal.jsonl"))
            .unwrap();
        f.write_all(b"{\"op\":\"ban\",\"tar").unwrap();
        let (_j, loaded) = Journal::open(&dir).unwrap();
        assert_eq!(loaded.records.len(), 2);
        assert_eq!(loaded.records[0], ban);
        assert_eq!(loaded.skipped, 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compaction_replaces_the_file() {
        let dir = tmpdir("compact");
        let (j, _) = Journal::open(&dir).unwrap();
        for i in 0..50 {
            j.append_nowait(&Record::Unban {
                target: format!("192.0.2.{i}"),
            });
        }
        let snap = vec![Record::Allow {
            net: "192.0.2.0/24".into(),
        }];
        j.compact(snap.clone()).unwrap();
        j.append(&Record::Disallow {
            net: "192.0.2.0/24".into(),
        })
        .wait()
        .unwrap();
        let (_, loaded) = Journal::open(&dir).unwrap();
        assert_eq!(
            loaded.records,
            [
                snap[0].clone(),
                Record::Disallow {
                    net: "192.0.2.0/24".into()
                }
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
