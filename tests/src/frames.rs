//! Hand-built Ethernet frames for BPF_PROG_TEST_RUN. Checksums are left zero: XDP runs
//! before the stack verifies them, and the program under test never reads them.

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

/// Ethernet header with `tags` VLAN tags (outer first), then `ethertype`, then `payload`.
pub fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    for (i, tpid) in tags.iter().enumerate() {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(100 + i as u16).to_be_bytes()); // TCI: VLAN id
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A TCP or UDP header (8 bytes of it are enough for the program: ports and length).
pub fn l4(dst_port: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&40000u16.to_be_bytes());
    h.extend_from_slice(&dst_port.to_be_bytes());
    h.extend_from_slice(&[0; 16]);
    h
}

/// IPv4 packet: `options` (multiple of 4 bytes) after the fixed header; `frag_offset` in
/// 8-byte units; `payload` after the header.
pub fn ipv4(src: [u8; 4], proto: u8, options: &[u8], frag_offset: u16, payload: &[u8]) -> Vec<u8> {
    assert!(options.len().is_multiple_of(4) && options.len() <= 40);
    let ihl = 5 + options.len() / 4;
    let total = (ihl * 4 + payload.len()) as u16;
    let mut h = vec![0x40 | ihl as u8, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1]);
    h.extend_from_slice(&(frag_offset & 0x1fff).to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[10, 200, 0, 2]);
    h.extend_from_slice(options);
    h.extend_from_slice(payload);
    h
}

/// IPv6 packet whose extension headers are given as `(next header type, bytes)` in order;
/// the last next-header value is `proto`.
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
