//! ModSecurity v3 with OWASP CRS at paranoia level 1, as Debian ships them (`nginx`,
//! `libnginx-mod-http-modsecurity`, `modsecurity-crs`), installed when missing and run as a
//! child nginx of ours on loopback, in front of a backend that answers 200.
//!
//! The backend is a second server of the same nginx, reached through `proxy_pass`: a
//! location that answers by itself (`return 200`) would be answered in nginx's rewrite
//! phase, before ModSecurity's handler sees the request, and every request would pass.

use std::{
    hash::{DefaultHasher, Hash as _, Hasher as _},
    io::{ErrorKind, Read as _, Write as _},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

/// Debian packages the peers need (python3-venv for libinjection's venv).
const PACKAGES: &[&str] = &[
    "nginx",
    "libnginx-mod-http-modsecurity",
    "modsecurity-crs",
    "python3-venv",
];
/// Packages whose versions name the peer (and key the cache).
const VERSIONED: &[&str] = &[
    "nginx",
    "libnginx-mod-http-modsecurity",
    "libmodsecurity3",
    "modsecurity-crs",
];
const MODULE: &str = "/usr/lib/nginx/modules/ngx_http_modsecurity_module.so";
/// Where Debian's packages may put ModSecurity's recommended config (`libmodsecurity3` has
/// none; the nginx module ships it as `modsecurity.conf`).
const RECOMMENDED: &[&str] = &[
    "/usr/share/nginx/docs/modsecurity/modsecurity.conf",
    "/etc/modsecurity/modsecurity.conf-recommended",
    "/etc/nginx/modsecurity.conf",
];
/// CRS's setup template (Debian installs the example as a conffile).
const CRS_SETUP: &[&str] = &[
    "/usr/share/modsecurity-crs/crs-setup.conf.example",
    "/etc/modsecurity/crs/crs-setup.conf",
];
const CRS_RULES: &str = "/usr/share/modsecurity-crs/rules";
/// Parallel keep-alive connections.
const CONNECTIONS: usize = 4;
/// One read or write; past it the request counts as unanswered.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest response body read (nginx's answers are a few hundred bytes).
const MAX_BODY: usize = 1 << 20;
/// The whole run.
const RUN_LIMIT: Duration = Duration::from_secs(3600);

/// ModSecurity's answers to a run's requests.
pub struct Answers {
    /// The HTTP status of each request, in order; 0 when nginx gave no parseable answer.
    pub status: Vec<u16>,
    /// The peer's package versions, for the table.
    pub versions: String,
    /// The statuses came from the cache of an earlier run, not from nginx.
    pub cached: bool,
    /// Wall time of sending the requests (or of reading the cache).
    pub seconds: f64,
}

/// Installs the peer when missing, runs it on `requests` (or takes a cached run with the
/// same requests and package versions from `peers`), and stops it.
pub fn judge(peers: &Path, requests: &[&[u8]]) -> Result<Answers> {
    let versions = versions();
    let recommended = first_existing(RECOMMENDED).context("ModSecurity's recommended config")?;
    let crs_setup = first_existing(CRS_SETUP).context("CRS's crs-setup.conf")?;
    let rules_conf = rules_conf(Path::new("@DIR@"), &recommended, &crs_setup);
    let key = cache_key(requests, &versions, &rules_conf);
    let cache = peers.join(format!("crs-verdicts-{key}.txt"));
    let started = Instant::now();
    if let Some(status) = read_cache(&cache, requests.len()) {
        return Ok(Answers {
            status,
            versions,
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let nginx = Nginx::start(&recommended, &crs_setup)?;
    let status = send_all(nginx.port, requests)?;
    drop(nginx);
    std::fs::create_dir_all(peers)?;
    write_cache(&cache, &status)?;
    Ok(Answers {
        status,
        versions,
        cached: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn first_existing(paths: &[&str]) -> Option<PathBuf> {
    paths.iter().map(PathBuf::from).find(|p| p.exists())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// `/usr/sbin/policy-rc.d` answering 101 (action forbidden) while packages install, so
/// that installing nginx starts no system nginx on port 80; removed on drop, and only
/// written when there was none (an existing one is left as it is).
struct NoServiceStart {
    created: bool,
}

const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

impl NoServiceStart {
    fn new() -> Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o755)
            .open(POLICY_RC_D);
        match file {
            Ok(mut f) => {
                f.write_all(b"#!/bin/sh\n# written by sec-agent-bench while it installs its peers\nexit 101\n")?;
                Ok(Self { created: true })
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(Self { created: false }),
            Err(e) => Err(e).context(POLICY_RC_D),
        }
    }
}

impl Drop for NoServiceStart {
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(POLICY_RC_D);
        }
    }
}

/// Installs the peers' Debian packages that are missing, with service starts forbidden.
pub fn ensure_installed() -> Result<()> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("quality: apt-get install {}", missing.join(" "));
    let _guard = NoServiceStart::new()?;
    let apt = |args: &[&str]| -> Result<()> {
        let st = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .context("apt-get")?;
        if !st.success() {
            bail!("apt-get {args:?}: {st}");
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)
}

/// `package version` of each package that names the peer, comma-separated.
fn versions() -> String {
    VERSIONED
        .iter()
        .map(|p| {
            let v = Command::new("dpkg-query")
                .args(["-W", "-f=${Version}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            format!("{p} {}", if v.is_empty() { "?" } else { &v })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rules file given to `modsecurity_rules_file`, with its scratch files in `dir`.
fn rules_conf(dir: &Path, recommended: &Path, crs_setup: &Path) -> String {
    let dir = dir.display();
    format!(
        "# ModSecurity's recommended config, then what this benchmark changes in it.\n\
         Include {recommended}\n\
         SecRuleEngine On\n\
         SecRequestBodyAccess On\n\
         SecResponseBodyAccess Off\n\
         SecAuditEngine Off\n\
         SecAuditLog {dir}/audit.log\n\
         SecTmpDir {dir}\n\
         SecDataDir {dir}\n\
         # CRS: the package's setup (anomaly scoring, threshold 5), paranoia level 1.\n\
         Include {crs_setup}\n\
         SecAction \"id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=1\"\n\
         Include {CRS_RULES}/*.conf\n",
        recommended = recommended.display(),
        crs_setup = crs_setup.display(),
    )
}

fn nginx_conf(dir: &Path, port: u16, backend: u16) -> String {
    let d = dir.display();
    format!(
        "load_module {MODULE};\n\
         worker_processes 2;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 client_body_temp_path {d}/body;\n\
         \x20 proxy_temp_path {d}/proxy;\n\
         \x20 fastcgi_temp_path {d}/fastcgi;\n\
         \x20 uwsgi_temp_path {d}/uwsgi;\n\
         \x20 scgi_temp_path {d}/scgi;\n\
         \x20 # Bodies stay in memory; request lines up to 64 KiB (a 4 KiB payload percent-encoded\n\
         \x20 # is up to 12 KiB), so that nginx's own limits turn nothing away.\n\
         \x20 client_body_buffer_size 1m;\n\
         \x20 client_max_body_size 1m;\n\
         \x20 large_client_header_buffers 8 64k;\n\
         \x20 keepalive_requests 1000000;\n\
         \x20 keepalive_timeout 300s;\n\
         \x20 upstream backend {{ server 127.0.0.1:{backend}; keepalive 16; }}\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{backend};\n\
         \x20   location / {{ return 200 \"ok\"; }}\n\
         \x20 }}\n\
         \x20 server {{\n\
         \x20   listen 127.0.0.1:{port};\n\
         \x20   modsecurity on;\n\
         \x20   modsecurity_rules_file {d}/main.conf;\n\
         \x20   location / {{\n\
         \x20     proxy_pass http://backend;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_set_header Connection \"\";\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// A free TCP port on 127.0.0.1 (free when asked; nginx binds it right after).
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Our nginx: stopped by its PID, and its directory removed, on drop.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start(recommended: &Path, crs_setup: &Path) -> Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "sec-agent-quality-nginx-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        // nginx's workers run as nobody: they need to reach the scratch files.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let port = free_port()?;
        let backend = free_port()?;
        std::fs::write(
            dir.join("main.conf"),
            rules_conf(&dir, recommended, crs_setup),
        )?;
        std::fs::write(dir.join("nginx.conf"), nginx_conf(&dir, port, backend))?;
        let log = std::fs::File::create(dir.join("nginx.out"))?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting nginx")?;
        let mut nginx = Nginx { child, dir, port };
        // Loading CRS takes a second or two.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(st) = nginx.child.try_wait()? {
                bail!(
                    "nginx exited ({st}): {}{}",
                    std::fs::read_to_string(nginx.dir.join("nginx.out")).unwrap_or_default(),
                    std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
                );
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!("nginx did not listen on 127.0.0.1:{port} within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "quality: nginx (pid {}) with ModSecurity + CRS on 127.0.0.1:{port}",
            nginx.child.id()
        );
        Ok(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SIGTERM to the master (ours, by PID): it stops its workers and exits.
        // SAFETY: kill has no memory preconditions; the PID is our unreaped child.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends every request over [`CONNECTIONS`] keep-alive connections; the status of each.
fn send_all(port: u16, requests: &[&[u8]]) -> Result<Vec<u16>> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let next = AtomicUsize::new(0);
    let deadline = Instant::now() + RUN_LIMIT;
    let started = Instant::now();
    let results: Vec<Result<Vec<(usize, u16)>>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, u16)>> {
                    let mut client = Client::new(addr);
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= requests.len() {
                            return Ok(done);
                        }
                        if Instant::now() > deadline {
                            bail!("ModSecurity run over {} s", RUN_LIMIT.as_secs());
                        }
                        if i > 0 && i.is_multiple_of(10_000) {
                            eprintln!(
                                "quality: ModSecurity {i} / {} requests ({:.0} s)",
                                requests.len(),
                                started.elapsed().as_secs_f64()
                            );
                        }
                        done.push((i, client.send(requests[i])?));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| bail!("sender panicked")))
            .collect()
    });
    let mut status = vec![0u16; requests.len()];
    for r in results {
        for (i, st) in r? {
            status[i] = st;
        }
    }
    Ok(status)
}

/// One keep-alive connection, reopened whenever nginx closes it.
struct Client {
    addr: SocketAddr,
    conn: Option<TcpStream>,
}

/// What one exchange ended with.
enum Exchange {
    /// A whole response; keep the connection when `keep`.
    Answered { status: u16, keep: bool },
    /// The connection failed before any byte of an answer (a keep-alive connection nginx
    /// had just closed): worth one retry on a fresh connection.
    Stale,
    /// No parseable answer (timeout, garbage, close mid-answer).
    Broken,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// The status nginx answers `raw` with (0: no parseable answer). Errors only when
    /// nginx cannot be reached at all.
    fn send(&mut self, raw: &[u8]) -> Result<u16> {
        for attempt in 0..2 {
            let fresh = self.conn.is_none();
            if fresh {
                let c = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)
                    .with_context(|| format!("connecting to nginx on {}", self.addr))?;
                c.set_read_timeout(Some(IO_TIMEOUT))?;
                c.set_write_timeout(Some(IO_TIMEOUT))?;
                c.set_nodelay(true)?;
                self.conn = Some(c);
            }
            let conn = self.conn.as_mut().expect("connected above");
            match exchange(conn, raw) {
                Exchange::Answered { status, keep } => {
                    if !keep {
                        self.conn = None;
                    }
                    return Ok(status);
                }
                Exchange::Stale if !fresh && attempt == 0 => self.conn = None,
                Exchange::Stale | Exchange::Broken => {
                    self.conn = None;
                    return Ok(0);
                }
            }
        }
        Ok(0)
    }
}

/// Writes `raw`, reads one response and skips its body.
fn exchange(conn: &mut TcpStream, raw: &[u8]) -> Exchange {
    if conn.write_all(raw).is_err() {
        return Exchange::Stale;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut chunk = [0u8; 8192];
    // Headers (bounded: 64 KiB).
    let (status, head_len, length, chunked, close) = loop {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) if buf.is_empty() => return Exchange::Stale,
            Ok(0) | Err(_) => return Exchange::Broken,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let header = |name: &str| {
                    resp.headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
                };
                let length = header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
                let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
                let close = header("connection").is_some_and(|v| v.contains("close"))
                    || resp.version == Some(0);
                break (resp.code.unwrap_or(0), n, length, chunked, close);
            }
            Ok(httparse::Status::Partial) if buf.len() < 65_536 => {}
            _ => return Exchange::Broken,
        }
    };
    let mut body = buf.split_off(head_len);
    let complete = if chunked {
        read_chunked(conn, &mut body)
    } else if let Some(len) = length {
        if len > MAX_BODY {
            return Exchange::Broken;
        }
        read_exact_len(conn, &mut body, len)
    } else {
        // No length: the body runs to the close (bounded).
        let mut total = body.len();
        while let Ok(n) = conn.read(&mut chunk) {
            total += n;
            if n == 0 || total > MAX_BODY {
                break;
            }
        }
        return Exchange::Answered {
            status,
            keep: false,
        };
    };
    match complete {
        // Bytes past the response: out of step with nginx, start afresh.
        Some(extra) => Exchange::Answered {
            status,
            keep: !close && extra == 0,
        },
        None => Exchange::Broken,
    }
}

/// Reads until `body` holds `len` bytes; how many bytes came past them (None: cut short).
fn read_exact_len(conn: &mut TcpStream, body: &mut Vec<u8>, len: usize) -> Option<usize> {
    let mut chunk = [0u8; 8192];
    while body.len() < len {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Some(body.len() - len)
}

/// Reads a chunked body to its last chunk and trailer; how many bytes came past it.
fn read_chunked(conn: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 8192];
    let mut pos = 0;
    loop {
        if buf.len() > MAX_BODY {
            return None;
        }
        // A size line (after `pos`).
        let line_end = buf[pos..].windows(2).position(|w| w == b"\r\n");
        let Some(end) = line_end else {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let line = String::from_utf8_lossy(&buf[pos..pos + end]).to_string();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Trailer: up to an empty line.
            let mut tpos = pos + end + 2;
            loop {
                match buf[tpos..].windows(2).position(|w| w == b"\r\n") {
                    Some(0) => return Some(buf.len() - (tpos + 2)),
                    Some(e) => tpos += e + 2,
                    None => match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return None,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    },
                }
            }
        }
        let need = pos + end + 2 + size + 2;
        while buf.len() < need {
            match conn.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        pos = need;
    }
}

/// Hash of everything the answers depend on: the requests, the peer's versions and the
/// generated rules file (128 bits, two SipHash passes; std's DefaultHasher is keyed with
/// zeros, so stable between runs of one build).
fn cache_key(requests: &[&[u8]], versions: &str, rules_conf: &str) -> String {
    let one = |seed: u64| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        versions.hash(&mut h);
        rules_conf.hash(&mut h);
        nginx_conf(Path::new("@DIR@"), 0, 0).hash(&mut h);
        requests.len().hash(&mut h);
        for r in requests {
            r.hash(&mut h);
        }
        h.finish()
    };
    format!("{:016x}{:016x}", one(0), one(1))
}

fn read_cache(path: &Path, n: usize) -> Option<Vec<u16>> {
    let text = std::fs::read_to_string(path).ok()?;
    let status: Vec<u16> = text
        .lines()
        .map(|l| l.parse().ok())
        .collect::<Option<_>>()?;
    (status.len() == n).then_some(status)
}

fn write_cache(path: &Path, status: &[u16]) -> Result<()> {
    let mut text = String::with_capacity(status.len() * 4);
    for s in status {
        text.push_str(&s.to_string());
        text.push('\n');
    }
    // Only the latest run is kept.
    if let Some(dir) = path.parent() {
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with("crs-verdicts-") && e.path() != path {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
