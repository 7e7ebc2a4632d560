//! Decoding of captured frames into TCP segments: Ethernet, up to two in-band VLAN tags,
//! IPv4 or IPv6 (no extension headers), TCP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// TCP flags of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN: the sender has finished.
    pub const FIN: u8 = 0x01;
    /// SYN: sequence number synchronisation (connection start).
    pub const SYN: u8 = 0x02;
    /// RST: the connection is aborted.
    pub const RST: u8 = 0x04;
    /// ACK: the acknowledgement number is valid.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// A TCP segment borrowed from a captured frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Sender address and port.
    pub src: SocketAddr,
    /// Receiver address and port.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (of the SYN itself when SYN is set).
    pub seq: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// TCP payload (may be empty).
    pub payload: &'a [u8],
}

/// Why a frame was not a decodable TCP segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than its headers say.
    #[error("truncated frame")]
    Truncated,
    /// Not IPv4/IPv6 carrying TCP (or an IP fragment, or IPv6 extension headers).
    #[error("not a TCP segment")]
    NotTcp,
    /// A header field is impossible (IHL < 5, TCP data offset < 5, wrong IP version).
    #[error("malformed header")]
    Malformed,
}

fn be16(b: &[u8], at: usize) -> Result<u16, DecodeError> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or(DecodeError::Truncated)
}

/// Decodes an Ethernet frame.
///
/// # Errors
/// [`DecodeError`] for anything that is not a complete TCP header; a payload cut short by
/// the capture is returned as far as it goes.
pub fn decode(frame: &[u8]) -> Result<Segment<'_>, DecodeError> {
    let mut ethertype = be16(frame, 12)?;
    let mut offset = 14;
    for _ in 0..2 {
        if ethertype != 0x8100 && ethertype != 0x88a8 {
            break;
        }
        ethertype = be16(frame, offset + 2)?;
        offset += 4;
    }
    let ip = frame.get(offset..).ok_or(DecodeError::Truncated)?;
    let (src, dst, l4, l4_len) = match ethertype {
        0x0800 => {
            let h = ip.get(..20).ok_or(DecodeError::Truncated)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            if h[0] >> 4 != 4 || ihl < 20 {
                return Err(DecodeError::Malformed);
            }
            if h[9] != 6 || be16(h, 6)? & 0x3fff != 0 {
                // Not TCP, or a fragment (MF set or offset non-zero).
                return Err(DecodeError::NotTcp);
            }
            let total = usize::from(be16(h, 2)?);
            let src = IpAddr::V4(Ipv4Addr::new(h[12], h[13], h[14], h[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(h[16], h[17], h[18], h[19]));
            // tot_len is 0 on GSO super-packets larger than 64 KiB: trust the frame then.
            let end = if total == 0 {
                ip.len()
            } else {
                total.min(ip.len())
            };
            (
                src,
                dst,
                ihl,
                end.checked_sub(ihl).ok_or(DecodeError::Malformed)?,
            )
        }
        0x86dd => {
            let h = ip.get(..40).ok_or(DecodeError::Truncated)?;
            if h[0] >> 4 != 6 {
                return Err(DecodeError::Malformed);
            }
            if h[6] != 6 {
                return Err(DecodeError::NotTcp);
            }
            let plen = usize::from(be16(h, 4)?);
            let addr = |at: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&h[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(a))
            };
            let avail = ip.len() - 40;
            (
                addr(8),
                addr(24),
                40,
                if plen == 0 { avail } else { plen.min(avail) },
            )
        }
        _ => return Err(DecodeError::NotTcp),
    };
    let tcp = ip.get(l4..l4 + l4_len).ok_or(DecodeError::Truncated)?;
    let th = tcp.get(..20).ok_or(DecodeError::Truncated)?;
    let data_offset = usize::from(th[12] >> 4) * 4;
    if data_offset < 20 {
        return Err(DecodeError::Malformed);
    }
    let payload = tcp.get(data_offset..).ok_or(DecodeError::Truncated)?;
    Ok(Segment {
        src: SocketAddr::new(src, be16(th, 0)?),
        dst: SocketAddr::new(dst, be16(th, 2)?),
        seq: u32::from_be_bytes([th[4], th[5], th[6], th[7]]),
        flags: TcpFlags(th[13]),
        payload,
    })
}

/// Test frame builders, shared with the reassembly and pipeline tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::net::SocketAddr;

    /// An Ethernet + IPv4/IPv6 + TCP frame.
    pub fn tcp_frame(
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut tcp = Vec::new();
        tcp.extend_from_slice(&src.port().to_be_bytes());
        tcp.extend_from_slice(&dst.port().to_be_bytes());
        tcp.extend_from_slice(&seq.to_be_bytes());
        tcp.extend_from_slice(&0u32.to_be_bytes());
        tcp.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        tcp.extend_from_slice(payload);
        let mut f = vec![0u8; 12];
        match (src, dst) {
            (SocketAddr::V4(s), SocketAddr::V4(d)) => {
                f.extend_from_slice(&[0x08, 0x00]);
                let total = (20 + tcp.len()) as u16;
                f.extend_from_slice(&[0x45, 0]);
                f.extend_from_slice(&total.to_be_bytes());
                f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
                f.extend_from_slice(&s.ip().octets());
                f.extend_from_slice(&d.ip().octets());
            }
            (SocketAddr::V6(s), SocketAddr::V6(d)) => {
                f.extend_from_slice(&[0x86, 0xdd]);
                f.extend_from_slice(&[0x60, 0, 0, 0]);
                f.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
                f.extend_from_slice(&[6, 64]);
                f.extend_from_slice(&s.ip().octets());
                f.extend_from_slice(&d.ip().octets());
            }
            _ => panic!("mixed families"),
        }
        f.extend_from_slice(&tcp);
        f
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::tcp_frame, *};

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn decodes_ipv4_and_ipv6() {
        let f = tcp_frame(
            sa("10.0.0.1:40000"),
            sa("10.0.0.2:80"),
            7,
            TcpFlags::ACK,
            b"GET /",
        );
        let s = decode(&f).unwrap();
        assert_eq!(
            (s.src, s.dst, s.seq, s.payload),
            (sa("10.0.0.1:40000"), sa("10.0.0.2:80"), 7, &b"GET /"[..])
        );
        let f = tcp_frame(
            sa("[fd00::1]:40000"),
            sa("[fd00::2]:8080"),
            9,
            TcpFlags::SYN,
            b"",
        );
        let s = decode(&f).unwrap();
        assert!(s.flags.has(TcpFlags::SYN));
        assert_eq!(s.dst.port(), 8080);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // Minimum-size frames are padded to 60 bytes; IPv4 total length tells the truth.
        let mut f = tcp_frame(sa("10.0.0.1:1"), sa("10.0.0.2:80"), 1, TcpFlags::ACK, b"");
        f.resize(60, 0);
        assert_eq!(decode(&f).unwrap().payload, b"");
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let f = tcp_frame(sa("10.0.0.1:1"), sa("10.0.0.2:80"), 1, TcpFlags::ACK, b"x");
        for cut in 0..f.len() - 1 {
            let _ = decode(&f[..cut]);
        }
        assert_eq!(decode(&f[..30]), Err(DecodeError::Truncated));
        let mut bad = f.clone();
        bad[14] = 0x43;
        assert_eq!(decode(&bad), Err(DecodeError::Malformed));
        let mut udp = f.clone();
        udp[23] = 17;
        assert_eq!(decode(&udp), Err(DecodeError::NotTcp));
        assert_eq!(decode(&[0u8; 3]), Err(DecodeError::Truncated));
    }
}
