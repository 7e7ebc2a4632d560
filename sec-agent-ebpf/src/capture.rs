//! Socket filter on the agent's AF_PACKET capture socket: passes TCP segments to or from an
//! HTTP port (the `http_ports` array) that carry payload or a SYN, FIN or RST flag; drops
//! everything else in the kernel, before it is copied to the ring.
//!
//! Control segments pass as well as payload because the reassembler needs SYN to learn the
//! initial sequence number and FIN/RST to close flows; they are a handful per connection.

use aya_ebpf::{macros::socket_filter, programs::SkBuffContext};

use crate::maps::HTTP_PORTS;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;
const TCP_FIN_SYN_RST: u8 = 0x07;

/// Returns the number of bytes to keep: the whole frame, or 0 to drop it.
#[socket_filter]
pub fn sec_agent_capture(ctx: SkBuffContext) -> i64 {
    if wanted(&ctx).unwrap_or(false) {
        ctx.len() as i64
    } else {
        0
    }
}

#[inline(always)]
fn be16(ctx: &SkBuffContext, offset: usize) -> Option<u16> {
    ctx.load::<[u8; 2]>(offset).ok().map(u16::from_be_bytes)
}

#[inline(always)]
fn wanted(ctx: &SkBuffContext) -> Option<bool> {
    let mut ethertype = be16(ctx, 12)?;
    let mut offset = ETH_HLEN;
    // VLAN tags usually arrive stripped into skb metadata; in-band ones are walked.
    for _ in 0..2 {
        if ethertype != 0x8100 && ethertype != 0x88a8 {
            break;
        }
        ethertype = be16(ctx, offset + 2)?;
        offset += 4;
    }
    let (tcp, ip_payload) = match ethertype {
        ETH_P_IP => {
            let vihl = ctx.load::<u8>(offset).ok()?;
            let ihl = ((vihl & 0x0f) as usize) * 4;
            let proto = ctx.load::<u8>(offset + 9).ok()?;
            let fragment = be16(ctx, offset + 6)? & 0x1fff;
            if proto != IPPROTO_TCP || ihl < 20 || fragment != 0 {
                return Some(false);
            }
            let total = be16(ctx, offset + 2)? as usize;
            (offset + ihl, total.checked_sub(ihl)?)
        }
        ETH_P_IPV6 => {
            // Extension headers are rare on TCP; such segments are not inspected.
            if ctx.load::<u8>(offset + 6).ok()? != IPPROTO_TCP {
                return Some(false);
            }
            (offset + 40, be16(ctx, offset + 4)? as usize)
        }
        _ => return Some(false),
    };
    let src_port = be16(ctx, tcp)?;
    let dst_port = be16(ctx, tcp + 2)?;
    let is_http = |port: u16| HTTP_PORTS.get(port as u32).is_some_and(|v| *v != 0);
    if !is_http(dst_port) && !is_http(src_port) {
        return Some(false);
    }
    let data_offset = ((ctx.load::<u8>(tcp + 12).ok()? >> 4) as usize) * 4;
    let flags = ctx.load::<u8>(tcp + 13).ok()?;
    Some(ip_payload > data_offset || flags & TCP_FIN_SYN_RST != 0)
}
