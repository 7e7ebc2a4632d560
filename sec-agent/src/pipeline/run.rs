//! The inspection thread's loop: drains the capture rings into the [`Pipeline`], applies
//! reloaded configs, runs the housekeeping tick, and copes with interfaces that disappear.
//!
//! A ring whose interface is deleted (its network namespace removed, a veth or VLAN
//! deleted) reports an error on every poll; kept, it would make the loop spin. So a ring
//! that reports one is checked against the interface list: if its interface is gone, the
//! ring is dropped, the loss is logged once and counted, and the daemon is told (it frees
//! the attachment record and re-attaches when an interface of that name comes back,
//! handing a new ring over [`Rings::add`]). A ring whose interface only went down keeps
//! its socket: the kernel resumes it when the link comes up.

use std::{
    os::fd::{AsFd as _, AsRawFd as _},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use super::Pipeline;
use crate::{
    config::Config,
    inspect::decide::Enforcer,
    kernel::{
        capture::{PacketRing, RingStats},
        loader,
    },
    service::report::Event,
};

/// Frames in one drain from which the rings count as busy (see [`run`]).
const MODERATION_BATCH: usize = 16;
/// Pause before the next drain of busy rings: at most this much latency added under load,
/// against a poll and a wake-up per frame.
const MODERATION_PAUSE: Duration = Duration::from_micros(100);

/// Whether an interface's capture runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterfaceState {
    /// Attached and capturing.
    Up,
    /// Deleted under the agent; waiting for an interface of that name.
    Gone,
}

impl InterfaceState {
    /// Name in `sec-agent status`.
    pub fn name(self) -> &'static str {
        match self {
            InterfaceState::Up => "up",
            InterfaceState::Gone => "gone",
        }
    }
}

struct Ring {
    iface: String,
    ifindex: u32,
    ring: PacketRing,
    seen: RingStats,
}

/// The rings the loop drains, and the channels that change them while it runs.
pub struct Rings {
    rings: Vec<Ring>,
    /// New rings for interfaces that came back: `(iface, ifindex, ring)`.
    add: mpsc::Receiver<(String, u32, PacketRing)>,
    /// Where the loss of an interface is reported (its name and former index).
    lost: mpsc::Sender<(String, u32)>,
}

impl Rings {
    /// Rings for `(iface, ifindex, ring)`; new ones arrive on `add`, losses leave on
    /// `lost`.
    pub fn new(
        rings: Vec<(String, u32, PacketRing)>,
        add: mpsc::Receiver<(String, u32, PacketRing)>,
        lost: mpsc::Sender<(String, u32)>,
    ) -> Rings {
        Rings {
            rings: rings
                .into_iter()
                .map(|(iface, ifindex, ring)| Ring {
                    iface,
                    ifindex,
                    ring,
                    seen: RingStats::default(),
                })
                .collect(),
            add,
            lost,
        }
    }

    fn pollfds(&self) -> Vec<libc::pollfd> {
        self.rings
            .iter()
            .map(|r| libc::pollfd {
                fd: r.ring.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect()
    }

    /// Takes in the rings the daemon handed over; returns whether any came.
    fn take_new(&mut self) -> bool {
        let mut any = false;
        while let Ok((iface, ifindex, ring)) = self.add.try_recv() {
            tracing::info!(%iface, ifindex, "capturing again");
            self.rings.push(Ring {
                iface,
                ifindex,
                ring,
                seen: RingStats::default(),
            });
            any = true;
        }
        any
    }

    /// Drops the rings whose interface is gone (`check` all, or those whose poll
    /// reported an error); returns whether any was dropped.
    fn drop_lost(&mut self, fds: &[libc::pollfd], check_all: bool) -> bool {
        let before = self.rings.len();
        let mut i = 0;
        self.rings.retain(|r| {
            let errored = fds
                .get(i)
                .is_some_and(|p| p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0);
            i += 1;
            if !errored && !check_all {
                return true;
            }
            if errored {
                // Reading SO_ERROR clears it (ENETDOWN after a link went down).
                let _ = r.ring.take_error();
            }
            if loader::ifindex(&r.iface).ok() == Some(r.ifindex) {
                return true;
            }
            tracing::warn!(iface = %r.iface, ifindex = r.ifindex, "interface is gone: capture on it stopped; it is attached again when an interface of that name appears");
            let _ = self.lost.send((r.iface.clone(), r.ifindex));
            false
        });
        self.rings.len() != before
    }
}

/// Runs `pipeline` on `rings` until `stop` is set, applying configs that arrive on
/// `reload`.
pub fn run<E: Enforcer>(
    mut rings: Rings,
    mut pipeline: Pipeline<E>,
    reload: mpsc::Receiver<Config>,
    stop: Arc<AtomicBool>,
) {
    let mut fds = rings.pollfds();
    let mut last_tick = Instant::now();
    // Timer slack bounds how late the moderation sleep below wakes (default 50 us).
    // SAFETY: prctl with integer arguments, for this thread only.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 10_000, 0, 0, 0) };
    while !stop.load(Ordering::Relaxed) {
        let mut frames = 0;
        for r in &mut rings.rings {
            frames += r
                .ring
                .drain(|frame, _| pipeline.on_frame(frame, Instant::now()));
        }
        // Wake-up moderation, as NAPI does in the kernel: a ring that yields a batch is
        // busy, so let the next batch gather for a moment instead of waking per frame
        // (TPACKET_V2 signals every frame). An idle ring is polled and wakes the thread
        // on its first frame, which keeps a lone attack's ban latency low. With no ring
        // left, poll just sleeps.
        let mut changed = false;
        if frames >= MODERATION_BATCH {
            thread::sleep(MODERATION_PAUSE);
        } else {
            for p in &mut fds {
                p.revents = 0;
            }
            // SAFETY: fds is a valid array of pollfd (a null pointer with length 0 is
            // allowed and only sleeps).
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 100) };
            if n > 0 {
                changed |= rings.drop_lost(&fds, false);
            }
        }
        while let Ok(config) = reload.try_recv() {
            match pipeline.reconfigure(&config) {
                Ok(()) => tracing::info!("inspection reconfigured"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "inspection reconfiguration failed; keeping the previous settings")
                }
            }
        }
        let now = Instant::now();
        if now.duration_since(last_tick) >= Duration::from_secs(1) {
            pipeline.tick(now);
            changed |= rings.drop_lost(&[], true);
            for r in &mut rings.rings {
                let stats = r.ring.stats();
                pipeline.reporter.emit(Event::RingCounters {
                    iface: &r.iface,
                    drops: stats.drops - r.seen.drops,
                    truncated: stats.truncated - r.seen.truncated,
                });
                r.seen = stats;
            }
            last_tick = now;
        }
        changed |= rings.take_new();
        if changed {
            fds = rings.pollfds();
        }
    }
    tracing::info!(reassembly = ?pipeline.reassembly_stats(), "inspection stopped");
}
