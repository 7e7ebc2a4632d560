//! Header parsing: Ethernet, up to two VLAN tags, IPv4 (any IHL), IPv6 (with extension
//! headers), and the TCP/UDP destination port. Every read is bounds-checked against
//! `data_end`, which is what the verifier requires.

use core::mem::size_of;

use aya_ebpf::programs::XdpContext;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;
const VLAN_HLEN: usize = 4;
/// 802.1Q and 802.1ad (QinQ): one outer and one inner tag.
const MAX_VLAN_TAGS: usize = 2;

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPV6_HOPOPTS: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_AH: u8 = 51;
const IPV6_DSTOPTS: u8 = 60;
/// Extension headers walked before giving up on finding the L4 header.
const MAX_IPV6_EXT: usize = 4;

/// Transport protocol and destination port of a TCP or UDP packet.
#[derive(Clone, Copy)]
pub struct L4 {
    pub proto: u8,
    pub dst_port: u16,
}

/// What the parser found in a frame.
pub enum Frame {
    V4 { src: [u8; 4], l4: Option<L4> },
    V6 { src: [u8; 16], l4: Option<L4> },
    NonIp,
    Malformed,
}

/// Reads a `T` at `offset` from the start of the frame, or `None` past `data_end`.
#[inline(always)]
fn load<T: Copy>(ctx: &XdpContext, offset: usize) -> Option<T> {
    let start = ctx.data();
    if start + offset + size_of::<T>() > ctx.data_end() {
        return None;
    }
    // SAFETY: bounds checked above; packet data has no alignment guarantee, hence unaligned.
    Some(unsafe { core::ptr::read_unaligned((start + offset) as *const T) })
}

#[inline(always)]
pub fn parse(ctx: &XdpContext) -> Frame {
    let Some(ethertype) = load::<[u8; 2]>(ctx, 12) else {
        return Frame::Malformed;
    };
    let mut ethertype = u16::from_be_bytes(ethertype);
    let mut offset = ETH_HLEN;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        // Tag: TCI (2 bytes), then the encapsulated ethertype.
        let Some(inner) = load::<[u8; 2]>(ctx, offset + 2) else {
            return Frame::Malformed;
        };
        ethertype = u16::from_be_bytes(inner);
        offset += VLAN_HLEN;
    }
    match ethertype {
        ETH_P_IP => parse_v4(ctx, offset),
        ETH_P_IPV6 => parse_v6(ctx, offset),
        _ => Frame::NonIp,
    }
}

#[inline(always)]
fn parse_v4(ctx: &XdpContext, offset: usize) -> Frame {
    let Some(hdr) = load::<[u8; 20]>(ctx, offset) else {
        return Frame::Malformed;
    };
    let ihl = ((hdr[0] & 0x0f) as usize) * 4;
    if hdr[0] >> 4 != 4 || ihl < 20 {
        return Frame::Malformed;
    }
    let src = [hdr[12], hdr[13], hdr[14], hdr[15]];
    // Only the first fragment carries the L4 header.
    let fragment_offset = u16::from_be_bytes([hdr[6], hdr[7]]) & 0x1fff;
    let l4 = if fragment_offset == 0 {
        l4_at(ctx, hdr[9], offset + ihl)
    } else {
        None
    };
    Frame::V4 { src, l4 }
}

#[inline(always)]
fn parse_v6(ctx: &XdpContext, offset: usize) -> Frame {
    let Some(hdr) = load::<[u8; 40]>(ctx, offset) else {
        return Frame::Malformed;
    };
    if hdr[0] >> 4 != 6 {
        return Frame::Malformed;
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&hdr[8..24]);
    let mut next = hdr[6];
    let mut l4_offset = offset + 40;
    let mut first_fragment = true;
    for _ in 0..MAX_IPV6_EXT {
        let len = match next {
            IPV6_HOPOPTS | IPV6_ROUTING | IPV6_DSTOPTS => {
                let Some(ext) = load::<[u8; 2]>(ctx, l4_offset) else {
                    break;
                };
                next = ext[0];
                (ext[1] as usize + 1) * 8
            }
            IPV6_AH => {
                let Some(ext) = load::<[u8; 2]>(ctx, l4_offset) else {
                    break;
                };
                next = ext[0];
                (ext[1] as usize + 2) * 4
            }
            IPV6_FRAGMENT => {
                let Some(ext) = load::<[u8; 4]>(ctx, l4_offset) else {
                    break;
                };
                next = ext[0];
                first_fragment = u16::from_be_bytes([ext[2], ext[3]]) & 0xfff8 == 0;
                8
            }
            _ => break,
        };
        l4_offset += len;
    }
    let l4 = if first_fragment {
        l4_at(ctx, next, l4_offset)
    } else {
        None
    };
    Frame::V6 { src, l4 }
}

/// TCP/UDP destination port at `offset`; `None` for other protocols or a truncated header
/// (the kernel stack drops truncated transport headers itself).
#[inline(always)]
fn l4_at(ctx: &XdpContext, proto: u8, offset: usize) -> Option<L4> {
    if proto != IPPROTO_TCP && proto != IPPROTO_UDP {
        return None;
    }
    // Both headers start with source port, destination port.
    let ports = load::<[u8; 4]>(ctx, offset)?;
    Some(L4 {
        proto,
        dst_port: u16::from_be_bytes([ports[2], ports[3]]),
    })
}

/// `PORT_TCP` / `PORT_UDP` bit for a transport protocol.
#[inline(always)]
pub fn port_bit(proto: u8) -> u8 {
    if proto == IPPROTO_TCP {
        sec_agent_common::PORT_TCP
    } else {
        sec_agent_common::PORT_UDP
    }
}
