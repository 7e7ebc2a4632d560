//! A real HTTP server (busybox `httpd`, which also runs inside the test VMs) in the lab's
//! server namespace, and curl as the client from the client namespace.

use std::{
    fs,
    net::TcpStream,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::{Lab, traffic::in_netns, wait_until};

/// Port the lab's web server listens on (one of the agent's default HTTP ports).
pub const HTTP_PORT: u16 = 8080;

/// The web server; killed on drop.
pub struct HttpServer {
    child: Child,
}

impl HttpServer {
    /// Serves `lab.dir/www` (an `index.html` and `ok.txt`) on port [`HTTP_PORT`], IPv4 and
    /// IPv6 (one dual-stack socket), and waits until it accepts connections. Unknown paths
    /// get 404, POST gets 501.
    pub fn start(lab: &Lab) -> HttpServer {
        let root = lab.dir.join("www");
        fs::create_dir_all(&root).expect("web root");
        fs::write(root.join("index.html"), "<html><body>hello</body></html>\n").expect("index");
        fs::write(root.join("ok.txt"), "ok\n").expect("ok.txt");
        let child = lab
            .in_ns(&lab.server_ns, "busybox")
            .args(["httpd", "-f", "-p", &format!("[::]:{HTTP_PORT}"), "-h"])
            .arg(&root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start busybox httpd");
        let server = HttpServer { child };
        let addr = format!("[::1]:{HTTP_PORT}");
        wait_until("busybox httpd to accept", Duration::from_secs(10), || {
            in_netns(&lab.server_ns, || TcpStream::connect(addr.as_str()).is_ok())
        });
        server
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs curl from the client namespace with source address `from` against `target` (a path
/// and query on the lab server, or a full URL) plus `extra` options. Returns the HTTP status,
/// or `None` when no response came within 2 s (dropped, reset, refused).
pub fn curl(lab: &Lab, from: &str, target: &str, extra: &[&str]) -> Option<u16> {
    let url = if target.starts_with("http") {
        target.to_string()
    } else {
        format!("http://{}:{HTTP_PORT}{target}", crate::lab::SERVER_V4)
    };
    let out = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", lab.client_ns))
        .args([
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "2",
            "--interface",
            from,
        ])
        .args(extra)
        .arg(&url)
        .output()
        .expect("run curl");
    let code: u16 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (code != 0).then_some(code)
}
