//! Killing the TCP connections of a banned source: the kernel's sock_diag interface lists
//! the sockets whose remote address is the source (`SOCK_DIAG_BY_FAMILY` dump) and destroys
//! each one (`SOCK_DESTROY`, Linux 4.5+ with `CONFIG_INET_DIAG_DESTROY`), which is what
//! `ss -K dst ADDR` does. The local end gets ECONNABORTED at once, and the ban's XDP drop
//! stops everything the peer sends afterwards, so an attack connection does not linger in
//! the application until its timeout.
//!
//! Dual-stack listeners accept IPv4 clients on IPv6 sockets (`::ffff:a.b.c.d`), so an IPv4
//! source is looked up in both families.

use std::{
    io,
    net::IpAddr,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use anyhow::{Context as _, Result, bail};

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const SOCK_DESTROY: u16 = 21;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;

/// TCP states whose sockets can be destroyed: every full socket except LISTEN and CLOSE
/// (TIME_WAIT and request sockets are not full sockets).
const STATES: u32 = (1 << 1) | (1 << 2) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 9) | (1 << 11);

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct NlMsgHdr {
    len: u32,
    ty: u16,
    flags: u16,
    seq: u32,
    pid: u32,
}

/// `struct inet_diag_sockid`: ports and addresses in network order.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
struct SockId {
    sport: [u8; 2],
    dport: [u8; 2],
    src: [u8; 16],
    dst: [u8; 16],
    ifindex: u32,
    cookie: [u32; 2],
}

/// `struct inet_diag_req_v2`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ReqV2 {
    family: u8,
    protocol: u8,
    ext: u8,
    pad: u8,
    states: u32,
    id: SockId,
}

/// `struct inet_diag_msg` (the fixed part of a dump reply).
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct DiagMsg {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    id: SockId,
    expires: u32,
    rqueue: u32,
    wqueue: u32,
    uid: u32,
    inode: u32,
}

#[repr(C)]
struct Request {
    hdr: NlMsgHdr,
    req: ReqV2,
}

/// Destroys every TCP socket in this network namespace whose remote address is `source`;
/// returns how many were destroyed.
///
/// # Errors
/// No netlink access (needs CAP_NET_ADMIN), or a kernel without SOCK_DESTROY (EOPNOTSUPP).
pub fn destroy_connections(source: IpAddr) -> Result<usize> {
    let nl = NetlinkSocket::open()?;
    let mut targets = Vec::new();
    let (v4, v6) = match source {
        IpAddr::V4(a) => (Some(a.octets()), a.to_ipv6_mapped().octets()),
        IpAddr::V6(a) => (None, a.octets()),
    };
    if let Some(v4) = v4 {
        let mut want = [0u8; 16];
        want[..4].copy_from_slice(&v4);
        targets.extend(
            nl.dump(libc::AF_INET as u8)?
                .into_iter()
                .filter(|(_, id)| id.dst == want),
        );
    }
    targets.extend(
        nl.dump(libc::AF_INET6 as u8)?
            .into_iter()
            .filter(|(_, id)| id.dst == v6),
    );
    let mut destroyed = 0;
    for (family, id) in targets {
        match nl.destroy(family, id) {
            Ok(()) => destroyed += 1,
            // The socket closed on its own in between.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                bail!("the kernel cannot destroy sockets (needs CONFIG_INET_DIAG_DESTROY)")
            }
            Err(e) => return Err(e).context("SOCK_DESTROY"),
        }
    }
    Ok(destroyed)
}

struct NetlinkSocket {
    fd: OwnedFd,
}

impl NetlinkSocket {
    fn open() -> Result<Self> {
        // SAFETY: plain socket(2).
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error()).context("socket(NETLINK_SOCK_DIAG)");
        }
        // SAFETY: fresh fd we own.
        Ok(NetlinkSocket {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn send(&self, ty: u16, flags: u16, req: ReqV2) -> io::Result<()> {
        let msg = Request {
            hdr: NlMsgHdr {
                len: size_of::<Request>() as u32,
                ty,
                flags,
                seq: 1,
                pid: 0,
            },
            req,
        };
        // SAFETY: sending a plain-old-data struct of the stated size.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                (&msg as *const Request).cast(),
                size_of::<Request>(),
                0,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Calls `each` for every message until DONE (dumps) or the first ACK/error.
    fn receive(&self, mut each: impl FnMut(u16, &[u8]) -> io::Result<bool>) -> io::Result<()> {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            // SAFETY: buf is writable for its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut off = 0;
            let n = n as usize;
            while off + size_of::<NlMsgHdr>() <= n {
                // SAFETY: bounds checked; read_unaligned copes with any alignment.
                let hdr: NlMsgHdr = unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let len = hdr.len as usize;
                if len < size_of::<NlMsgHdr>() || off + len > n {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bad netlink message",
                    ));
                }
                let payload = &buf[off + size_of::<NlMsgHdr>()..off + len];
                match hdr.ty {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        return if code == 0 {
                            Ok(())
                        } else {
                            Err(io::Error::from_raw_os_error(-code))
                        };
                    }
                    ty => {
                        if !each(ty, payload)? {
                            return Ok(());
                        }
                    }
                }
                off += (len + 3) & !3;
            }
        }
    }

    fn dump(&self, family: u8) -> Result<Vec<(u8, SockId)>> {
        let req = ReqV2 {
            family,
            protocol: libc::IPPROTO_TCP as u8,
            states: STATES,
            ..ReqV2::default()
        };
        self.send(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, req)
            .context("sock_diag dump request")?;
        let mut out = Vec::new();
        self.receive(|_, payload| {
            if payload.len() >= size_of::<DiagMsg>() {
                // SAFETY: length checked.
                let msg: DiagMsg = unsafe { std::ptr::read_unaligned(payload.as_ptr().cast()) };
                out.push((msg.family, msg.id));
            }
            Ok(true)
        })
        .context("sock_diag dump")?;
        Ok(out)
    }

    fn destroy(&self, family: u8, id: SockId) -> io::Result<()> {
        let req = ReqV2 {
            family,
            protocol: libc::IPPROTO_TCP as u8,
            states: u32::MAX,
            id,
            ..ReqV2::default()
        };
        self.send(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, req)?;
        self.receive(|_, _| Ok(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_abi_sizes() {
        assert_eq!(size_of::<SockId>(), 48);
        assert_eq!(size_of::<ReqV2>(), 56);
        assert_eq!(size_of::<DiagMsg>(), 72);
    }
}
