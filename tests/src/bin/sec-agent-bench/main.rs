//! The measurements behind `cargo xtask bench` (run as root). Prints Markdown sections on
//! stdout; the xtask writes them into BENCHMARKS.md. Arguments name the sections to run
//! (`xdp`, `peer`, `flood`, `detection`, `quality`, `latency`, `e2e`, `memory`,
//! `agent-memory`); none runs them all.
//!
//! Every figure is measured several times; tables give min / median / max. Ratios are
//! taken between medians of the same run, because these machines are shared and absolute
//! times drift between runs.

mod agent;
mod agent_memory;
mod detection;
mod e2e;
mod flood;
mod floor;
mod latency;
mod memory;
mod packets;
mod peer;
mod quality;
mod server;
mod xdp;

use anyhow::{Result, bail};

/// Each section: its name on the command line and the function that measures it.
type Section = (&'static str, fn(&mut String) -> Result<()>);

const SECTIONS: &[Section] = &[
    ("xdp", xdp::xdp_costs),
    ("peer", peer::peer),
    ("flood", flood::flood),
    ("detection", detection::detection_throughput),
    ("quality", quality::quality),
    ("e2e", e2e::e2e),
    ("latency", latency::latency),
    ("memory", memory::memory),
    ("agent-memory", agent_memory::agent_memory),
];

fn main() -> Result<()> {
    // The agent under test: the release build next to this binary, unless set.
    if std::env::var_os("SEC_AGENT_BIN").is_none() {
        let exe = std::env::current_exe()?;
        // SAFETY: single-threaded here, before any thread starts.
        unsafe { std::env::set_var("SEC_AGENT_BIN", exe.with_file_name("sec-agent")) };
    }
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    for w in &wanted {
        if !SECTIONS.iter().any(|(name, _)| name == w) {
            let names: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
            bail!("unknown section {w:?}; sections: {}", names.join(", "));
        }
    }
    for (name, run) in SECTIONS {
        if wanted.is_empty() || wanted.iter().any(|w| w == name) {
            eprintln!("bench: {name}");
            let started = std::time::Instant::now();
            let mut out = String::new();
            run(&mut out)?;
            eprintln!(
                "bench: {name} done in {:.0} s",
                started.elapsed().as_secs_f64()
            );
            // Section by section, so a long run shows progress and a failure keeps the rest.
            print!("{out}");
        }
    }
    Ok(())
}

/// min, median, max.
pub fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    (v[0], v[v.len() / 2], v[v.len() - 1])
}
