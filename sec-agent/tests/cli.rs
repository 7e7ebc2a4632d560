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
