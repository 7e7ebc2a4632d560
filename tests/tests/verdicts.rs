//! Verdict unit tests: the real XDP program run by the kernel on crafted frames through
//! BPF_PROG_TEST_RUN (aya `TestRun`), with the verdict counters read back from the maps.

use std::collections::HashMap;

use aya::programs::{TestRun, TestRunOptions, Xdp};
use sec_agent::{
    XDP_PROGRAM,
    clock::boot_ns,
    config::{Config, rate_config},
    kernel::loader::{self, Loaded},
    net::{PortSpec, Target},
};
use sec_agent_common::{BanEntry, BanReason, PORT_TCP, Verdict};
use sec_agent_tests::{frames::*, kernel_test, lab::Bpffs};

const BANNED_V4: [u8; 4] = [198, 51, 100, 7];
const CLEAN_V4: [u8; 4] = [198, 51, 100, 8];
const ALLOWED_V4: [u8; 4] = [198, 51, 100, 9];
/// Allowlisted and matched by no rule.
const ALLOWED_ONLY_V4: [u8; 4] = [198, 51, 100, 11];
/// Allowlisted inside the range-banned 2001:db8:0:1::/64.
fn allowed_in_range() -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..8].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
    a[15] = 0x05;
    a
}

/// The program loaded with small maps in a private bpffs, with the rules every case uses:
/// BANNED_V4 and 2001:db8::7 banned, 2001:db8:0:1::/64 range-banned, ALLOWED_V4 allowlisted
/// and banned, ALLOWED_ONLY_V4 and `allowed_in_range()` allowlisted, TCP port 22 restricted.
struct Harness {
    loaded: Loaded,
    expected: HashMap<Verdict, u64>,
    _bpffs: Bpffs,
}

impl Harness {
    fn new() -> Harness {
        let bpffs = Bpffs::unique();
        let pin = bpffs.dir.join("sec-agent");
        sec_agent::kernel::bpffs::ensure_pin_dir(&pin).unwrap();
        let mut config = Config::default();
        config.maps.rate_limit = 1024;
        config.maps.ban_v4 = 1024;
        config.maps.ban_v6 = 1024;
        let mut loaded = loader::load(&config, &pin).expect("load XDP program");
        let permanent = BanEntry {
            expires_ns: 0,
            reason: BanReason::Manual.code(),
            _pad: 0,
        };
        let maps = &mut loaded.maps;
        for a in [
            ALLOWED_V4.into(),
            ALLOWED_ONLY_V4.into(),
            allowed_in_range().into(),
        ] {
            maps.allow(Target::Addr(a).net()).unwrap();
        }
        for t in [
            Target::Addr(BANNED_V4.into()),
            Target::Addr(ALLOWED_V4.into()),
            Target::Addr(v6(7).into()),
            "2001:db8:0:1::/64".parse().unwrap(),
        ] {
            maps.ban(t, permanent, None, true).unwrap();
        }
        maps.restrict(PortSpec {
            port: 22,
            protocols: PORT_TCP,
        })
        .unwrap();
        Harness {
            loaded,
            expected: HashMap::new(),
            _bpffs: bpffs,
        }
    }

    /// Runs one frame; asserts the XDP action and remembers the verdict for [`Self::check_counters`].
    fn expect(&mut self, name: &str, frame: &[u8], verdict: Verdict) {
        let program: &mut Xdp = self
            .loaded
            .ebpf
            .program_mut(XDP_PROGRAM)
            .unwrap()
            .try_into()
            .unwrap();
        let mut opts = TestRunOptions::new();
        opts.data_in = Some(frame);
        let result = program.test_run(opts).expect("BPF_PROG_TEST_RUN");
        let action = if verdict.is_drop() {
            XDP_DROP
        } else {
            XDP_PASS
        };
        assert_eq!(
            result.return_value,
            action,
            "{name}: expected {} ({action})",
            verdict.name()
        );
        *self.expected.entry(verdict).or_default() += 1;
    }

    /// Every verdict counter equals the number of frames given that verdict.
    fn check_counters(&self) {
        for (verdict, counter) in self.loaded.maps.stats().unwrap() {
            assert_eq!(
                counter.packets,
                self.expected.get(&verdict).copied().unwrap_or(0),
                "counter {}",
                verdict.name()
            );
        }
    }
}

kernel_test!(vlan_tags_are_walked, {
    let mut h = Harness::new();
    let banned = ipv4(BANNED_V4, UDP, &[], 0, &l4(53));
    let clean = ipv4(CLEAN_V4, UDP, &[], 0, &l4(53));
    h.expect(
        "untagged banned",
        &eth(&[], ETH_P_IP, &banned),
        Verdict::DropBanned,
    );
    h.expect(
        "802.1Q banned",
        &eth(&[ETH_P_8021Q], ETH_P_IP, &banned),
        Verdict::DropBanned,
    );
    h.expect(
        "QinQ banned",
        &eth(&[ETH_P_8021AD, ETH_P_8021Q], ETH_P_IP, &banned),
        Verdict::DropBanned,
    );
    h.expect(
        "802.1Q clean",
        &eth(&[ETH_P_8021Q], ETH_P_IP, &clean),
        Verdict::Pass,
    );
    let banned6 = ipv6(v6(7), &[], UDP, &l4(53));
    h.expect(
        "QinQ IPv6 banned",
        &eth(&[ETH_P_8021AD, ETH_P_8021Q], ETH_P_IPV6, &banned6),
        Verdict::DropBanned,
    );
    // A third tag is beyond what the program walks: passed as non-IP (fail-open).
    h.expect(
        "three tags",
        &eth(&[ETH_P_8021AD, ETH_P_8021Q, ETH_P_8021Q], ETH_P_IP, &banned),
        Verdict::PassNonIp,
    );
    h.check_counters();
});

kernel_test!(ipv4_options_and_fragments_find_the_right_port, {
    let mut h = Harness::new();
    // 12 bytes of options whose bytes 2..4 read as port 80: a parser ignoring IHL would
    // see port 80 (unrestricted) instead of the real TCP port 22 behind the options.
    let options = [
        0x01, 0x01, 0x00, 0x50, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00,
    ];
    let with_options = ipv4(CLEAN_V4, TCP, &options, 0, &l4(22));
    h.expect(
        "IHL 8 to restricted TCP 22",
        &eth(&[], ETH_P_IP, &with_options),
        Verdict::DropRestrictedPort,
    );
    let other_port = ipv4(CLEAN_V4, TCP, &options, 0, &l4(2222));
    h.expect(
        "IHL 8 to TCP 2222",
        &eth(&[], ETH_P_IP, &other_port),
        Verdict::Pass,
    );
    // Restriction is per protocol: UDP 22 passes.
    let udp22 = ipv4(CLEAN_V4, UDP, &[], 0, &l4(22));
    h.expect("UDP 22", &eth(&[], ETH_P_IP, &udp22), Verdict::Pass);
    // A non-first fragment has no L4 header: its bytes are not a port.
    let fragment = ipv4(CLEAN_V4, TCP, &[], 185, &l4(22));
    h.expect(
        "non-first fragment",
        &eth(&[], ETH_P_IP, &fragment),
        Verdict::Pass,
    );
    // The allowlist reaches restricted ports, and beats its own ban.
    let allowed = ipv4(ALLOWED_V4, TCP, &[], 0, &l4(22));
    h.expect(
        "allowlisted to TCP 22",
        &eth(&[], ETH_P_IP, &allowed),
        Verdict::PassAllowlist,
    );
    // It is consulted only when a rule would drop: a source no rule matches is a plain
    // pass, and `pass_allowlist` counts only the packets the allowlist saved.
    let allowed_only = ipv4(ALLOWED_ONLY_V4, UDP, &[], 0, &l4(53));
    h.expect(
        "allowlisted, no rule",
        &eth(&[], ETH_P_IP, &allowed_only),
        Verdict::Pass,
    );
    h.check_counters();
});

kernel_test!(ipv6_extension_headers_ranges_and_expiry, {
    let mut h = Harness::new();
    let exts = vec![(0u8, ipv6_opts(1)), (60u8, ipv6_opts(0))];
    let restricted = ipv6(v6(8), &exts, TCP, &l4(22));
    h.expect(
        "hop-by-hop + dest opts to TCP 22",
        &eth(&[], ETH_P_IPV6, &restricted),
        Verdict::DropRestrictedPort,
    );
    let frag = ipv6(v6(8), &[(44u8, ipv6_frag(100))], TCP, &l4(22));
    h.expect(
        "non-first IPv6 fragment",
        &eth(&[], ETH_P_IPV6, &frag),
        Verdict::Pass,
    );
    let first_frag = ipv6(v6(8), &[(44u8, ipv6_frag(0))], TCP, &l4(22));
    h.expect(
        "first IPv6 fragment to TCP 22",
        &eth(&[], ETH_P_IPV6, &first_frag),
        Verdict::DropRestrictedPort,
    );
    h.expect(
        "allowlisted inside a banned range",
        &eth(
            &[],
            ETH_P_IPV6,
            &ipv6(allowed_in_range(), &[], UDP, &l4(53)),
        ),
        Verdict::PassAllowlist,
    );
    let mut in_range = [0u8; 16];
    in_range[..8].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1]);
    in_range[15] = 0x99;
    h.expect(
        "inside 2001:db8:0:1::/64",
        &eth(&[], ETH_P_IPV6, &ipv6(in_range, &[], UDP, &l4(53))),
        Verdict::DropRange,
    );
    h.expect(
        "exact IPv6 ban",
        &eth(&[], ETH_P_IPV6, &ipv6(v6(7), &[], UDP, &l4(53))),
        Verdict::DropBanned,
    );

    // An expired entry passes even before the sweeper removes it.
    let expired = BanEntry {
        expires_ns: boot_ns() - 1,
        reason: BanReason::Manual.code(),
        _pad: 0,
    };
    h.loaded
        .maps
        .ban(Target::Addr(CLEAN_V4.into()), expired, None, false)
        .unwrap();
    let clean = ipv4(CLEAN_V4, UDP, &[], 0, &l4(53));
    h.expect(
        "expired exact ban",
        &eth(&[], ETH_P_IP, &clean),
        Verdict::Pass,
    );
    let live = BanEntry {
        expires_ns: boot_ns() + 60_000_000_000,
        ..expired
    };
    h.loaded
        .maps
        .ban(Target::Addr(CLEAN_V4.into()), live, None, false)
        .unwrap();
    h.expect(
        "unexpired exact ban",
        &eth(&[], ETH_P_IP, &clean),
        Verdict::DropBanned,
    );
    h.check_counters();
});

kernel_test!(malformed_and_non_ip_frames_pass_and_are_counted, {
    let mut h = Harness::new();
    let banned = ipv4(BANNED_V4, UDP, &[], 0, &l4(53));
    h.expect("ARP", &eth(&[], ETH_P_ARP, &[0u8; 28]), Verdict::PassNonIp);
    h.expect(
        "Ethernet header only",
        &eth(&[], ETH_P_IP, &[]),
        Verdict::PassMalformed,
    );
    h.expect(
        "IPv4 cut at 10 bytes",
        &eth(&[], ETH_P_IP, &banned[..10]),
        Verdict::PassMalformed,
    );
    let mut bad_ihl = banned.clone();
    bad_ihl[0] = 0x44;
    h.expect(
        "IHL 4",
        &eth(&[], ETH_P_IP, &bad_ihl),
        Verdict::PassMalformed,
    );
    let mut bad_version = banned.clone();
    bad_version[0] = 0x65;
    h.expect(
        "version 6 in IPv4",
        &eth(&[], ETH_P_IP, &bad_version),
        Verdict::PassMalformed,
    );
    h.expect(
        "VLAN tag cut short",
        &eth(&[], ETH_P_8021Q, &[0, 100]),
        Verdict::PassMalformed,
    );
    let v6 = ipv6(v6(7), &[], UDP, &l4(53));
    h.expect(
        "IPv6 cut at 30 bytes",
        &eth(&[], ETH_P_IPV6, &v6[..30]),
        Verdict::PassMalformed,
    );
    // A truncated transport header still has a source: the ban applies.
    h.expect(
        "banned source, UDP header cut",
        &eth(&[], ETH_P_IP, &banned[..22]),
        Verdict::DropBanned,
    );
    h.check_counters();
});

kernel_test!(rate_limit_bucket_in_test_run, {
    let mut h = Harness::new();
    // 1 packet per second after a burst of 5: back-to-back frames beyond 5 are dropped
    // (a test run takes microseconds, far less than the 1 s refill of one token).
    h.loaded
        .maps
        .set_rate(rate_config(1, 5, 32, 64).unwrap())
        .unwrap();
    let frame = eth(&[], ETH_P_IP, &ipv4(CLEAN_V4, UDP, &[], 0, &l4(53)));
    for i in 0..5 {
        h.expect(&format!("burst {i}"), &frame, Verdict::Pass);
    }
    h.expect("over burst", &frame, Verdict::DropRatelimit);
    h.expect("over burst again", &frame, Verdict::DropRatelimit);
    // Another source has its own bucket; allowlisted sources are never limited.
    let other = eth(
        &[],
        ETH_P_IP,
        &ipv4([198, 51, 100, 10], UDP, &[], 0, &l4(53)),
    );
    h.expect("other source", &other, Verdict::Pass);
    let allowed = eth(&[], ETH_P_IP, &ipv4(ALLOWED_V4, UDP, &[], 0, &l4(53)));
    for _ in 0..8 {
        h.expect("allowlisted", &allowed, Verdict::PassAllowlist);
    }
    h.check_counters();
});
