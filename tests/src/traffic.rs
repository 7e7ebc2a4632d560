//! Sockets opened inside a lab namespace. A socket belongs to the namespace it was created
//! in, so it is created on a thread that has joined the namespace (`setns` affects only the
//! calling thread) and then used from anywhere.

use socket2::{Domain, Protocol, Socket, Type};
use std::{
    fs::File,
    io,
    net::{SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::fd::AsRawFd as _,
    thread,
    time::{Duration, Instant},
};

/// Runs `f` on a thread inside network namespace `ns`.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            // SAFETY: valid namespace fd; only this thread changes namespace.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread panicked")
    })
}

/// A UDP socket bound to `addr` inside `ns`, with a 4 MiB receive buffer (forced past
/// `rmem_max`, as root) so that a burst read only after it was sent is not cut short by
/// the socket buffer, whatever the kernel's per-packet memory accounting.
pub fn udp_socket(ns: &str, addr: &str) -> UdpSocket {
    let addr: SocketAddr = addr.parse().expect("socket address");
    // A socket just closed here can still be held for a moment by a child process that
    // another test thread is spawning (fork copies descriptors until exec closes them),
    // so a port reused within a test may briefly be busy: retry for up to a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    let sock = loop {
        match in_netns(ns, || UdpSocket::bind(addr)) {
            Ok(s) => break s,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("bind UDP {addr}: {e}"),
        }
    };
    let size: libc::c_int = 4 << 20;
    // SAFETY: valid fd and option value.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&size as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    sock
}

/// Sends `count` datagrams of `payload_len` bytes from `from` to `to`, `gap` apart.
/// Returns the time between the first and the last send.
pub fn udp_send(
    from: &UdpSocket,
    to: &str,
    count: u32,
    payload_len: usize,
    gap: Duration,
) -> Duration {
    let payload = vec![0x5a; payload_len];
    let start = Instant::now();
    for i in 0..count {
        if i > 0 && !gap.is_zero() {
            // Pace against the start time so that scheduling jitter does not accumulate.
            let due = start + gap * i;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                thread::sleep(wait);
            }
        }
        from.send_to(&payload, to).expect("send UDP");
    }
    start.elapsed()
}

/// Reads datagrams until none arrives for 200 ms; returns how many arrived.
pub fn udp_drain(sock: &UdpSocket) -> u32 {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while sock.recv_from(&mut buf).is_ok() {
        n += 1;
    }
    n
}

/// A TCP listener on `addr` inside `ns`.
pub fn tcp_listener(ns: &str, addr: &str) -> TcpListener {
    let addr: SocketAddr = addr.parse().expect("socket address");
    in_netns(ns, || TcpListener::bind(addr)).expect("bind TCP")
}

/// Tries a TCP connection from namespace `ns`, optionally from source address `from`;
/// `true` when the handshake completes within `timeout`.
pub fn tcp_connects(ns: &str, from: Option<&str>, to: &str, timeout: Duration) -> bool {
    let to: SocketAddr = to.parse().expect("socket address");
    let from = from.map(|f| f.parse::<std::net::IpAddr>().expect("source address"));
    in_netns(ns, || match from {
        None => TcpStream::connect_timeout(&to, timeout).is_ok(),
        Some(src) => connect_from(src, to, timeout).is_ok(),
    })
}

/// An open TCP connection from `from` in namespace `ns` to `to`.
pub fn tcp_stream(ns: &str, from: &str, to: &str) -> TcpStream {
    let to: SocketAddr = to.parse().expect("socket address");
    let from = from.parse().expect("source address");
    in_netns(ns, || connect_from(from, to, Duration::from_secs(2)))
        .map(TcpStream::from)
        .expect("TCP connect")
}

fn connect_from(src: std::net::IpAddr, to: SocketAddr, timeout: Duration) -> io::Result<Socket> {
    let sock = Socket::new(Domain::for_address(to), Type::STREAM, Some(Protocol::TCP))?;
    sock.bind(&SocketAddr::new(src, 0).into())?;
    sock.connect_timeout(&to.into(), timeout)?;
    Ok(sock)
}
