//! The boot-time clock shared with the kernel: ban expiries are absolute ns on it.

use std::time::Duration;

/// Nanoseconds since boot on `CLOCK_BOOTTIME`, the clock `bpf_ktime_get_boot_ns()` reads.
/// It keeps counting during suspend, so a TTL is wall time, not CPU-awake time.
pub fn boot_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_BOOTTIME exists on every supported kernel.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_BOOTTIME) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Absolute boot-time expiry for a TTL from now; `None` (permanent) maps to `0`.
pub fn expiry_after(ttl: Option<Duration>) -> u64 {
    match ttl {
        None => 0,
        Some(ttl) => boot_ns().saturating_add(ttl.as_nanos().min(u64::MAX as u128) as u64),
    }
}

/// Time left until boot-time `expires_ns` (`None` = permanent, zero = already expired).
pub fn remaining(expires_ns: u64) -> Option<Duration> {
    (expires_ns != 0).then(|| Duration::from_nanos(expires_ns.saturating_sub(boot_ns())))
}
