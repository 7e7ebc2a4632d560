//! Running it like a production service: metrics scraped over HTTP and linted by promtool,
//! bans that survive SIGKILL and reboots, reconciliation of drift, SIGHUP reloads, the
//! root-only control socket, and the systemd unit.

use std::{
    os::unix::fs::PermissionsExt as _,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

use sec_agent::net::Target;
use sec_agent_common::{BanEntry, BanReason};
use sec_agent_tests::{
    Lab, agent_bin,
    http::{HttpServer, curl},
    json, kernel_test,
    lab::{CLIENT_V4, SERVER_V4},
    poll_until, run, tool_available, wait_until,
};

/// Removes every pin (maps and links), as a reboot would: the program detaches and the maps
/// are freed; only the journal is left.
fn simulate_reboot(lab: &Lab) {
    std::fs::remove_dir_all(&lab.pin_path).expect("remove the pins");
    // The link goes once its last reference does; the kernel frees it a moment later.
    wait_until(
        "the program to detach after the 'reboot'",
        Duration::from_secs(3),
        || lab.server_xdp_progs() == 0,
    );
}

kernel_test!(
    metrics_match_the_traffic_and_pass_promtool,
    needs = ["promtool"],
    {
        let lab = Lab::new();
        let clients = lab.add_clients(1);
        let _agent = lab.start_agent(&[]);
        let _server = HttpServer::start(&lab);
        let attacker = &clients[0].0;
        for _ in 0..5 {
            assert_eq!(curl(&lab, CLIENT_V4, "/", &[]), Some(200));
        }
        curl(&lab, attacker, "/?id=1%27%20OR%20%271%27%3D%271", &[]);
        wait_until("the ban", Duration::from_secs(5), || {
            lab.ban_list()
                .iter()
                .any(|b| b["address"] == attacker.as_str())
        });
        assert_eq!(curl(&lab, attacker, "/", &[]), None);

        let metrics = poll_until(Duration::from_secs(5), || {
            let metrics = lab.metrics().expect("GET /metrics");
            let inspected = metrics.value("sec_agent_http_requests_inspected_total", &[]);
            (inspected == Some(6.0)).then_some(metrics)
        })
        .expect("6 inspected requests within 5 s");
        let m = |name: &str, labels: &[&str]| metrics.value(name, labels);
        assert_eq!(
            m("sec_agent_bans_issued_total", &["detection=\"payload\""]),
            Some(1.0)
        );
        assert_eq!(
            m(
                "sec_agent_detections_total",
                &["class=\"sqli\"", "mode=\"ban\""]
            ),
            Some(1.0)
        );
        assert_eq!(
            m("sec_agent_bans_active", &["origin=\"payload\""]),
            Some(1.0)
        );
        assert!(m("sec_agent_xdp_packets_total", &["verdict=\"drop_banned\""]).unwrap() >= 1.0);
        assert!(
            m("sec_agent_xdp_packets_total", &["verdict=\"pass\""]).unwrap() >= 30.0,
            "5 requests of several packets each"
        );
        // The attack's own response races the ban, which closes its connection at once.
        let responses = m("sec_agent_http_responses_total", &[]).unwrap_or(0.0);
        assert!((5.0..=6.0).contains(&responses), "{responses} responses");
        assert!(m("sec_agent_map_fill_ratio", &["map=\"ban_v4\""]).is_some());
        assert_eq!(m("sec_agent_build_info", &[]), Some(1.0));
        // The kernel counters agree with what `sec-agent stats` reads.
        let stats = json(&lab.cli_ok(&["stats", "--json"]));
        assert!(
            stats["drop_banned"]["packets"].as_f64().unwrap()
                >= m("sec_agent_xdp_packets_total", &["verdict=\"drop_banned\""]).unwrap()
        );

        let file = lab.dir.join("metrics.txt");
        std::fs::write(&file, metrics.text()).unwrap();
        let lint = run(Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::fs::File::open(&file).unwrap()));
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        );
        assert!(
            lint.status.success() && out.trim().is_empty(),
            "promtool: {out}"
        );
    }
);

kernel_test!(
    sigkill_during_a_burst_of_bans_then_reboot_loses_no_acknowledged_ban,
    {
        let lab = Lab::new();
        let agent = lab.start_agent(&[]);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
                let cmd = |addr: &str| lab.cli_cmd(&["ban", "add", addr, "--ttl", "1h"]);
                let cmds: Vec<_> = (0..60)
                    .map(|i| (format!("198.51.{w}.{i}"), cmd(&format!("198.51.{w}.{i}"))))
                    .collect();
                thread::spawn(move || {
                    for (addr, mut c) in cmds {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let out = c.output().expect("run the CLI");
                        // Acknowledged: the agent answered and the CLI said so.
                        if out.status.success() && String::from_utf8_lossy(&out.stderr).is_empty() {
                            acked.lock().unwrap().push(addr);
                        }
                    }
                })
            })
            .collect();
        wait_until("40 acknowledged bans", Duration::from_secs(30), || {
            acked.lock().unwrap().len() >= 40
        });
        agent.kill();
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().unwrap();
        }
        let acked = acked.lock().unwrap().clone();
        simulate_reboot(&lab);
        let _agent = lab.start_agent(&[]);
        let listed: Vec<String> = lab
            .ban_list()
            .iter()
            .map(|b| b["address"].as_str().unwrap().to_string())
            .collect();
        let lost: Vec<_> = acked.iter().filter(|a| !listed.contains(a)).collect();
        assert!(
            lost.is_empty(),
            "{} of {} acknowledged bans lost: {lost:?}",
            lost.len(),
            acked.len()
        );
        println!(
            "{} acknowledged bans before SIGKILL, all restored from the journal",
            acked.len()
        );
    }
);

kernel_test!(a_reboot_restores_unexpired_bans_with_their_remaining_ttl, {
    let lab = Lab::new();
    let agent = lab.start_agent(&[]);
    lab.cli_ok(&["ban", "add", CLIENT_V4, "--ttl", "1h", "--reason", "kept"]);
    lab.cli_ok(&["ban", "add", "203.0.113.0/24"]);
    lab.cli_ok(&["ban", "add", "203.0.114.9", "--ttl", "2s"]);
    lab.cli_ok(&["allow", "add", "192.0.2.0/24"]);
    assert!(agent.stop().success());
    thread::sleep(Duration::from_millis(2500));
    simulate_reboot(&lab);
    let _agent = lab.start_agent(&[]);
    let list = lab.ban_list();
    let find = |a: &str| list.iter().find(|b| b["address"] == a).cloned();
    let kept = find(CLIENT_V4).expect("the 1 h ban is back");
    let left = kept["ttl_remaining_secs"].as_f64().unwrap();
    assert!((3580.0..=3600.0).contains(&left), "remaining TTL {left}");
    assert_eq!(kept["note"], "kept");
    assert_eq!(
        find("203.0.113.0/24").expect("the permanent range is back")["permanent"],
        true
    );
    assert!(
        find("203.0.114.9").is_none(),
        "the expired ban is dropped: {list:?}"
    );
    assert_eq!(lab.cli_ok(&["allow", "list"]).trim(), "192.0.2.0/24");
    assert_eq!(
        lab.ping(SERVER_V4, 2),
        0,
        "the restored ban drops in the kernel"
    );
    let status = json(&lab.cli_ok(&["status", "--json"]));
    assert_eq!(status["agent"]["restored"]["bans"], 2, "{status}");
    assert_eq!(status["agent"]["restored"]["expired"], 1, "{status}");
});

kernel_test!(
    reconciliation_repairs_entries_changed_behind_the_agents_back,
    {
        let lab = Lab::new();
        let config = lab.config("[state]\nreconcile_interval = \"500ms\"\n");
        let _agent = lab.start_agent(&["--config", &config]);
        lab.cli_ok(&["ban", "add", "198.51.100.1", "--ttl", "1h"]);
        lab.cli_ok(&["ban", "add", "198.51.100.2", "--ttl", "1h"]);
        let mut maps = lab.maps();
        let t = |s: &str| s.parse::<Target>().unwrap();
        assert!(
            maps.unban(t("198.51.100.1")).unwrap(),
            "deleted behind its back"
        );
        let stray = BanEntry {
            expires_ns: 0,
            reason: BanReason::Manual.code(),
            _pad: 0,
        };
        maps.ban(t("198.51.100.99"), stray, None, true).unwrap();
        // A re-ban whose expiry never reached the kernel (the bouncer failure mode).
        let stale = BanEntry {
            expires_ns: sec_agent::clock::boot_ns() + 5_000_000_000,
            reason: BanReason::Manual.code(),
            _pad: 0,
        };
        maps.ban(t("198.51.100.2"), stale, None, true).unwrap();
        wait_until("repairs", Duration::from_secs(10), || {
            let list = lab.ban_list();
            let ttl = |a: &str| {
                list.iter()
                    .find(|b| b["address"] == a)
                    .and_then(|b| b["ttl_remaining_secs"].as_f64())
            };
            ttl("198.51.100.1").is_some()
                && ttl("198.51.100.99").is_none()
                && ttl("198.51.100.2").is_some_and(|t| t > 3000.0)
        });
        let metrics = lab.metrics().expect("GET /metrics");
        for kind in ["missing", "extra", "stale"] {
            let n = metrics
                .value(
                    "sec_agent_reconcile_repairs_total",
                    &[&format!("kind=\"{kind}\"")],
                )
                .unwrap_or(0.0);
            assert!(n >= 1.0, "{kind} repairs counted: {n}");
        }
    }
);

kernel_test!(
    sighup_applies_a_good_config_and_keeps_the_old_one_on_a_bad_one,
    {
        let lab = Lab::new();
        let config = lab.config("");
        let mut agent = lab.start_agent(&["--config", &config]);
        let link_before =
            json(&lab.cli_ok(&["status", "--json"]))["interfaces"][0]["link_id"].clone();
        lab.cli_ok(&["ban", "add", "198.51.100.7"]);
        let good = std::fs::read_to_string(&config).unwrap()
            + "[rate_limit]\npps = 100\nburst = 50\n\n[allowlist]\ncidrs = [\"192.0.2.0/24\"]\n";
        std::fs::write(&config, good).unwrap();
        unsafe { libc::kill(agent.pid() as i32, libc::SIGHUP) };
        wait_until(
            "the new rate limit and allowlist",
            Duration::from_secs(5),
            || {
                json(&lab.cli_ok(&["ratelimit", "show", "--json"]))["pps"] == 100
                    && lab.cli_ok(&["allow", "list"]).trim() == "192.0.2.0/24"
            },
        );
        // Bad: an unknown key on line 3 of the appended part.
        let bad_text =
            std::fs::read_to_string(&config).unwrap() + "\n[detections.payload]\nmood = \"ban\"\n";
        let bad_line = bad_text.lines().count();
        std::fs::write(&config, &bad_text).unwrap();
        unsafe { libc::kill(agent.pid() as i32, libc::SIGHUP) };
        agent.wait_for_log("config reload failed", Duration::from_secs(5));
        let log = agent.log().join("\n");
        assert!(
            log.contains(&format!(":{bad_line}:")) && log.contains("mood"),
            "line and key named: {log}"
        );
        let reload = lab.cli(&["reload"]);
        assert_eq!(reload.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&reload.stderr).contains("mood"));
        // Still running on the good config, still attached through the same link, bans kept.
        assert_eq!(
            json(&lab.cli_ok(&["ratelimit", "show", "--json"]))["pps"],
            100
        );
        let status = json(&lab.cli_ok(&["status", "--json"]));
        assert_eq!(
            status["interfaces"][0]["link_id"], link_before,
            "XDP was not detached"
        );
        assert!(
            lab.ban_list()
                .iter()
                .any(|b| b["address"] == "198.51.100.7")
        );
        let metrics = lab.metrics().expect("GET /metrics");
        assert_eq!(
            metrics.value("sec_agent_config_reloads_total", &["result=\"ok\""]),
            Some(1.0)
        );
        assert_eq!(
            metrics.value("sec_agent_config_reloads_total", &["result=\"error\""]),
            Some(2.0)
        );
    }
);

kernel_test!(the_control_socket_is_root_only, needs = ["setpriv"], {
    let lab = Lab::new();
    let _agent = lab.start_agent(&[]);
    let socket = lab.control_socket();
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Even when the file mode is loosened, the agent checks the peer's credentials.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(&lab.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(agent_bin())
        .arg("--control-socket")
        .arg(&socket)
        .args(["--pin-path", "/nonexistent", "ban", "add", "198.51.100.5"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("root only"), "{stderr}");
    assert!(lab.ban_list().is_empty(), "nothing was banned");
});

#[test]
fn the_systemd_unit_verifies_with_exposure_at_most_2_5() {
    if !tool_available(
        "the_systemd_unit_verifies_with_exposure_at_most_2_5",
        "systemd-analyze",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sa-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/sec-agent.service"
    ))
    .unwrap()
    .replace("/usr/local/bin/sec-agent", agent_bin().to_str().unwrap());
    let path = dir.join("sec-agent.service");
    std::fs::write(&path, unit).unwrap();
    let verify = run(Command::new("systemd-analyze").arg("verify").arg(&path));
    let security = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&path));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        verify.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let text = String::from_utf8_lossy(&security.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for sec-agent.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in: {text}"));
    println!("systemd-analyze security exposure: {score}");
    assert!(score <= 2.5, "exposure {score} > 2.5");
}
