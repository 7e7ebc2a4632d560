//! `cargo xtask lab`: the main job, end to end, in network namespaces this command creates
//! and removes.
//!
//! ```text
//!   client  10.200.7.2 ──┐
//!                         ├── bridge (namespace "sw") ── server 10.200.7.1:8080
//!   attacker 10.200.7.11-17 ┘                                  (XDP + capture here)
//! ```
//!
//! A real HTTP server (Python's http.server) runs in the server namespace with the agent
//! attached to its interface; curl browses from the client and attacks from the attacker,
//! one attacker address per attack so that each detection bans its own source. The lab
//! prints what happened and checks that every attacker is cut off while the client still
//! gets 200s.

use std::{
    fs,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

const SERVER: &str = "10.200.7.1";
const CLIENT: &str = "10.200.7.2";
const PORT: u16 = 8080;

/// One attack: name, attacker address, curl arguments, how many times to send it.
struct Attack {
    name: &'static str,
    from: &'static str,
    args: &'static [&'static str],
    repeat: usize,
}

const ATTACKS: &[Attack] = &[
    Attack {
        name: "SQL injection",
        from: "10.200.7.11",
        args: &["/?id=1%27%20OR%20%271%27%3D%271"],
        repeat: 1,
    },
    Attack {
        name: "XSS",
        from: "10.200.7.12",
        args: &["/?q=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E"],
        repeat: 1,
    },
    Attack {
        name: "path traversal",
        from: "10.200.7.13",
        args: &["--path-as-is", "/static/../../../etc/passwd"],
        repeat: 1,
    },
    Attack {
        name: "scanner User-Agent",
        from: "10.200.7.14",
        args: &["-A", "sqlmap/1.8.2#stable (https://sqlmap.org)", "/"],
        repeat: 1,
    },
    Attack {
        name: "decoy path",
        from: "10.200.7.15",
        args: &["/.env"],
        repeat: 1,
    },
    Attack {
        name: "enumeration burst",
        from: "10.200.7.16",
        args: &["/admin-panel.php"],
        repeat: 30,
    },
    Attack {
        name: "request flood",
        from: "10.200.7.17",
        args: &["/ok.txt"],
        repeat: 80,
    },
];

const BENIGN: &[&str] = &[
    "/",
    "/index.html",
    "/ok.txt",
    "/?q=select+the+best+union+jobs",
    "/?name=O%27Brien",
    "/?q=rock+%26+roll",
];

/// Everything the lab created; removed on drop, also when a step fails.
struct Lab {
    id: String,
    dir: PathBuf,
    bpffs: PathBuf,
    agent: Option<Child>,
    server: Option<Child>,
}

impl Lab {
    fn ns(&self, role: &str) -> String {
        format!("salab-{}-{role}", self.id)
    }

    fn nsenter(&self, role: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.ns(role)))
            .arg(program);
        cmd
    }

    fn create(&self) -> Result<()> {
        let ip = |args: &[&str]| crate::status(Command::new("ip").args(args));
        for role in ["sw", "srv", "cli", "atk"] {
            ip(&["netns", "add", &self.ns(role)])?;
            ip(&["-n", &self.ns(role), "link", "set", "lo", "up"])?;
        }
        ip(&["-n", &self.ns("sw"), "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &self.ns("sw"), "link", "set", "br0", "up"])?;
        for (role, addrs) in [
            ("srv", vec![SERVER]),
            ("cli", vec![CLIENT]),
            ("atk", ATTACKS.iter().map(|a| a.from).collect()),
        ] {
            let (inner, outer) = (format!("l{role}"), format!("p{role}"));
            ip(&[
                "link",
                "add",
                &inner,
                "netns",
                &self.ns(role),
                "type",
                "veth",
                "peer",
                "name",
                &outer,
                "netns",
                &self.ns("sw"),
            ])?;
            ip(&[
                "-n",
                &self.ns("sw"),
                "link",
                "set",
                &outer,
                "master",
                "br0",
                "up",
            ])?;
            for a in addrs {
                ip(&[
                    "-n",
                    &self.ns(role),
                    "addr",
                    "add",
                    &format!("{a}/24"),
                    "dev",
                    &inner,
                ])?;
            }
            ip(&["-n", &self.ns(role), "link", "set", &inner, "up"])?;
        }
        fs::create_dir_all(&self.bpffs)?;
        crate::status(
            Command::new("mount")
                .args(["-t", "bpf", "bpf"])
                .arg(&self.bpffs),
        )?;
        Ok(())
    }

    fn curl(&self, role: &str, from: &str, args: &[&str]) -> Option<u16> {
        let (path, opts) = args.split_last().expect("a path");
        let out = self
            .nsenter(role, "curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "1",
                "--interface",
                from,
            ])
            .args(opts)
            .arg(format!("http://{SERVER}:{PORT}{path}"))
            .output()
            .ok()?;
        let code: u16 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        (code != 0).then_some(code)
    }

    fn cli(&self, bin: &Path, args: &[&str]) -> Result<String> {
        let out = Command::new(bin)
            .arg("--pin-path")
            .arg(self.bpffs.join("sec-agent"))
            .arg("--control-socket")
            .arg(self.dir.join("control.sock"))
            .args(args)
            .output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut agent) = self.agent.take() {
            // A normal stop (SIGTERM) detaches XDP and unpins the link.
            let _ = Command::new("kill")
                .args(["-TERM", &agent.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(agent.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            let _ = agent.kill();
            let _ = agent.wait();
        }
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
        for role in ["cli", "atk", "srv", "sw"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(role)])
                .status();
        }
        let _ = Command::new("umount")
            .args(["-l"])
            .arg(&self.bpffs)
            .status();
        let _ = fs::remove_dir(&self.bpffs);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Builds the agent, runs the lab, prints the outcome; fails if an expectation fails.
pub fn run(root: &Path) -> Result<()> {
    crate::status(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "-p", "sec-agent"])
            .current_dir(root),
    )?;
    let bin = root.join("target/debug/sec-agent");
    let started = Instant::now();
    let id = format!("{:x}", std::process::id());
    let dir = std::env::temp_dir().join(format!("salab-{id}"));
    let mut lab = Lab {
        bpffs: std::env::temp_dir().join(format!("salab-{id}-bpffs")),
        dir,
        id,
        agent: None,
        server: None,
    };
    fs::create_dir_all(lab.dir.join("www"))?;
    lab.create().context("creating the lab namespaces")?;
    fs::write(
        lab.dir.join("www/index.html"),
        "<html><body>sec-agent lab</body></html>\n",
    )?;
    fs::write(lab.dir.join("www/ok.txt"), "ok\n")?;
    let events = lab.dir.join("events.jsonl");
    let config = lab.dir.join("agent.toml");
    fs::write(
        &config,
        format!(
            "[events]\nfile = \"{}\"\n\n[control]\nsocket = \"{}\"\n\n[detections.request_flood]\nthreshold = 50\n",
            events.display(),
            lab.dir.join("control.sock").display()
        ),
    )?;

    println!("== lab: server {SERVER}:{PORT}, client {CLIENT}, attackers 10.200.7.11-17");
    lab.server = Some(
        lab.nsenter(
            "srv",
            if Path::new("/usr/bin/python3").exists() {
                "/usr/bin/python3"
            } else {
                "python3"
            },
        )
        .args([
            "-m",
            "http.server",
            &PORT.to_string(),
            "--bind",
            SERVER,
            "--directory",
        ])
        .arg(lab.dir.join("www"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting python3 -m http.server")?,
    );
    let mut agent = lab
        .nsenter("srv", &bin)
        .arg("--pin-path")
        .arg(lab.bpffs.join("sec-agent"))
        .args(["run", "--iface", "lsrv", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(lab.dir.join("state"))
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the agent")?;
    let stderr = agent.stderr.take().expect("piped");
    lab.agent = Some(agent);
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                println!("   agent: {line}");
                if line.contains("sec-agent running") {
                    break;
                }
            }
            _ => bail!("the agent exited before it was running"),
        }
    }
    // Keep draining the agent's log so that it never blocks on a full pipe.
    thread::spawn(move || lines.for_each(drop));
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.curl("cli", CLIENT, &["/"]).is_none() {
        if Instant::now() > deadline {
            bail!("the web server did not answer");
        }
        thread::sleep(Duration::from_millis(100));
    }

    println!("\n== benign browsing from {CLIENT}");
    for path in BENIGN {
        println!(
            "   GET {path:<40} -> {}",
            show(lab.curl("cli", CLIENT, &[path]))
        );
    }

    println!("\n== attacks");
    for attack in ATTACKS {
        let mut last = None;
        let mut sent = 0;
        for _ in 0..attack.repeat {
            last = lab.curl("atk", attack.from, attack.args);
            sent += 1;
            if last.is_none() {
                break; // cut off mid-burst
            }
        }
        println!(
            "   {:<20} from {:<12} {sent:>3} request(s), last -> {}",
            attack.name,
            attack.from,
            show(last)
        );
    }
    thread::sleep(Duration::from_millis(300));

    println!("\n== events ({})", events.display());
    for line in fs::read_to_string(&events).unwrap_or_default().lines() {
        let get = |k: &str| field(line, k);
        if get("event") == "detection" {
            println!(
                "   {:<12} {:<13} {:<11} {:<14} {:<7} {}",
                get("src"),
                get("detection"),
                get("class"),
                get("rule").chars().take(14).collect::<String>(),
                get("action"),
                get("fragment").chars().take(40).collect::<String>()
            );
        }
    }
    println!(
        "\n== sec-agent ban list\n{}",
        lab.cli(&bin, &["ban", "list"])?
    );
    println!("== sec-agent stats\n{}", lab.cli(&bin, &["stats"])?);

    println!("== after the attacks");
    let mut failures = Vec::new();
    for attack in ATTACKS {
        let code = lab.curl("atk", attack.from, &["/"]);
        println!(
            "   attacker {:<12} ({:<20}) GET / -> {}",
            attack.from,
            attack.name,
            show(code)
        );
        if code.is_some() {
            failures.push(format!("{} ({}) was not cut off", attack.from, attack.name));
        }
    }
    let code = lab.curl("cli", CLIENT, &["/"]);
    println!(
        "   client   {CLIENT:<12} {:<22} GET / -> {}",
        "",
        show(code)
    );
    if code != Some(200) {
        failures.push(format!("the benign client got {}", show(code)));
    }
    println!(
        "\n== done in {:.1} s; cleaning up",
        started.elapsed().as_secs_f64()
    );
    drop(lab);
    if !failures.is_empty() {
        bail!("lab expectations failed:\n  {}", failures.join("\n  "));
    }
    println!("every attacker is cut off in the kernel; the benign client still gets 200");
    Ok(())
}

fn show(code: Option<u16>) -> String {
    code.map_or("no answer (dropped)".into(), |c| format!("HTTP {c}"))
}

/// A top-level string or number field of a JSON line, without a JSON parser in xtask.
fn field(line: &str, key: &str) -> String {
    let pat = format!("\"{key}\":");
    let Some(at) = line.find(&pat) else {
        return String::new();
    };
    let rest = &line[at + pat.len()..];
    if let Some(s) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else {
        rest.split([',', '}']).next().unwrap_or("").to_string()
    }
}
