//! CLI behaviour that needs neither root nor a kernel: argument validation, config checks,
//! exit codes. (Also makes cargo build the `sec-agent` binary the kernel tests run.)

use std::process::{Command, Output};

fn sec_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sec-agent"))
        .args(args)
        .env("SEC_AGENT_PIN_PATH", "/nonexistent/sec-agent-test")
        .output()
        .expect("run sec-agent")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_targets_exit_2_before_touching_maps() {
    for (args, message) in [
        (
            &["ban", "add", "not-an-ip"][..],
            "not an IP address or CIDR",
        ),
        (&["ban", "add", "10.1.2.3/8"], "did you mean 10.0.0.0/8?"),
        (
            &["ban", "add", "10.0.0.1", "--ttl", "forever"],
            "not a duration",
        ),
        (&["allow", "add", "::1/129"], "not an IP address or CIDR"),
        (&["ports", "restrict", "22/icmp"], "not tcp or udp"),
    ] {
        let out = sec_agent(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn missing_maps_are_a_clear_system_error() {
    let out = sec_agent(&["ban", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("start the agent first"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_config_accepts_the_shipped_file_and_names_line_and_key() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/sec-agent.toml");
    let ok = sec_agent(&["check-config", shipped]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let bad = std::env::temp_dir().join(format!("sa-cli-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[xdp]\nmode = \"native\"\n\n[maps]\nban_v5 = 10\n").unwrap();
    let out = sec_agent(&["check-config", bad.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(":5:") && err.contains("ban_v5"), "{err}");
}

#[test]
fn run_without_interface_is_refused() {
    let out = sec_agent(&["run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no interface to protect"),
        "{}",
        stderr(&out)
    );
}

fn sec_agent_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sec-agent"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run sec-agent");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().expect("sec-agent output")
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn inspect_reads_a_raw_request_from_stdin() {
    let out = sec_agent_stdin(
        &["inspect"],
        b"GET /download?file=..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8\r\n\r\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = &lines(&out)[0];
    assert_eq!(v["origin"], "-");
    assert_eq!(v["decision"], "ban");
    let f = &v["findings"][0];
    assert_eq!(
        (&f["detection"], &f["class"], &f["location"], &f["name"]),
        (
            &"payload".into(),
            &"traversal".into(),
            &"qs_values".into(),
            &"file".into()
        )
    );
    assert_eq!(f["raw"], "..%2F..%2Fetc%2Fpasswd");
    assert_eq!(f["fragment"], "/etc/passwd");
    assert_eq!(f["ttl_secs"], 3600);
}

#[test]
fn inspect_runs_the_annotated_corpora_and_follows_the_config() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let out = sec_agent(&["inspect", "--summary", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["unparsable"], 0);
    assert!(summary["requests"].as_u64().unwrap() >= 50, "{summary}");
    assert_eq!(summary["expect_missed"], serde_json::json!([]), "{summary}");
    assert!(summary["findings"]["payload"]["sqli"].as_u64().unwrap() > 0);

    // The same attack under a config that monitors payloads, from an allowlisted source.
    let config = std::env::temp_dir().join(format!("sa-cli-inspect-{}.toml", std::process::id()));
    std::fs::write(&config, "[detections.payload]\nmode = \"monitor\"\n").unwrap();
    let sqli = b"GET /?id=1%27%20OR%20%271%27%3D%271 HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\n\r\n";
    let monitored = sec_agent_stdin(&["inspect", "--config", config.to_str().unwrap()], sqli);
    std::fs::write(&config, "[allowlist]\ncidrs = [\"198.51.100.0/24\"]\n").unwrap();
    let allowed = sec_agent_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--source",
            "198.51.100.7",
        ],
        sqli,
    );
    let _ = std::fs::remove_file(&config);
    assert_eq!(lines(&monitored)[0]["decision"], "monitor");
    assert_eq!(lines(&allowed)[0]["decision"], "allowlisted");
}

#[test]
fn inspect_reports_unparsable_requests_and_exits_2_after_the_rest() {
    let dir = std::env::temp_dir().join(format!("sa-cli-inspect-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a-garbage.txt"), "this is not HTTP\n").unwrap();
    std::fs::write(
        dir.join("b-ok.http"),
        "GET /.env HTTP/1.1\r\nHost: h\r\nUser-Agent: x\r\n\r\n",
    )
    .unwrap();
    let out = sec_agent(&["inspect", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = lines(&out);
    assert_eq!(v.len(), 2);
    assert!(
        v[0]["error"].as_str().unwrap().contains("not one complete"),
        "{v:?}"
    );
    assert_eq!(v[1]["findings"][0]["detection"], "decoy_path");
    assert!(
        stderr(&out).contains("1 of 2 requests could not be parsed"),
        "{}",
        stderr(&out)
    );
}
