//! Valid Ethernet/IPv4 frames for the lab's veth (the IP stack checks the destination MAC
//! and the header checksum before its hooks), and a raw sender for them.

use std::{
    net::Ipv4Addr,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

use anyhow::{Context as _, Result, bail};
use sec_agent_tests::{Lab, traffic::in_netns};

/// (client veth MAC, server veth MAC).
pub fn macs(lab: &Lab) -> Result<([u8; 6], [u8; 6])> {
    let mac = |ns: &str, dev: &str| -> Result<[u8; 6]> {
        let o = lab
            .in_ns(ns, "ip")
            .args(["-j", "link", "show", "dev", dev])
            .output()?;
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
        let text = v[0]["address"].as_str().context("MAC address")?;
        let mut mac = [0u8; 6];
        for (b, part) in mac.iter_mut().zip(text.split(':')) {
            *b = u8::from_str_radix(part, 16)?;
        }
        Ok(mac)
    };
    Ok((
        mac(&lab.client_ns, &lab.client_if)?,
        mac(&lab.server_ns, &lab.server_if)?,
    ))
}

/// Ethernet + IPv4 (with its checksum) around `l4` of protocol `proto`.
pub fn frame(
    macs: ([u8; 6], [u8; 6]),
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 20 + l4.len());
    f.extend_from_slice(&macs.1);
    f.extend_from_slice(&macs.0);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let sum = ip
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum::<u32>();
    let folded = (sum & 0xffff) + (sum >> 16);
    let csum = !((folded & 0xffff) + (folded >> 16)) as u16;
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// UDP header (no checksum, allowed over IPv4) and `payload`.
pub fn udp(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

/// TCP segment with PSH|ACK and `payload` (checksum left zero: the capture path reads it
/// before any checksum check, and the server's stack discards it, which is all we want).
pub fn tcp(src_port: u16, dst_port: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(20 + payload.len());
    h.extend_from_slice(&src_port.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&seq.to_be_bytes());
    h.extend_from_slice(&1u32.to_be_bytes());
    h.extend_from_slice(&[0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    h.extend_from_slice(payload);
    h
}

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
