//! The daemon's timers: expired bans swept out of the maps, the maps reconciled with the
//! desired state, and the gauges read from the kernel before a scrape.

use super::Daemon;
use crate::service::{
    report::{Event, UnbanCause},
    state::origin_name,
};

impl Daemon {
    /// Removes expired bans and reports each (every `[xdp] sweep_interval`).
    pub(super) fn sweep(&self) {
        match self.store.sweep() {
            Ok(expired) => {
                for (target, ban) in expired {
                    self.reporter.emit(Event::Unban {
                        target,
                        origin: Some(ban.reason),
                        cause: UnbanCause::Expired,
                    });
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "sweeping expired bans failed"),
        }
    }

    /// Makes the maps match the desired state (every `[state] reconcile_interval`).
    pub(super) fn reconcile(&self) {
        match self.store.reconcile() {
            Ok(r) => {
                self.reporter.emit(Event::Reconciled(r));
                if r.total() > 0 {
                    tracing::warn!(
                        missing = r.missing,
                        extra = r.extra,
                        stale = r.stale,
                        "kernel maps drifted from the desired state; repaired"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "reconciliation failed"),
        }
        self.refresh_fill();
    }

    /// Map fill ratios (counting 10^6 entries is too slow for every scrape).
    pub(super) fn refresh_fill(&self) {
        let m = self.reporter.metrics();
        if let Ok(fill) = self.store.with_maps(|m| m.fill()) {
            for f in fill {
                m.map_fill
                    .with_label_values(&[f.name])
                    .set(f.entries as f64 / f64::from(f.capacity.max(1)));
            }
        }
    }

    /// Reads the kernel counters and ban totals into the metrics (before each scrape).
    pub fn refresh_metrics(&self) {
        let m = self.reporter.metrics();
        if let Ok(stats) = self.store.with_maps(|maps| maps.stats()) {
            m.set_xdp(&stats);
        }
        m.bans_active.reset();
        for (reason, n) in self.store.bans_by_reason() {
            m.bans_active
                .with_label_values(&[&origin_name(reason)])
                .set(n as i64);
        }
    }
}
