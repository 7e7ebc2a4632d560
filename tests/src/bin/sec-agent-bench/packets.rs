//! A raw sender of whole frames on the lab's client veth (the frames themselves come from
//! [`sec_agent_tests::frames`]).

use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use anyhow::{Result, bail};
use sec_agent_tests::{Lab, traffic::in_netns};

/// A raw AF_PACKET socket on the client veth, for writing whole frames.
pub struct RawSender(OwnedFd);

impl RawSender {
    /// Opens the socket inside the client namespace.
    pub fn open(lab: &Lab) -> Result<RawSender> {
        let iface = lab.client_if.clone();
        in_netns(&lab.client_ns, || -> Result<RawSender> {
            // SAFETY: plain socket call; the fd is owned right away. Protocol 0: send only.
            let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
            if fd < 0 {
                bail!("AF_PACKET socket: {}", std::io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh, valid descriptor.
            let sock = unsafe { OwnedFd::from_raw_fd(fd) };
            let name = std::ffi::CString::new(iface.as_str())?;
            // SAFETY: NUL-terminated name.
            let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
            // SAFETY: zeroed sockaddr_ll is valid; fields set below.
            let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_ifindex = ifindex as i32;
            // SAFETY: valid fd and address.
            let rc = unsafe {
                libc::bind(
                    sock.as_raw_fd(),
                    (&addr as *const libc::sockaddr_ll).cast(),
                    size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if ifindex == 0 || rc != 0 {
                bail!(
                    "bind AF_PACKET to {iface}: {}",
                    std::io::Error::last_os_error()
                );
            }
            Ok(RawSender(sock))
        })
    }

    /// Writes every frame, in `sendmmsg` batches.
    pub fn send_all(&self, frames: &[Vec<u8>]) -> Result<()> {
        for chunk in frames.chunks(256) {
            let mut iovs: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr() as *mut libc::c_void,
                    iov_len: f.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = iovs
                .iter_mut()
                .map(|iov| {
                    // SAFETY: zeroed mmsghdr is valid; it points at one iovec.
                    let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                    m.msg_hdr.msg_iov = iov;
                    m.msg_hdr.msg_iovlen = 1;
                    m
                })
                .collect();
            let mut done = 0;
            // The device queue may be full for a moment (ENOBUFS): retry, briefly and for a
            // bounded time.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while done < msgs.len() {
                // SAFETY: valid fd and initialised headers from `done` on.
                let n = unsafe {
                    libc::sendmmsg(
                        self.0.as_raw_fd(),
                        msgs[done..].as_mut_ptr(),
                        (msgs.len() - done) as u32,
                        0,
                    )
                };
                if n < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() == Some(libc::ENOBUFS)
                        && std::time::Instant::now() < deadline
                    {
                        std::thread::sleep(std::time::Duration::from_micros(100));
                        continue;
                    }
                    bail!("sendmmsg: {e}");
                }
                done += n as usize;
            }
        }
        Ok(())
    }
}
