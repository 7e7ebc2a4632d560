//! A protected interface that disappears under the running agent (its veth deleted, as when
//! a container goes away) and comes back: the agent logs the loss once, frees the ring and
//! the attachment record, counts it, does not spin, shows the interface as gone, and
//! attaches and captures again when an interface of that name returns.

use std::{fs, thread, time::Duration};

use sec_agent_common::Verdict;
use sec_agent_tests::{
    Agent, Lab,
    http::{HttpServer, curl},
    json, kernel_test,
    lab::CLIENT_V4,
    wait_until,
};

/// CPU time (user + system) of process `pid` so far, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("the agent's stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    // SAFETY: sysconf with a valid name.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// Deletes the lab's veth under `agent` and waits until it reports the loss.
fn lose_interface(lab: &Lab, agent: &mut Agent) {
    lab.delete_link();
    agent.wait_for_log("interface is gone", Duration::from_secs(5));
    wait_until(
        "status shows the interface gone",
        Duration::from_secs(5),
        || interface_state(lab) == "gone",
    );
}

/// Recreates the lab's veth and waits until `agent` has taken it back.
fn regain_interface(lab: &Lab, agent: &mut Agent) {
    lab.recreate_link();
    agent.wait_for_log("interface is back", Duration::from_secs(10));
    wait_until(
        "status shows the interface up",
        Duration::from_secs(5),
        || interface_state(lab) == "up",
    );
    assert_eq!(
        lab.server_xdp_progs(),
        1,
        "XDP attached to the new interface"
    );
}

fn interface_state(lab: &Lab) -> String {
    let status = json(&lab.cli_ok(&["status", "--json"]));
    status["agent"]["interfaces"][0]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("no interface state in {status}"))
        .to_string()
}

kernel_test!(
    a_vanished_interface_is_released_and_taken_back_when_it_returns,
    {
        let lab = Lab::new();
        let mut agent = lab.start_agent(&[]);
        assert_eq!(interface_state(&lab), "up");

        lose_interface(&lab, &mut agent);
        // A spinning poll loop used about 40% of a CPU; an idle agent uses next to nothing.
        let before = cpu_secs(agent.pid());
        thread::sleep(Duration::from_secs(3));
        let used = cpu_secs(agent.pid()) - before;
        assert!(
            used < 0.3,
            "the agent used {used:.2} s of CPU in 3 s with its interface gone"
        );
        let losses = agent
            .log()
            .iter()
            .filter(|l| l.contains("interface is gone"))
            .count();
        assert_eq!(losses, 1, "the loss is logged once: {:#?}", agent.log());
        assert!(
            lab.maps().ifaces().expect("ifaces map").is_empty(),
            "the attachment record is freed"
        );
        let metrics = lab.metrics().expect("GET /metrics");
        assert_eq!(
            metrics.value(
                "sec_agent_interfaces_lost_total",
                &[&format!("iface=\"{}\"", lab.server_if)]
            ),
            Some(1.0),
            "{}",
            metrics.text()
        );

        regain_interface(&lab, &mut agent);
        // Capture runs again: an attack on the new interface is detected, banned and dropped.
        let _server = HttpServer::start(&lab);
        let clients = lab.add_clients(1);
        let attacker = clients[0].0.as_str();
        assert_eq!(curl(&lab, CLIENT_V4, "/", &[]), Some(200));
        curl(&lab, attacker, "/?id=1%27%20OR%20%271%27%3D%271", &[]);
        wait_until("the detection ban", Duration::from_secs(5), || {
            lab.ban_list().iter().any(|b| b["address"] == attacker)
        });
        let dropped = lab.packets(Verdict::DropBanned);
        assert_eq!(curl(&lab, attacker, "/", &["--max-time", "1"]), None);
        assert!(
            lab.packets(Verdict::DropBanned) > dropped,
            "XDP drops the banned source"
        );
        assert_eq!(curl(&lab, CLIENT_V4, "/", &[]), Some(200));
    }
);

kernel_test!(
    without_inspection_a_vanished_interface_is_still_taken_back,
    {
        let lab = Lab::new();
        let config = lab.config("[capture]\nhttp_ports = []\n");
        let mut agent = lab.start_agent(&["--config", &config]);
        lose_interface(&lab, &mut agent);
        regain_interface(&lab, &mut agent);
        lab.cli_ok(&["ban", "add", CLIENT_V4]);
        assert_eq!(
            lab.ping(sec_agent_tests::lab::SERVER_V4, 3),
            0,
            "the ban drops again"
        );
    }
);
