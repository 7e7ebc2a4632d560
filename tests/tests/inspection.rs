//! End-to-end HTTP inspection: a real server (Python http.server) in the lab's server
//! namespace, real requests with curl from two client addresses, the agent capturing,
//! detecting and banning. For every detection: the attacker is banned and then dropped by
//! XDP, the benign client keeps getting 200s, and requests that look similar but are benign
//! ban nobody.

use std::{thread, time::Duration};

use sec_agent_common::Verdict;
use sec_agent_tests::{
    Agent, Lab,
    http::{HTTP_PORT, HttpServer, curl},
    json, kernel_test,
    lab::SERVER_V4,
    poll_until,
    traffic::tcp_stream,
    wait_until,
};
use serde_json::Value;

struct Setup {
    lab: Lab,
    _agent: Agent,
    _server: HttpServer,
    attacker: String,
    benign: String,
}

fn setup(extra_config: &str) -> Setup {
    let lab = Lab::new();
    let clients = lab.add_clients(2);
    let config = lab.config(extra_config);
    let agent = lab.start_agent(&["--config", &config]);
    let server = HttpServer::start(&lab);
    let (attacker, benign) = (clients[0].0.clone(), clients[1].0.clone());
    assert_eq!(
        curl(&lab, &attacker, "/", &[]),
        Some(200),
        "attacker reaches the server before"
    );
    assert_eq!(curl(&lab, &benign, "/", &[]), Some(200));
    Setup {
        lab,
        _agent: agent,
        _server: server,
        attacker,
        benign,
    }
}

/// Waits until `addr` is banned; returns its `ban list` entry.
fn wait_banned(lab: &Lab, addr: &str) -> Value {
    poll_until(Duration::from_secs(5), || {
        lab.ban_list().into_iter().find(|b| b["address"] == addr)
    })
    .unwrap_or_else(|| panic!("{addr} was not banned; events: {:#?}", lab.events()))
}

/// The attacker was banned by `detection`/`class`: ban entry, kernel drops, event log; the
/// benign client is untouched.
fn assert_banned_for(s: &Setup, detection: &str, class: &str) {
    let entry = wait_banned(&s.lab, &s.attacker);
    assert_eq!(entry["note"], format!("{detection}/{class}"), "{entry}");
    // `ban list` names the origin as `ip`, events and metrics do, agent or not.
    assert_eq!(entry["reason"], detection, "{entry}");
    let before = s.lab.packets(Verdict::DropBanned);
    assert_eq!(
        curl(&s.lab, &s.attacker, "/", &[]),
        None,
        "the banned attacker is cut off"
    );
    assert!(
        s.lab.packets(Verdict::DropBanned) > before,
        "XDP dropped the attacker's packets"
    );
    assert_eq!(
        curl(&s.lab, &s.benign, "/", &[]),
        Some(200),
        "the benign client still gets 200"
    );
    let events = s.lab.events();
    let hit = events.iter().find(|e| {
        e["event"] == "detection"
            && e["src"] == s.attacker.as_str()
            && e["detection"] == detection
            && e["class"] == class
    });
    let hit = hit.unwrap_or_else(|| panic!("no {detection}/{class} event: {events:#?}"));
    assert_eq!(hit["action"], "ban", "{hit}");
    assert!(hit["ttl_secs"].as_u64().unwrap() > 0);
    assert!(
        !events
            .iter()
            .any(|e| e["src"] == s.benign.as_str() && e["event"] == "detection"),
        "the benign client caused a detection: {events:#?}"
    );
}

/// Benign look-alikes from the benign client: all answered, nobody banned.
fn assert_benign(s: &Setup, requests: &[(&str, &[&str])]) {
    for (target, args) in requests {
        // http.server answers POST with 501: any answer shows the client is not cut off.
        let code = curl(&s.lab, &s.benign, target, args);
        assert!(code.is_some(), "{target}: no answer");
    }
    thread::sleep(Duration::from_millis(200));
    assert!(
        s.lab
            .ban_list()
            .iter()
            .all(|b| b["address"] != s.benign.as_str()),
        "benign client banned; events: {:#?}",
        s.lab.events()
    );
}

kernel_test!(sqli_is_banned_and_lookalikes_are_not, {
    let s = setup("");
    assert_benign(
        &s,
        &[
            ("/?name=O%27Brien", &[]),
            ("/?q=select+the+best+union+jobs", &[]),
            ("/?q=rock+%26+roll+or+jazz", &[]),
        ],
    );
    curl(&s.lab, &s.attacker, "/?id=1%27%20OR%20%271%27%3D%271", &[]);
    assert_banned_for(&s, "payload", "sqli");
    // The per-address view through the agent.
    let ip = json(&s.lab.cli_ok(&["ip", &s.attacker, "--json"]));
    assert_eq!(ip["banned"], true, "{ip}");
    assert_eq!(ip["ban"]["origin"], "payload");
    assert_eq!(ip["ban"]["note"], "payload/sqli");
    assert!(ip["ban"]["expires"].is_string(), "{ip}");
    assert_eq!(ip["bans_issued"], 1);
    assert!(ip["requests"].as_u64().unwrap() >= 2, "{ip}");
    assert_eq!(ip["recent_detections"][0]["class"], "sqli");
    let benign = json(&s.lab.cli_ok(&["ip", &s.benign, "--json"]));
    assert_eq!(benign["banned"], false);
    assert!(benign["requests"].as_u64().unwrap() >= 4, "{benign}");
});

kernel_test!(xss_in_a_form_body_is_banned, {
    let s = setup("");
    assert_benign(
        &s,
        &[(
            "/",
            &[
                "--data",
                "comment=I+%3Cb%3Ereally%3C%2Fb%3E+liked+it",
                "-H",
                "Content-Type: application/x-www-form-urlencoded",
            ],
        )],
    );
    curl(
        &s.lab,
        &s.attacker,
        "/",
        &[
            "--data",
            "comment=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
        ],
    );
    assert_banned_for(&s, "payload", "xss");
});

kernel_test!(path_traversal_is_banned, {
    let s = setup("");
    assert_benign(&s, &[("/ok.txt?v=../images/logo.png", &[])]);
    curl(
        &s.lab,
        &s.attacker,
        "/static/../../../etc/passwd",
        &["--path-as-is"],
    );
    assert_banned_for(&s, "payload", "traversal");
});

kernel_test!(command_injection_in_json_is_banned, {
    let s = setup("");
    let json = ["-H", "Content-Type: application/json", "--data"];
    assert_benign(
        &s,
        &[(
            "/",
            &[
                json[0],
                json[1],
                json[2],
                r#"{"note":"Tom & Jerry; cat food"}"#,
            ],
        )],
    );
    curl(
        &s.lab,
        &s.attacker,
        "/",
        &[
            json[0],
            json[1],
            json[2],
            r#"{"host":"127.0.0.1;cat /etc/passwd"}"#,
        ],
    );
    assert_banned_for(&s, "payload", "cmdi");
});

kernel_test!(ssrf_to_cloud_metadata_is_banned, {
    let s = setup("");
    assert_benign(&s, &[("/?next=https%3A%2F%2Fexample.com%2Fcallback", &[])]);
    curl(
        &s.lab,
        &s.attacker,
        "/?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F",
        &[],
    );
    assert_banned_for(&s, "payload", "ssrf");
});

kernel_test!(scanner_user_agent_is_banned, {
    let s = setup("");
    assert_benign(
        &s,
        &[
            (
                "/",
                &["-A", "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0"],
            ),
            ("/", &["-A", "python-requests/2.31"]),
        ],
    );
    curl(
        &s.lab,
        &s.attacker,
        "/",
        &["-A", "sqlmap/1.8.2#stable (https://sqlmap.org)"],
    );
    assert_banned_for(&s, "user_agent", "scanner");
});

kernel_test!(decoy_path_is_banned, {
    let s = setup("");
    assert_benign(&s, &[("/environment", &[]), ("/ok.txt", &[])]);
    curl(&s.lab, &s.attacker, "/.env", &[]);
    assert_banned_for(&s, "decoy_path", "decoy");
});

kernel_test!(enumeration_of_404s_is_banned, {
    let s = setup("[detections.enumeration]\nthreshold = 10\nwindow = \"60s\"\n");
    // A few 404s from the benign client stay under the threshold.
    for i in 0..4 {
        assert_eq!(
            curl(&s.lab, &s.benign, &format!("/missing-{i}"), &[]),
            Some(404)
        );
    }
    for i in 0..12 {
        if curl(&s.lab, &s.attacker, &format!("/admin-{i}.php"), &[]).is_none() {
            break; // Banned mid-burst.
        }
    }
    assert_banned_for(&s, "enumeration", "enumeration");
});

kernel_test!(request_flood_is_banned, {
    let s = setup("[detections.request_flood]\nthreshold = 15\nwindow = \"60s\"\n");
    for _ in 0..5 {
        assert_eq!(curl(&s.lab, &s.benign, "/ok.txt", &[]), Some(200));
    }
    for _ in 0..20 {
        if curl(&s.lab, &s.attacker, "/ok.txt", &[]).is_none() {
            break;
        }
    }
    assert_banned_for(&s, "request_flood", "flood");
});

kernel_test!(
    monitor_mode_logs_without_banning_and_allowlist_is_never_banned,
    {
        let s = setup("[detections.payload]\nmode = \"monitor\"\n");
        curl(&s.lab, &s.attacker, "/?id=1%27%20OR%20%271%27%3D%271", &[]);
        s.lab.cli_ok(&["allow", "add", &s.benign]);
        curl(&s.lab, &s.benign, "/.env", &[]);
        thread::sleep(Duration::from_millis(500));
        assert!(
            s.lab.ban_list().is_empty(),
            "nobody banned: {:#?}",
            s.lab.ban_list()
        );
        let events = s.lab.events();
        let action = |src: &str, detection: &str| {
            events
                .iter()
                .find(|e| e["src"] == src && e["detection"] == detection)
                .map(|e| e["action"].clone())
                .unwrap_or_else(|| panic!("no {detection} event for {src}: {events:#?}"))
        };
        assert_eq!(action(&s.attacker, "payload"), "monitor");
        assert_eq!(action(&s.benign, "decoy_path"), "allowlisted");
        assert_eq!(curl(&s.lab, &s.attacker, "/", &[]), Some(200));
    }
);

/// Established TCP connections in the server namespace whose remote address is `addr`.
fn established_from(lab: &Lab, addr: &str) -> usize {
    let out = sec_agent_tests::run_ok(lab.in_ns(&lab.server_ns, "ss").args([
        "-Htn",
        "state",
        "established",
        "dst",
        addr,
    ]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

kernel_test!(a_ban_closes_the_attackers_open_connections, {
    let s = setup("");
    // An idle connection the attacker opened before attacking on another one.
    let _idle = tcp_stream(
        &s.lab.client_ns,
        &s.attacker,
        &format!("{SERVER_V4}:{HTTP_PORT}"),
    );
    wait_until("the idle connection", Duration::from_secs(3), || {
        established_from(&s.lab, &s.attacker) > 0
    });
    curl(
        &s.lab,
        &s.attacker,
        "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        &[],
    );
    wait_banned(&s.lab, &s.attacker);
    wait_until(
        "the ban to close the attacker's connection",
        Duration::from_secs(3),
        || established_from(&s.lab, &s.attacker) == 0,
    );
    let ban = s
        .lab
        .events()
        .into_iter()
        .find(|e| e["event"] == "ban")
        .expect("ban event");
    assert!(ban["connections_closed"].as_u64().unwrap() >= 1, "{ban}");
});

kernel_test!(ipv6_attacker_is_banned_and_dropped, {
    let s = setup("");
    let lab = &s.lab;
    // setup() added fd00:200::10 and ::11 along with the IPv4 clients.
    let (attacker, benign) = ("fd00:200::10", "fd00:200::11");
    let url = |path: &str| {
        format!(
            "http://[{}]:{HTTP_PORT}{path}",
            sec_agent_tests::lab::SERVER_V6
        )
    };
    assert_eq!(curl(lab, benign, &url("/"), &[]), Some(200));
    assert_eq!(curl(lab, attacker, &url("/"), &[]), Some(200));
    curl(lab, attacker, &url("/?id=-1+UNION+ALL+SELECT+1,2,3--"), &[]);
    let entry = wait_banned(lab, attacker);
    assert_eq!(entry["note"], "payload/sqli");
    assert_eq!(
        curl(lab, attacker, &url("/"), &[]),
        None,
        "the IPv6 attacker is cut off"
    );
    assert_eq!(curl(lab, benign, &url("/"), &[]), Some(200));
});
