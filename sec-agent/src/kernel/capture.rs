//! Capture: a copy of the host's HTTP traffic, filtered in the kernel by the
//! `sec_agent_capture` socket filter. Packets that XDP drops never get here; both
//! directions do (requests in, responses out). Only cleartext HTTP is inspected: TLS on an
//! HTTP port is filtered in, fails to parse as HTTP, and is counted and skipped.
//!
//! Each interface gets an AF_PACKET socket with a memory-mapped receive ring (the kernel's high-rate capture
//! path, `Documentation/networking/packet_mmap.rst`), bound to one interface, with the
//! `sec_agent_capture` socket filter attached before the bind so that no unfiltered packet
//! ever enters the ring.
//!
//! Two ring layouts, chosen by [`RingVersion`]:
//! - **TPACKET_V2** (per frame): fixed-size frame slots; the kernel wakes the reader for
//!   every packet, so a request is inspected microseconds after it arrives. A packet larger
//!   than a slot (a GRO/GSO aggregate) is copied whole to the socket's receive queue as
//!   well (`PACKET_COPY_THRESH`, the slot says `TP_STATUS_COPY`) and read from there, in
//!   ring order.
//! - **TPACKET_V3** (per block): variable-length frames packed into blocks; the kernel wakes
//!   the reader only when a block is full or `block_timeout` (at least 1 ms) has passed,
//!   which adds up to that timeout to every ban.
//!
//! In both, `blocks` blocks of `block_size` bytes are shared with the kernel; when no slot is
//! free the kernel drops the packet and counts it (`PACKET_STATISTICS`).

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd as _, OwnedFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use aya::programs::SocketFilter;
use serde::{Deserialize, Deserializer, de};

/// Ring layout (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingVersion {
    /// TPACKET_V2: a wake-up per packet, lowest latency.
    V2,
    /// TPACKET_V3: a wake-up per block, fewest wake-ups.
    V3,
}

/// `[capture]`: which traffic is copied to user space, and the ring it arrives in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureConfig {
    /// TCP ports carrying cleartext HTTP (both directions are captured).
    pub http_ports: Vec<u16>,
    /// Ring layout: `2` (TPACKET_V2, the reader wakes for every packet) or `3`
    /// (TPACKET_V3, it wakes per block, up to `ring_block_timeout` later).
    #[serde(deserialize_with = "ring_version")]
    pub ring_version: RingVersion,
    /// Bytes per ring block: a power of two, at least 16 KiB, larger than the biggest
    /// frame (GSO frames on veth reach 64 KiB).
    #[serde(deserialize_with = "ring_block_size")]
    pub ring_block_size: u32,
    /// Blocks per ring, per interface.
    pub ring_blocks: u32,
    /// Version 3 only: longest a partly filled block waits before it is read (1 ms
    /// granularity).
    #[serde(deserialize_with = "crate::de::duration")]
    pub ring_block_timeout: Duration,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        CaptureConfig {
            http_ports: vec![80, 8080],
            // A wake-up per packet: V3's block timeout alone would add up to 1 ms to every
            // ban (BENCHMARKS.md, ban latency).
            ring_version: RingVersion::V2,
            // V2: 81 slots of 1600 bytes per block, 10,368 in all. V3: small blocks, many
            // of them: under light load the 1 ms timeout retires a block per millisecond
            // however little it holds, so the number of blocks, not the bytes, sets how
            // long the agent may stall before frames drop (128 ms here). 128 KiB still
            // holds the largest GRO frame (64 KiB).
            ring_block_size: 128 << 10,
            ring_blocks: 128,
            ring_block_timeout: Duration::from_millis(1),
        }
    }
}

fn ring_version<'de, D: Deserializer<'de>>(d: D) -> Result<RingVersion, D::Error> {
    match u8::deserialize(d)? {
        2 => Ok(RingVersion::V2),
        3 => Ok(RingVersion::V3),
        n => Err(de::Error::custom(format!(
            "ring version {n}: must be 2 (TPACKET_V2, a wake-up per packet) or 3 (TPACKET_V3, a wake-up per block)"
        ))),
    }
}

fn ring_block_size<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if !n.is_power_of_two() || n < 16 << 10 {
        return Err(de::Error::custom(format!(
            "{n}: must be a power of two of at least 16384"
        )));
    }
    Ok(n)
}

/// What a ring keeps of its [`CaptureConfig`].
#[derive(Clone, Copy, Debug)]
struct Geometry {
    version: RingVersion,
    block_size: u32,
    blocks: u32,
}

/// Kernel counters of one ring, accumulated since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Packets the filter passed (including dropped ones).
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
    /// V2: packets larger than a slot, read whole from the socket's receive queue.
    pub copied: u64,
    /// Packets handed on cut short: larger than a slot with the receive queue full (V2),
    /// or larger than the copy buffer. Their flow sees a gap.
    pub truncated: u64,
}

/// One interface's capture socket and ring.
pub struct PacketRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    config: Geometry,
    /// Slot size: V2 frame slots; V3 only reports it to the kernel.
    frame_size: u32,
    /// Slots in the ring: V2 frames, V3 blocks.
    slots: u32,
    /// V2 frame slots per block (slots never straddle blocks).
    per_block: u32,
    /// Next slot to read.
    next: u32,
    stats: RingStats,
    /// V2: where a packet larger than a slot is read from the receive queue.
    copy_buf: Vec<u8>,
}

// SAFETY: the mapping is owned by this struct and only touched through &mut self.
unsafe impl Send for PacketRing {}

/// Smallest slot (and V3's nominal frame size).
const MIN_FRAME_SIZE: u32 = 1024;
/// Largest V2 slot: bigger packets (GRO/GSO aggregates, loopback) take the copy path
/// rather than making every slot that big.
const MAX_FRAME_SIZE: u32 = 16 << 10;
/// Slot room beyond the MTU: the kernel puts the MAC header at offset 66 (tpacket2_hdr
/// and sockaddr_ll aligned to 16, then the network header aligned to 16), plus Ethernet
/// and two in-band VLAN tags (22): 1500 bytes of MTU take a 1600-byte slot.
const FRAME_OVERHEAD: u32 = 88;
/// Largest packet the copy path reads whole (a 64 KiB GSO frame plus headers; BIG TCP
/// aggregates beyond it are cut and counted).
const COPY_BUF: usize = 128 << 10;
/// Receive queue for the copy path; `SO_RCVBUFFORCE` (CAP_NET_ADMIN), else capped by
/// `net.core.rmem_max`.
const COPY_QUEUE_BYTES: libc::c_int = 8 << 20;

impl PacketRing {
    /// Opens a ring on `iface` (in the caller's network namespace) with `filter` attached.
    ///
    /// # Errors
    /// Unknown interface, missing CAP_NET_RAW, a geometry the kernel refuses, or mmap failure.
    pub fn open(iface: &str, capture: &CaptureConfig, filter: &SocketFilter) -> Result<PacketRing> {
        let config = Geometry {
            version: capture.ring_version,
            block_size: capture.ring_block_size,
            blocks: capture.ring_blocks,
        };
        if !config.block_size.is_power_of_two() || config.block_size < MAX_FRAME_SIZE {
            bail!(
                "capture block size {} must be a power of two >= {MAX_FRAME_SIZE}",
                config.block_size
            );
        }
        let ifindex = crate::kernel::loader::ifindex(iface)?;
        // Protocol 0: receive nothing until bind, so no packet skips the filter.
        // SAFETY: plain socket(2).
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("socket(AF_PACKET)");
        }
        // SAFETY: fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let (frame_size, slots) = match config.version {
            RingVersion::V2 => {
                let frame_size = v2_frame_size(interface_mtu(&fd, iface)?);
                setsockopt(
                    &fd,
                    libc::SOL_PACKET,
                    libc::PACKET_VERSION,
                    &(libc::tpacket_versions::TPACKET_V2 as libc::c_int),
                )
                .context("PACKET_VERSION TPACKET_V2")?;
                setsockopt(
                    &fd,
                    libc::SOL_PACKET,
                    libc::PACKET_COPY_THRESH,
                    &1 as &libc::c_int,
                )
                .context("PACKET_COPY_THRESH")?;
                setsockopt(
                    &fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUFFORCE,
                    &COPY_QUEUE_BYTES,
                )
                .or_else(|_| setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &COPY_QUEUE_BYTES))
                .context("SO_RCVBUF for the copy path")?;
                let frames = config.block_size / frame_size * config.blocks;
                let req = libc::tpacket_req {
                    tp_block_size: config.block_size,
                    tp_block_nr: config.blocks,
                    tp_frame_size: frame_size,
                    tp_frame_nr: frames,
                };
                setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
                    .context("PACKET_RX_RING")?;
                (frame_size, frames)
            }
            RingVersion::V3 => {
                setsockopt(
                    &fd,
                    libc::SOL_PACKET,
                    libc::PACKET_VERSION,
                    &(libc::tpacket_versions::TPACKET_V3 as libc::c_int),
                )
                .context("PACKET_VERSION TPACKET_V3")?;
                let req = libc::tpacket_req3 {
                    tp_block_size: config.block_size,
                    tp_block_nr: config.blocks,
                    tp_frame_size: MIN_FRAME_SIZE,
                    tp_frame_nr: config.block_size / MIN_FRAME_SIZE * config.blocks,
                    tp_retire_blk_tov: capture
                        .ring_block_timeout
                        .as_millis()
                        .clamp(1, u32::MAX as u128) as u32,
                    tp_sizeof_priv: 0,
                    tp_feature_req_word: 0,
                };
                setsockopt(&fd, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
                    .context("PACKET_RX_RING")?;
                (MIN_FRAME_SIZE, config.blocks)
            }
        };
        let len = config.block_size as usize * config.blocks as usize;
        // SAFETY: mapping the ring the kernel just allocated for this fd.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(io::Error::last_os_error()).context("mmap of the capture ring");
        }
        let ring = PacketRing {
            fd,
            map: NonNull::new(map.cast()).expect("mmap returned non-null"),
            config,
            frame_size,
            slots,
            per_block: config.block_size / frame_size,
            next: 0,
            stats: RingStats::default(),
            copy_buf: match config.version {
                RingVersion::V2 => vec![0; COPY_BUF],
                RingVersion::V3 => Vec::new(),
            },
        };
        filter
            .attach(ring.fd.as_fd())
            .context("attaching the capture socket filter")?;
        // SAFETY: zeroed sockaddr_ll is valid; fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: valid sockaddr_ll of the given size.
        let rc = unsafe {
            libc::bind(
                ring.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("binding capture to {iface}"));
        }
        Ok(ring)
    }

    /// Hands every frame the kernel has filled to `f` (frame bytes from the MAC header,
    /// capture time since the epoch), in arrival order; returns how many frames were seen.
    pub fn drain(&mut self, f: impl FnMut(&[u8], Duration)) -> usize {
        match self.config.version {
            RingVersion::V2 => self.drain_frames(f),
            RingVersion::V3 => self.drain_blocks(f),
        }
    }

    fn drain_frames(&mut self, mut f: impl FnMut(&[u8], Duration)) -> usize {
        let mut frames = 0;
        loop {
            let slot = self.frame(self.next);
            // SAFETY: slot points at a tpacket2_hdr inside the mapping; its first field is
            // the status word the kernel and we hand the slot over with.
            let status = unsafe { AtomicU32::from_ptr(slot.cast::<u32>()) };
            let st = status.load(Ordering::Acquire);
            if st & libc::TP_STATUS_USER == 0 {
                return frames;
            }
            // SAFETY: the kernel handed this slot to us (TP_STATUS_USER); it stays ours until
            // we write TP_STATUS_KERNEL back. tp_mac + tp_snaplen fit the slot by the
            // kernel's own check; verified anyway.
            unsafe {
                let hdr = &*(slot as *const libc::tpacket2_hdr);
                let at = Duration::new(hdr.tp_sec.into(), hdr.tp_nsec);
                let (start, len) = (hdr.tp_mac as usize, hdr.tp_snaplen as usize);
                let whole = st & libc::TP_STATUS_COPY != 0 && self.recv_copy(hdr.tp_len);
                if whole {
                    f(&self.copy_buf[..hdr.tp_len as usize], at);
                    frames += 1;
                } else if start + len <= self.frame_size as usize {
                    if len < hdr.tp_len as usize {
                        self.stats.truncated += 1;
                    }
                    f(std::slice::from_raw_parts(slot.add(start), len), at);
                    frames += 1;
                }
            }
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.advance();
        }
    }

    /// Reads the whole copy of a slot's packet (`len` bytes on the wire) from the receive
    /// queue into `copy_buf`; false when it is not there or does not fit.
    fn recv_copy(&mut self, len: u32) -> bool {
        // SAFETY: copy_buf is a writable buffer of its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.copy_buf.as_mut_ptr().cast(),
                self.copy_buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        if n < 0 || n as usize > self.copy_buf.len() || n as u32 != len {
            return false;
        }
        self.stats.copied += 1;
        true
    }

    fn drain_blocks(&mut self, mut f: impl FnMut(&[u8], Duration)) -> usize {
        let mut frames = 0;
        loop {
            let block = self.block(self.next);
            // SAFETY: block points at a tpacket_block_desc inside the mapping.
            let status = unsafe { block_status(block) };
            if status.load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                return frames;
            }
            // SAFETY: the kernel handed this block to us (TP_STATUS_USER); it stays ours
            // until we write TP_STATUS_KERNEL back.
            unsafe {
                let desc = &*(block as *const libc::tpacket_block_desc);
                let bh = &desc.hdr.bh1;
                let mut offset = bh.offset_to_first_pkt as usize;
                for _ in 0..bh.num_pkts {
                    if offset + size_of::<libc::tpacket3_hdr>() > self.config.block_size as usize {
                        break;
                    }
                    let hdr = &*(block.add(offset) as *const libc::tpacket3_hdr);
                    let start = offset + hdr.tp_mac as usize;
                    let end = start + hdr.tp_snaplen as usize;
                    if end <= self.config.block_size as usize {
                        let data = std::slice::from_raw_parts(block.add(start), end - start);
                        f(data, Duration::new(hdr.tp_sec.into(), hdr.tp_nsec));
                        frames += 1;
                    }
                    if hdr.tp_next_offset == 0 {
                        break;
                    }
                    offset += hdr.tp_next_offset as usize;
                }
            }
            status.store(libc::TP_STATUS_KERNEL, Ordering::Release);
            self.advance();
        }
    }

    /// Reads and clears the socket's pending error (`SO_ERROR`): `ENETDOWN` once the
    /// interface went down or away, which otherwise makes every poll return at once.
    pub fn take_error(&self) -> Option<io::Error> {
        let mut err: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt on our socket with a correctly sized int.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&raw mut err).cast(),
                &mut len,
            )
        };
        (rc == 0 && err != 0).then(|| io::Error::from_raw_os_error(err))
    }

    /// Kernel packet and drop counters, accumulated (the kernel resets them on each read).
    pub fn stats(&mut self) -> RingStats {
        // SAFETY: zeroed tpacket_stats_v3 is a valid out-parameter.
        let mut st: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: valid pointers and length.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            self.stats.packets += u64::from(st.tp_packets);
            self.stats.drops += u64::from(st.tp_drops);
        }
        self.stats
    }

    /// Moves to the next slot, wrapping at the end of the ring.
    fn advance(&mut self) {
        self.next += 1;
        if self.next == self.slots {
            self.next = 0;
        }
    }

    /// V2 slot `index`: slots never straddle blocks, so a block's tail may be unused.
    fn frame(&self, index: u32) -> *mut u8 {
        let offset = (index / self.per_block) as usize * self.config.block_size as usize
            + (index % self.per_block) as usize * self.frame_size as usize;
        // SAFETY: index < slots, so the offset stays inside the mapping.
        unsafe { self.map.as_ptr().add(offset) }
    }

    fn block(&self, index: u32) -> *mut u8 {
        // SAFETY: index < blocks, so the offset stays inside the mapping.
        unsafe {
            self.map
                .as_ptr()
                .add(index as usize * self.config.block_size as usize)
        }
    }
}

impl AsFd for PacketRing {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for PacketRing {
    fn drop(&mut self) {
        let len = self.config.block_size as usize * self.config.blocks as usize;
        // SAFETY: unmapping exactly what open() mapped.
        unsafe { libc::munmap(self.map.as_ptr().cast(), len) };
    }
}

/// The block's status word, shared with the kernel.
///
/// # Safety
/// `block` must point at a `tpacket_block_desc` in the ring.
unsafe fn block_status<'a>(block: *mut u8) -> &'a AtomicU32 {
    let desc = block as *mut libc::tpacket_block_desc;
    // SAFETY: block_status is a naturally aligned u32 the kernel also accesses atomically.
    unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*desc).hdr.bh1.block_status)) }
}

/// V2 slot size for an interface MTU: the frame plus slot header, in 16-byte units
/// (TPACKET_ALIGNMENT), between [`MIN_FRAME_SIZE`] and [`MAX_FRAME_SIZE`].
fn v2_frame_size(mtu: u32) -> u32 {
    (mtu.saturating_add(FRAME_OVERHEAD).div_ceil(16) * 16).clamp(MIN_FRAME_SIZE, MAX_FRAME_SIZE)
}

/// The interface's MTU (SIOCGIFMTU on any socket of the caller's namespace).
fn interface_mtu(fd: &OwnedFd, iface: &str) -> Result<u32> {
    // SAFETY: zeroed ifreq is valid; the name is copied in below, NUL-terminated.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if iface.len() >= req.ifr_name.len() {
        bail!("interface name {iface:?} too long");
    }
    for (d, s) in req.ifr_name.iter_mut().zip(iface.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: SIOCGIFMTU reads ifr_name and writes ifr_mtu of a valid ifreq. (The request
    // number is an int on musl, an unsigned long on glibc.)
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFMTU as _, &mut req) };
    if rc != 0 {
        return Err(io::Error::last_os_error()).with_context(|| format!("MTU of {iface}"));
    }
    // SAFETY: SIOCGIFMTU filled the ifru_mtu member.
    Ok(unsafe { req.ifr_ifru.ifru_mtu }.max(0) as u32)
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points at a T of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
