//! Hand-built Ethernet frames, for BPF_PROG_TEST_RUN and for raw sockets on a lab veth, and
//! the XDP actions a test run returns.
//!
//! Layers are built inside out and wrapped:
//! `eth(&[], ETH_P_IP, &ipv4(src, UDP, &[], 0, &l4(53)))`. Checksums are optional. A test
//! run verifies none (XDP runs before the stack does, and the program never reads them), so
//! the short forms [`eth`] and [`ipv4`] leave them zero. A frame written on a veth must get
//! past the receiving IP stack, which checks the destination MAC and the IPv4 header
//! checksum: give it [`Macs::of_lab`] and an [`Ipv4`] with `checksum: true`.
//! Transport checksums are always left zero (allowed for UDP over IPv4; a TCP segment with
//! it is captured, then discarded by the stack).

use std::{io, net::Ipv4Addr};

use crate::Lab;

/// `XDP_ABORTED`: the program failed.
pub const XDP_ABORTED: u32 = 0;
/// `XDP_DROP`.
pub const XDP_DROP: u32 = 1;
/// `XDP_PASS`.
pub const XDP_PASS: u32 = 2;
/// `XDP_TX`: bounced out of the receiving interface.
pub const XDP_TX: u32 = 3;
/// `XDP_REDIRECT`.
pub const XDP_REDIRECT: u32 = 4;

/// Ethertypes.
pub const ETH_P_IP: u16 = 0x0800;
/// IPv6 ethertype.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// ARP ethertype.
pub const ETH_P_ARP: u16 = 0x0806;
/// 802.1Q VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// 802.1ad (QinQ) outer tag.
pub const ETH_P_8021AD: u16 = 0x88a8;
/// TCP protocol number.
pub const TCP: u8 = 6;
/// UDP protocol number.
pub const UDP: u8 = 17;

/// 2001:db8::`last` (the IPv6 documentation prefix).
pub fn v6(last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[14..].copy_from_slice(&last.to_be_bytes());
    a
}

/// Source and destination MAC of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Macs {
    /// Source MAC.
    pub src: [u8; 6],
    /// Destination MAC.
    pub dst: [u8; 6],
}

impl Macs {
    /// Locally administered placeholders, 02:00:00:00:00:01 to 02:00:00:00:00:02: enough for
    /// a test run, which checks neither.
    pub const PLACEHOLDER: Macs = Macs {
        src: [0x02, 0, 0, 0, 0, 0x01],
        dst: [0x02, 0, 0, 0, 0, 0x02],
    };

    /// From the lab's client veth to its server veth, as `ip -j link` reports them: what a
    /// frame written on the client veth needs for the server's stack to take it.
    pub fn of_lab(lab: &Lab) -> io::Result<Macs> {
        let mac = |ns: &str, dev: &str| -> io::Result<[u8; 6]> {
            let o = lab
                .in_ns(ns, "ip")
                .args(["-j", "link", "show", "dev", dev])
                .output()?;
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
            let text = v[0]["address"]
                .as_str()
                .ok_or_else(|| io::Error::other(format!("no MAC address for {dev}")))?;
            let mut mac = [0u8; 6];
            let mut parts = text.split(':');
            for b in &mut mac {
                let part = parts.next().unwrap_or_default();
                *b = u8::from_str_radix(part, 16)
                    .map_err(|e| io::Error::other(format!("MAC {text}: {e}")))?;
            }
            Ok(mac)
        };
        Ok(Macs {
            src: mac(&lab.client_ns, &lab.client_if)?,
            dst: mac(&lab.server_ns, &lab.server_if)?,
        })
    }
}

/// Ethernet header from `macs`, with `tags` VLAN tags (outer first), then `ethertype`, then
/// `payload`.
pub fn eth_from(macs: Macs, tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
    f.extend_from_slice(&macs.dst);
    f.extend_from_slice(&macs.src);
    for (i, tpid) in tags.iter().enumerate() {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(100 + i as u16).to_be_bytes()); // TCI: VLAN id
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// [`eth_from`] with [`Macs::PLACEHOLDER`], for test runs.
pub fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    eth_from(Macs::PLACEHOLDER, tags, ethertype, payload)
}

/// An IPv4 header (TTL 64, ID 1); [`Ipv4::packet`] puts it in front of a payload.
#[derive(Clone, Copy, Debug)]
pub struct Ipv4<'a> {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload ([`TCP`], [`UDP`]).
    pub proto: u8,
    /// Options after the fixed header: a multiple of 4 bytes, at most 40.
    pub options: &'a [u8],
    /// Fragment offset, in 8-byte units.
    pub frag_offset: u16,
    /// Whether to fill in the header checksum; zero otherwise.
    pub checksum: bool,
}

impl Ipv4<'_> {
    /// From `src` to the lab server (10.200.0.2): no options, not a fragment, no checksum.
    pub fn new(src: impl Into<Ipv4Addr>, proto: u8) -> Ipv4<'static> {
        Ipv4 {
            src: src.into(),
            dst: Ipv4Addr::new(10, 200, 0, 2),
            proto,
            options: &[],
            frag_offset: 0,
            checksum: false,
        }
    }

    /// The header followed by `payload`.
    pub fn packet(&self, payload: &[u8]) -> Vec<u8> {
        let options = self.options;
        assert!(options.len().is_multiple_of(4) && options.len() <= 40);
        let ihl = 5 + options.len() / 4;
        let total = (ihl * 4 + payload.len()) as u16;
        let mut h = Vec::with_capacity(ihl * 4 + payload.len());
        h.extend_from_slice(&[0x40 | ihl as u8, 0]);
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&[0, 1]);
        h.extend_from_slice(&(self.frag_offset & 0x1fff).to_be_bytes());
        h.extend_from_slice(&[64, self.proto, 0, 0]);
        h.extend_from_slice(&self.src.octets());
        h.extend_from_slice(&self.dst.octets());
        h.extend_from_slice(options);
        if self.checksum {
            let sum: u32 = h
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            let folded = (sum & 0xffff) + (sum >> 16);
            let csum = !((folded & 0xffff) + (folded >> 16)) as u16;
            h[10..12].copy_from_slice(&csum.to_be_bytes());
        }
        h.extend_from_slice(payload);
        h
    }
}

/// IPv4 packet from `src` to the lab server without checksum, for test runs: `options`
/// (multiple of 4 bytes) after the fixed header, `frag_offset` in 8-byte units, `payload`
/// after the header.
pub fn ipv4(src: [u8; 4], proto: u8, options: &[u8], frag_offset: u16, payload: &[u8]) -> Vec<u8> {
    Ipv4 {
        options,
        frag_offset,
        ..Ipv4::new(src, proto)
    }
    .packet(payload)
}

/// IPv6 packet from `src` to fd00::2 whose extension headers are given
/// as `(next header type, bytes)` in order; the last next-header value is `proto`.
pub fn ipv6(src: [u8; 16], exts: &[(u8, Vec<u8>)], proto: u8, payload: &[u8]) -> Vec<u8> {
    let first_next = exts.first().map_or(proto, |e| e.0);
    let mut body = Vec::new();
    for (i, (_, bytes)) in exts.iter().enumerate() {
        let next = exts.get(i + 1).map_or(proto, |e| e.0);
        let mut b = bytes.clone();
        b[0] = next;
        body.extend_from_slice(&b);
    }
    body.extend_from_slice(payload);
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(body.len() as u16).to_be_bytes());
    h.extend_from_slice(&[first_next, 64]);
    h.extend_from_slice(&src);
    let mut dst = [0u8; 16];
    dst[..2].copy_from_slice(&[0xfd, 0x00]);
    dst[15] = 2;
    h.extend_from_slice(&dst);
    h.extend_from_slice(&body);
    h
}

/// A hop-by-hop or destination-options header of `8 * (len8 + 1)` bytes (next header
/// filled in by [`ipv6`]).
pub fn ipv6_opts(len8: u8) -> Vec<u8> {
    let mut b = vec![0u8; 8 * (len8 as usize + 1)];
    b[1] = len8;
    b
}

/// A fragment header; `offset` in 8-byte units.
pub fn ipv6_frag(offset: u16) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    b[2..4].copy_from_slice(&(offset << 3).to_be_bytes());
    b
}

/// 20 bytes standing for a TCP or UDP header, for test runs: source port 40000, `dst_port`,
/// zeros after (the program reads only the ports).
pub fn l4(dst_port: u16) -> Vec<u8> {
    let mut h = Vec::with_capacity(20);
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&[0; 16]);
    h
}

/// UDP header from port 40000 to `dst_port` (length set, checksum zero) and `payload`.
pub fn udp(dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

/// TCP segment with PSH|ACK (ack 1, window 65535, checksum zero) and `payload`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_verifies() {
        let options = [1, 1, 1, 0];
        let h = Ipv4 {
            checksum: true,
            options: &options,
            ..Ipv4::new([192, 0, 2, 1], UDP)
        }
        .packet(&udp(9, b"x"));
        // The ones'-complement sum over a header with its checksum is 0xffff.
        let sum: u32 = h[..24]
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        let folded = (sum & 0xffff) + (sum >> 16);
        assert_eq!((folded & 0xffff) + (folded >> 16), 0xffff);
        let plain = ipv4([192, 0, 2, 1], UDP, &options, 0, &udp(9, b"x"));
        assert_eq!(&plain[10..12], &[0, 0], "no checksum unless asked");
        assert_eq!(plain[12..], h[12..], "only the checksum differs");
    }

    #[test]
    fn eth_places_macs_tags_and_ethertype() {
        let f = eth(&[ETH_P_8021Q], ETH_P_IP, &[0xaa]);
        assert_eq!(&f[..6], &Macs::PLACEHOLDER.dst);
        assert_eq!(&f[6..12], &Macs::PLACEHOLDER.src);
        assert_eq!(&f[12..14], &ETH_P_8021Q.to_be_bytes());
        assert_eq!(&f[16..18], &ETH_P_IP.to_be_bytes());
        assert_eq!(f[18], 0xaa);
    }
}
