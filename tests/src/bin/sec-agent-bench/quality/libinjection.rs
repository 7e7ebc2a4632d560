//! libinjection, the C library, through PyPI's `libinjection-python` in a venv under the
//! target directory (created when missing). One Python process judges every value: values
//! go in as JSON strings, one a line, on its stdin; two digits a line come back (SQLi, XSS).

use std::{
    io::{BufRead as _, BufReader, Write as _},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result, bail};

/// The pinned wrapper release.
const PACKAGE: &str = "libinjection-python";
const VERSION: &str = "1.1.6";

/// Reads JSON strings on stdin, writes `is_sqli is_xss` as two digits a line.
const SCRIPT: &str = r#"
import json, sys
import libinjection
out = sys.stdout
for line in sys.stdin:
    v = json.loads(line)
    s = libinjection.is_sql_injection(v)["is_sqli"]
    x = libinjection.is_xss(v)["is_xss"]
    out.write("%d%d\n" % (bool(s), bool(x)))
out.flush()
"#;

/// libinjection's verdicts on one value.
#[derive(Clone, Copy, Default)]
pub struct Verdict {
    /// `is_sql_injection` fired.
    pub sqli: bool,
    /// `is_xss` fired.
    pub xss: bool,
}

impl Verdict {
    /// Either function fired.
    pub fn any(self) -> bool {
        self.sqli || self.xss
    }
}

/// The venv's interpreter, the venv created and the wrapper installed when missing.
fn python(peers: &Path) -> Result<PathBuf> {
    let venv = peers.join("libinjection-venv");
    let python = venv.join("bin/python");
    if installed_version(&python).as_deref() == Some(VERSION) {
        return Ok(python);
    }
    std::fs::create_dir_all(peers)?;
    if !python.exists() {
        eprintln!("quality: python3 -m venv {}", venv.display());
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("python3 -m venv")?;
        if !st.success() {
            bail!("python3 -m venv {} failed: {st}", venv.display());
        }
    }
    eprintln!("quality: pip install {PACKAGE}=={VERSION}");
    let st = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("{PACKAGE}=={VERSION}"))
        .status()
        .context("pip install")?;
    if !st.success() {
        bail!("pip install {PACKAGE}=={VERSION} failed: {st}");
    }
    Ok(python)
}

fn installed_version(python: &Path) -> Option<String> {
    let o = Command::new(python)
        .args([
            "-c",
            &format!("import importlib.metadata as m, libinjection; print(m.version({PACKAGE:?}))"),
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The wrapper's name and version, e.g. `libinjection-python 1.1.6`.
pub fn version() -> String {
    format!("{PACKAGE} {VERSION} (PyPI)")
}

/// libinjection's verdict on each of `values`, in order.
pub fn judge(peers: &Path, values: &[&str]) -> Result<Vec<Verdict>> {
    let python = python(peers)?;
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", python.display()))?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let stdout = child.stdout.take().context("stdout")?;
    let lines: Vec<String> = values
        .iter()
        .map(|v| serde_json::to_string(v).expect("a string serializes"))
        .collect();
    // Written from another thread, so that neither pipe fills up while the other waits.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for l in &lines {
            w.write_all(l.as_bytes())?;
            w.write_all(b"\n")?;
        }
        w.flush()
        // stdin dropped here: EOF ends the script's loop.
    });
    let mut out = Vec::with_capacity(values.len());
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        let b = line.as_bytes();
        if b.len() != 2 {
            bail!("libinjection script: unexpected line {line:?}");
        }
        out.push(Verdict {
            sqli: b[0] == b'1',
            xss: b[1] == b'1',
        });
        if out.len() == values.len() {
            break;
        }
    }
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread panicked"))?
        .context("writing to the libinjection script")?;
    let st = child.wait()?;
    if !st.success() || out.len() != values.len() {
        bail!(
            "libinjection script: {st}, {} verdicts for {} values",
            out.len(),
            values.len()
        );
    }
    Ok(out)
}
