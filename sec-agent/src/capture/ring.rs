//! An AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring (the kernel's
//! high-rate capture path, `Documentation/networking/packet_mmap.rst`), bound to one
//! interface, with the `sec_agent_capture` socket filter attached before the bind so that
//! no unfiltered packet ever enters the ring.
//!
//! The ring is `blocks` blocks of `block_size` bytes. The kernel fills a block with
//! variable-length frames and hands it to user space when it is full or when
//! `block_timeout` has passed since its first frame; user space walks the block and hands
//! it back. When no block is free the kernel drops the packet and counts it
//! (`PACKET_STATISTICS`).

use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd as _, OwnedFd},
    ptr::NonNull,
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use anyhow::{Context as _, Result, bail};
use aya::programs::SocketFilter;

/// Ring geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// Bytes per block: a power of two, a multiple of the page size, larger than the
    /// biggest frame (GSO frames on veth reach 64 KiB).
    pub block_size: u32,
    /// Number of blocks.
    pub blocks: u32,
    /// Longest a partly filled block waits before user space sees it (1 ms granularity).
    pub block_timeout: Duration,
}

impl Default for RingConfig {
    /// 128 blocks of 128 KiB (16 MiB), 1 ms block timeout (see `CaptureSection`).
    fn default() -> Self {
        RingConfig {
            block_size: 128 << 10,
            blocks: 128,
            block_timeout: Duration::from_millis(1),
        }
    }
}

/// Kernel counters of one ring, accumulated since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Packets the filter passed (including dropped ones).
    pub packets: u64,
    /// Packets dropped because the ring was full.
    pub drops: u64,
}

/// One interface's capture socket and ring.
pub struct PacketRing {
    fd: OwnedFd,
    map: NonNull<u8>,
    config: RingConfig,
    next_block: u32,
    stats: RingStats,
}

// SAFETY: the mapping is owned by this struct and only touched through &mut self.
unsafe impl Send for PacketRing {}

const FRAME_SIZE: u32 = 2048;

impl PacketRing {
    /// Opens a ring on `iface` (in the caller's network namespace) with `filter` attached.
    ///
    /// # Errors
    /// Unknown interface, missing CAP_NET_RAW, a geometry the kernel refuses, or mmap failure.
    pub fn open(iface: &str, config: RingConfig, filter: &SocketFilter) -> Result<PacketRing> {
        if !config.block_size.is_power_of_two() || config.block_size < FRAME_SIZE {
            bail!(
                "capture block size {} must be a power of two >= {FRAME_SIZE}",
                config.block_size
            );
        }
        let ifindex = crate::enforce::loader::ifindex(iface)?;
        // Protocol 0: receive nothing until bind, so no packet skips the filter.
        // SAFETY: plain socket(2).
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io::Error::last_os_error()).context("socket(AF_PACKET)");
        }
        // SAFETY: fresh fd we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        setsockopt(
            &fd,
            libc::PACKET_VERSION,
            &(libc::tpacket_versions::TPACKET_V3 as libc::c_int),
        )
        .context("PACKET_VERSION TPACKET_V3")?;
        let req = libc::tpacket_req3 {
            tp_block_size: config.block_size,
            tp_block_nr: config.blocks,
            tp_frame_size: FRAME_SIZE,
            tp_frame_nr: config.block_size / FRAME_SIZE * config.blocks,
            tp_retire_blk_tov: config.block_timeout.as_millis().clamp(1, u32::MAX as u128) as u32,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::PACKET_RX_RING, &req).context("PACKET_RX_RING")?;
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
            next_block: 0,
            stats: RingStats::default(),
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

    /// Hands every frame of every ready block to `f` (frame bytes, capture time as
    /// seconds and nanoseconds since the epoch); returns how many frames were seen.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8], Duration)) -> usize {
        let mut frames = 0;
        loop {
            let block = self.block(self.next_block);
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
            self.next_block = (self.next_block + 1) % self.config.blocks;
        }
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

fn setsockopt<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points at a T of the given size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
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
