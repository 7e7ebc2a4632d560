//! sec-agent against Debian's xdp-filter (xdp-tools) doing the same job, an IPv4 source
//! banlist, through the same BPF_PROG_TEST_RUN path: both programs are run by
//! `bpftool prog run` on the same frames, in the same run.
//!
//! xdp-filter is loaded by its own tool on the server veth of a lab (skb mode; the program
//! is the same in every mode), with its pins in the lab's private bpffs
//! (bind-mounted over /sys/fs/bpf in a private mount namespace). Its `filter_ipv4` map holds at most 10,000 addresses, so the
//! comparison stops at 10,000 bans.

use std::{fmt::Write as _, net::Ipv4Addr, path::Path, process::Command};

use anyhow::{Context as _, Result, bail};
use aya::{
    maps::{MapData, PerCpuHashMap, PerCpuValues},
    programs::Xdp,
    util::nr_cpus,
};
use sec_agent::{
    config::Config,
    kernel::{bpffs::ensure_pin_dir, loader},
};
use sec_agent_tests::{Lab, frames::*, lab::Bpffs};

use crate::{
    stats,
    xdp::{REPEAT, RUNS, fill, frame64},
};

/// xdp-filter's `filter_ipv4` value: hit counter above bit 6, mode bits below; 1 = source.
const XDP_FILTER_MODE_SRC: u64 = 1;

pub fn peer(out: &mut String) -> Result<()> {
    let _ = writeln!(
        out,
        "## XDP cost against xdp-filter (same job, same test-run path)\n"
    );
    if sec_agent_tests::which("xdp-filter").is_none() || sec_agent_tests::which("bpftool").is_none()
    {
        let _ = writeln!(out, "Skipped: xdp-filter or bpftool is not installed.\n");
        return Ok(());
    }
    let lab = Lab::new();
    let clean = frame64(ipv4([198, 51, 100, 8], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let banned = frame64(ipv4([198, 51, 100, 7], UDP, &[], 0, &l4(53)), ETH_P_IP);
    let clean_path = lab.dir.join("clean.bin");
    let banned_path = lab.dir.join("banned.bin");
    std::fs::write(&clean_path, &clean)?;
    std::fs::write(&banned_path, &banned)?;

    let filter = |args: &[&str]| -> Result<()> {
        // xdp-filter pins under the first bpffs it finds mounted (/sys/fs/bpf first), not
        // under LIBXDP_BPFFS: run it in a private mount namespace where /sys/fs/bpf is the
        // lab's own bpffs, so that nothing lands in the host's.
        let o = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg("mount --bind \"$0\" /sys/fs/bpf && ns=$1 && shift && exec nsenter --net=\"$ns\" xdp-filter \"$@\"")
            .arg(&lab.bpffs.dir)
            .arg(format!("/run/netns/{}", lab.server_ns))
            .args(args)
            .env("LIBXDP_BPFFS", "/sys/fs/bpf")
            .output()?;
        if !o.status.success() {
            bail!(
                "xdp-filter {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Ok(())
    };
    filter(&["load", "--mode", "skb", "-f", "ipv4,ipv6", &lab.server_if])?;
    filter(&["ip", "198.51.100.7", "--mode", "src"])?;
    let peer_id = xdp_prog_id(&lab)?;
    let version = Command::new("dpkg-query")
        .args(["-W", "-f", "xdp-tools ${Version}", "xdp-tools"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();

    let _ = writeln!(
        out,
        "`bpftool prog run ... repeat {REPEAT}` on 64-byte IPv4/UDP frames, min / median / max ns per packet over {RUNS} runs; xdp-filter: `{}` (`xdp-filter load -f ipv4,ipv6`, one `xdp-filter ip ... --mode src` rule per ban).\n",
        version.lines().next().unwrap_or("?")
    );
    let _ = writeln!(
        out,
        "| bans | case | sec-agent | xdp-filter | sec-agent ÷ xdp-filter |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut worst: f64 = 0.0;
    for bans in [0u32, 9_999] {
        let bpffs = Bpffs::unique();
        let pin = bpffs.dir.join("sec-agent");
        ensure_pin_dir(&pin)?;
        let mut loaded = loader::load(&Config::default(), &pin)?;
        fill(&mut loaded.maps, &pin, bans)?;
        let prog: &mut Xdp = loaded
            .ebpf
            .program_mut(sec_agent::XDP_PROGRAM)
            .context("program")?
            .try_into()?;
        let ours_id = prog.info()?.id();
        if bans > 0 {
            fill_peer(&lab.bpffs.dir.join("xdp-filter/filter_ipv4"), bans)?;
        }
        for (name, frame) in [("clean IPv4", &clean_path), ("banned", &banned_path)] {
            let (a0, a1, a2) = stats(run_n(ours_id, frame)?);
            let (b0, b1, b2) = stats(run_n(peer_id, frame)?);
            let ratio = a1 / b1;
            worst = worst.max(ratio);
            let _ = writeln!(
                out,
                "| {} | {name} | {a0:.0} / {a1:.0} / {a2:.0} | {b0:.0} / {b1:.0} / {b2:.0} | {ratio:.2} |",
                bans + 1
            );
        }
    }
    filter(&["unload", "--all", &lab.server_if]).ok();
    let met = if worst <= 1.0 { "met" } else { "not met" };
    let _ = writeln!(
        out,
        "\nsec-agent checks more per packet than xdp-filter's IP program: restricted ports, exact bans, range bans (LPM trie) and the rate limiter's config, and walks its allowlist (LPM trie) for a packet a rule would drop. xdp-filter looks up the source and destination in one per-CPU hash and counts hits per rule.\n\nTarget: no more than xdp-filter for the same job: worst ratio {worst:.2}, **{met}**.\n"
    );
    Ok(())
}

/// The id of the XDP program attached to the lab's server veth (`ip -j -d link`).
fn xdp_prog_id(lab: &Lab) -> Result<u32> {
    let o = lab
        .in_ns(&lab.server_ns, "ip")
        .args(["-j", "-d", "link", "show", "dev", &lab.server_if])
        .output()?;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let id = v[0]["xdp"]["prog"]["id"]
        .as_u64()
        .or_else(|| v[0]["xdp"]["attached"][0]["prog"]["id"].as_u64())
        .context("no XDP program on the server veth")?;
    Ok(id as u32)
}

/// `bans` source rules in xdp-filter's IPv4 map (10.0.0.0 upwards, as `fill` does).
fn fill_peer(map: &Path, bans: u32) -> Result<()> {
    let data = MapData::from_pin(map).with_context(|| format!("open {}", map.display()))?;
    let mut m: PerCpuHashMap<MapData, u32, u64> =
        PerCpuHashMap::try_from(aya::maps::Map::from_map_data(data)?)?;
    let cpus = nr_cpus().map_err(|(_, e)| e)?;
    for i in 0..bans {
        let ip = Ipv4Addr::from(0x0a00_0000u32 + i);
        let values = PerCpuValues::try_from(vec![XDP_FILTER_MODE_SRC; cpus])?;
        m.insert(u32::from_ne_bytes(ip.octets()), values, 0)?;
    }
    Ok(())
}

/// RUNS figures of ns per packet from `bpftool prog run`.
fn run_n(id: u32, frame: &Path) -> Result<Vec<f64>> {
    let mut v = Vec::new();
    for _ in 0..RUNS {
        let o = Command::new("bpftool")
            .args(["prog", "run", "id", &id.to_string(), "data_in"])
            .arg(frame)
            .args(["repeat", &REPEAT.to_string()])
            .output()?;
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        let ns = text
            .split("duration (average): ")
            .nth(1)
            .and_then(|s| s.split("ns").next())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .with_context(|| format!("bpftool prog run: {text}"))?;
        v.push(ns);
    }
    Ok(v)
}
