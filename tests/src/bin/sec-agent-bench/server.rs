//! A minimal keep-alive HTTP/1.1 responder for the lab's server namespace: one thread per
//! connection, a fixed 200 response per request head. Requests in the benchmarks have no
//! body, so a request ends at its blank line. busybox httpd (the tests' server) forks per
//! connection and closes after each response, far too slow for a load generator.

use std::{
    io::{Read as _, Write as _},
    net::TcpListener,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use sec_agent_tests::traffic::tcp_listener;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n";

/// The responder; stops accepting on drop (open connections end with their clients).
pub struct Responder {
    stop: Arc<AtomicBool>,
}

impl Responder {
    /// Listens on `addr` inside namespace `ns`.
    pub fn start(ns: &str, addr: &str) -> Responder {
        let listener = tcp_listener(ns, addr);
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        thread::spawn(move || accept_loop(&listener, &flag));
        Responder { stop }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((conn, _)) => {
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_nodelay(true);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
                thread::spawn(move || serve(conn));
            }
            Err(_) => thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// Answers every request head on `conn` until the client closes.
fn serve(mut conn: std::net::TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(pos) = find(&pending[start..], b"\r\n\r\n") {
            out.extend_from_slice(RESPONSE);
            start += pos + 4;
        }
        pending.drain(..start);
        if !out.is_empty() {
            if conn.write_all(&out).is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
