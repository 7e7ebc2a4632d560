/// Why the XDP program passed or dropped a frame: the index into the per-CPU `stats` array.
///
/// The first match in the verdict order wins: allowlist, restricted port, exact ban,
/// range ban, rate limit, pass. Frames the program cannot parse pass (fail-open).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// IPv4/IPv6 that matched no rule.
    Pass = 0,
    /// Source in the allowlist, passed although a rule would have dropped or rate-limited
    /// it (the allowlist is consulted only then).
    PassAllowlist = 1,
    /// TCP/UDP to a restricted destination port from a source not in the allowlist.
    DropRestrictedPort = 2,
    /// Source in the exact-ban map with an unexpired entry.
    DropBanned = 3,
    /// Source inside a banned CIDR range with an unexpired entry.
    DropRange = 4,
    /// Source's token bucket was empty.
    DropRatelimit = 5,
    /// Not IPv4 or IPv6 (ARP, LLDP, ...).
    PassNonIp = 6,
    /// Truncated or malformed L2/L3 header: passes (fail-open), the stack will judge it.
    PassMalformed = 7,
}

impl Verdict {
    /// Number of verdicts: the length of the `stats` array.
    pub const COUNT: u32 = 8;

    /// Every verdict, in index order.
    pub const ALL: [Verdict; Self::COUNT as usize] = [
        Verdict::Pass,
        Verdict::PassAllowlist,
        Verdict::DropRestrictedPort,
        Verdict::DropBanned,
        Verdict::DropRange,
        Verdict::DropRatelimit,
        Verdict::PassNonIp,
        Verdict::PassMalformed,
    ];

    /// Whether the frame is dropped (`XDP_DROP`) rather than passed (`XDP_PASS`).
    #[inline(always)]
    pub const fn is_drop(self) -> bool {
        matches!(
            self,
            Verdict::DropRestrictedPort
                | Verdict::DropBanned
                | Verdict::DropRange
                | Verdict::DropRatelimit
        )
    }

    /// Stable snake_case name, used in CLI output, JSON and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::PassAllowlist => "pass_allowlist",
            Verdict::DropRestrictedPort => "drop_restricted_port",
            Verdict::DropBanned => "drop_banned",
            Verdict::DropRange => "drop_range",
            Verdict::DropRatelimit => "drop_ratelimit",
            Verdict::PassNonIp => "pass_non_ip",
            Verdict::PassMalformed => "pass_malformed",
        }
    }
}
