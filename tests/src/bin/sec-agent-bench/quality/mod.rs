//! Detection quality on the development corpus (`../shared/corpus/`, or
//! `$SEC_AGENT_CORPUS`): sec-agent against ModSecurity v3 + OWASP CRS 3.3.4 at paranoia
//! level 1 and against libinjection, on the same requests, in one run.
//!
//! # What is sent
//! Each attack payload travels in two real HTTP/1.1 requests, a query string
//! (`GET /search?q=`, percent-encoded) and a JSON body (`POST`, `{"q": ...}`); each benign
//! value in one, where its `context` says it travels (query string or urlencoded form).
//! Payloads stored in wire form (`undecodable`, overlong UTF-8) go into the query string as
//! they are, but for the few characters no request line may hold (spaces, controls),
//! percent-encoded as a client would. Benign values come from `benign.jsonl` and from every
//! `sec-agent/tests/data/benign/*.jsonl` (same schema), each set reported on its own.
//!
//! # How each engine counts a detection
//! - **sec-agent**: the request's bytes through the agent's own inspection path
//!   ([`Offline::inspect`], the call behind `sec-agent inspect`) with the default config;
//!   detected when any detection reports anything. Request floods are off: every request
//!   comes from one source at one instant, which is no flood.
//! - **ModSecurity + CRS** ([`modsecurity`]): the same bytes, over 4 keep-alive
//!   connections, to an nginx of ours on 127.0.0.1 with the ModSecurity module, the
//!   recommended config (`SecRuleEngine On`, request bodies on, JSON body processor) and CRS
//!   at paranoia level 1 (anomaly scoring, inbound threshold 5), in front of a backend that
//!   answers 200. Detected when nginx answers 403. Other answers count as not detected;
//!   those that are neither 200 nor 403 (nginx refusing a malformed request with 400, for
//!   one) are counted apart under the table.
//! - **libinjection** ([`libinjection`]): `is_sql_injection` and `is_xss` on the value the
//!   application receives (decoded once from the query string, the JSON string, or the
//!   form value); detected when either fires. Shown for the SQLi and XSS classes (what it
//!   is for) and for false positives.
//!
//! # Cache
//! ModSecurity takes minutes on the corpus. Its answers are kept under the target
//! directory (`bench-peers/crs-verdicts-<hash>.txt`), keyed by a hash of the request bytes,
//! the peer's package versions and the generated configuration: a run with the same corpus
//! and the same packages reads them instead of sending, and the section says so.
//!
//! `SEC_AGENT_QUALITY_MISSES=<class>` prints sec-agent's misses of that class on stderr, one
//! JSON object a line, with whether CRS (`"crs"`) and libinjection (`"libinjection"`)
//! caught the same request.

mod libinjection;
mod modsecurity;
mod requests;

use std::{collections::BTreeMap, fmt::Write as _, net::IpAddr, path::PathBuf, time::Instant};

use anyhow::Result;
use sec_agent::{config::Config, offline::Offline};

use requests::{Attack, Benign, Label, corpus_dir};

/// Detected counts of one row, per engine.
#[derive(Default)]
struct Row {
    requests: u64,
    ours: u64,
    crs: u64,
    li: u64,
}

impl Row {
    fn add(&mut self, v: &Verdicts) {
        self.requests += 1;
        self.ours += u64::from(v.ours);
        self.crs += u64::from(v.crs == Some(true));
        self.li += u64::from(v.li == Some(true));
    }
}

/// Each engine's verdict on one request (None: that peer did not run).
struct Verdicts {
    ours: bool,
    crs: Option<bool>,
    li: Option<bool>,
}

fn pct(n: u64, of: u64) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

/// `n / of` as a percentage with `digits` decimals, or `—` when the engine did not run.
fn cell(n: u64, of: u64, ran: bool, digits: usize) -> String {
    if ran {
        format!("{:.*}%", digits, pct(n, of))
    } else {
        "—".to_string()
    }
}

/// The short name of a corpus source (`repository:path` to its repository's name).
fn source_name(source: &str) -> &str {
    let repo = source.split(':').next().unwrap_or(source);
    repo.rsplit('/').next().unwrap_or(repo)
}

/// Where the peers' venv and cached answers live: `bench-peers/` in the target directory
/// this binary was built into.
fn peers_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("bench-peers")))
        .unwrap_or_else(|| std::env::temp_dir().join("sec-agent-bench-peers"))
}

/// libinjection is shown for the classes it detects.
fn li_class(class: &str) -> bool {
    class == "sqli" || class == "xss"
}

/// The section: recall per class and per source, false positives per benign set, for
/// sec-agent and both peers.
pub fn quality(out: &mut String) -> Result<()> {
    const HEADING: &str = "## Detection quality (development corpus, default config)\n";
    if !corpus_dir().join("attacks.jsonl").exists() {
        // The corpus lives beside the repository, not in it: a checkout without it still
        // runs every other section.
        let _ = writeln!(
            out,
            "{HEADING}\nNo corpus at {} (set SEC_AGENT_CORPUS): not measured.\n",
            corpus_dir().display()
        );
        return Ok(());
    }
    let attacks: Vec<Attack> = requests::read(&corpus_dir().join("attacks.jsonl"))?;
    let mut sets: Vec<(String, Vec<Benign>)> = vec![(
        "benign.jsonl".to_string(),
        requests::read(&corpus_dir().join("benign.jsonl"))?,
    )];
    for path in requests::extra_benign_files() {
        let name = format!(
            "sec-agent/tests/data/benign/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        sets.push((name, requests::read(&path)?));
    }
    let benign_sets: Vec<Vec<Benign>> = sets.iter_mut().map(|(_, v)| std::mem::take(v)).collect();
    let set_names: Vec<String> = sets.into_iter().map(|(n, _)| n).collect();
    let probes = requests::probes(&attacks, &benign_sets);
    eprintln!("quality: {} requests", probes.len());

    // sec-agent.
    let started = Instant::now();
    let config = Config::parse("[detections.request_flood]\nmode = \"off\"\n", "quality")?;
    let mut offline = Offline::new(&config, IpAddr::from([198, 51, 100, 7]))?;
    let ours: Vec<bool> = probes
        .iter()
        .map(|p| {
            offline
                .inspect(&p.raw)
                .is_some_and(|v| !v.findings.is_empty())
        })
        .collect();
    let ours_secs = started.elapsed().as_secs_f64();

    // The peers; a peer that cannot run leaves its column empty and says why.
    let peers = peers_dir();
    let raws: Vec<&[u8]> = probes.iter().map(|p| p.raw.as_slice()).collect();
    let installed = modsecurity::ensure_installed()
        .inspect_err(|e| eprintln!("quality: installing the peers failed: {e:#}"));
    let crs = installed
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .and_then(|()| modsecurity::judge(&peers, &raws))
        .inspect_err(|e| eprintln!("quality: ModSecurity + CRS not measured: {e:#}"));
    let started = Instant::now();
    let values: Vec<&str> = probes.iter().map(|p| p.value.as_str()).collect();
    let li = libinjection::judge(&peers, &values)
        .inspect_err(|e| eprintln!("quality: libinjection not measured: {e:#}"));
    let li_secs = started.elapsed().as_secs_f64();

    let verdict = |i: usize| Verdicts {
        ours: ours[i],
        crs: crs.as_ref().ok().map(|a| a.status[i] == 403),
        li: li.as_ref().ok().map(|v| v[i].any()),
    };

    // `SEC_AGENT_QUALITY_MISSES=traversal` prints that class's missed payloads on stderr.
    let show_misses = std::env::var("SEC_AGENT_QUALITY_MISSES").unwrap_or_default();
    let mut by_class: BTreeMap<&str, Row> = BTreeMap::new();
    let mut by_source: BTreeMap<(&str, &str), Row> = BTreeMap::new();
    // Per class: requests sec-agent missed that CRS / libinjection caught.
    let mut missed: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    // Per benign set: (hard, plain).
    let mut fp: Vec<(Row, Row)> = (0..benign_sets.len()).map(|_| Default::default()).collect();
    let mut examples = Vec::new();
    // Answers other than 200 and 403, per status: (attack requests, benign requests).
    let mut odd: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    for (i, p) in probes.iter().enumerate() {
        let v = verdict(i);
        if let Ok(a) = &crs {
            let st = a.status[i];
            if st != 200 && st != 403 {
                let e = odd.entry(st).or_default();
                match p.label {
                    Label::Attack(_) => e.0 += 1,
                    Label::Benign { .. } => e.1 += 1,
                }
            }
        }
        match p.label {
            Label::Attack(n) => {
                let a = &attacks[n];
                if !v.ours {
                    let m = missed.entry(&a.class).or_default();
                    m.0 += 1;
                    m.1 += u64::from(v.crs == Some(true));
                    m.2 += u64::from(v.li == Some(true));
                    if show_misses == a.class {
                        eprintln!(
                            "quality: missed {}",
                            serde_json::json!({
                                "carrier": p.carrier.name(),
                                "payload": a.payload,
                                "crs": v.crs,
                                "crs_status": crs.as_ref().ok().map(|c| c.status[i]),
                                "libinjection": v.li,
                            })
                        );
                    }
                }
                by_class.entry(&a.class).or_default().add(&v);
                by_source
                    .entry((&a.class, source_name(&a.source)))
                    .or_default()
                    .add(&v);
            }
            Label::Benign { set, hard } => {
                if v.ours && examples.len() < 40 {
                    examples.push((set, p.value.clone()));
                }
                let (h, pl) = &mut fp[set];
                if hard { h } else { pl }.add(&v);
            }
        }
    }
    for (set, e) in &examples {
        eprintln!("quality: false positive ({}): {e:?}", set_names[*set]);
    }

    let (crs_ran, li_ran) = (crs.is_ok(), li.is_ok());
    let _ = writeln!(out, "{HEADING}");
    let _ = writeln!(
        out,
        "`../shared/corpus/`: each attack payload in two requests (query string, JSON body), each benign value in one (query string or form, as its context says). The same request bytes go through sec-agent's own inspection path (`sec-agent inspect`'s library call; detected when any detection reports anything) and through nginx with ModSecurity + CRS on loopback (detected on a 403); libinjection judges the value the application receives (detected when `is_sql_injection` or `is_xss` fires; shown for SQLi and XSS only).\n"
    );
    let _ = writeln!(
        out,
        "- ModSecurity + CRS PL1: {}",
        match &crs {
            Ok(a) => format!(
                "{}; `SecRuleEngine On`, request bodies on (JSON body processor for `application/json`), paranoia level 1, anomaly threshold 5; {}.",
                a.versions,
                if a.cached {
                    "answers **from the cache** of an earlier run with the same requests, packages and configuration".to_string()
                } else {
                    format!(
                        "{} requests sent in {:.0} s over 4 keep-alive connections",
                        probes.len(),
                        a.seconds
                    )
                }
            ),
            Err(e) => format!("not measured ({e:#})."),
        }
    );
    let _ = writeln!(
        out,
        "- libinjection: {}",
        match &li {
            Ok(_) => format!(
                "{} (`is_sql_injection`, `is_xss`), {} values in {li_secs:.0} s.",
                libinjection::version(),
                probes.len()
            ),
            Err(e) => format!("not measured ({e:#})."),
        }
    );
    let _ = writeln!(
        out,
        "- sec-agent: {} requests in {ours_secs:.1} s (one thread).\n",
        probes.len()
    );
    let _ = writeln!(
        out,
        "| class | requests | sec-agent | ModSecurity + CRS PL1 | libinjection |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    // The three engines' recall cells of one row.
    let recall = |r: &Row, class: &str| {
        format!(
            "{} | {} | {} | {}",
            r.requests,
            cell(r.ours, r.requests, true, 1),
            cell(r.crs, r.requests, crs_ran, 1),
            cell(r.li, r.requests, li_ran && li_class(class), 1)
        )
    };
    for (class, r) in &by_class {
        let _ = writeln!(out, "| {class} | {} |", recall(r, class));
    }
    let fp_row = |out: &mut String, what: &str, r: &Row| {
        let _ = writeln!(
            out,
            "| false positives, {what} | {} | {} | {} | {} |",
            r.requests,
            cell(r.ours, r.requests, true, 2),
            cell(r.crs, r.requests, crs_ran, 2),
            cell(r.li, r.requests, li_ran, 2)
        );
    };
    for (set, (hard, plain)) in fp.iter().enumerate() {
        if set == 0 {
            fp_row(out, "hard benign", hard);
            fp_row(out, "plain benign", plain);
        } else {
            fp_row(out, &format!("hard, `{}`", set_names[set]), hard);
            fp_row(out, &format!("plain, `{}`", set_names[set]), plain);
        }
    }
    let pooled = |pick: fn(&(Row, Row)) -> &Row| {
        let mut all = Row::default();
        for r in fp.iter().map(pick) {
            all.requests += r.requests;
            all.ours += r.ours;
            all.crs += r.crs;
            all.li += r.li;
        }
        all
    };
    let (hard, plain) = (pooled(|p| &p.0), pooled(|p| &p.1));
    if fp.len() > 1 {
        fp_row(out, "hard, all benign sets", &hard);
        fp_row(out, "plain, all benign sets", &plain);
    }

    if crs_ran && odd.is_empty() {
        let _ = writeln!(
            out,
            "\nnginx answered every request with 200 or 403 (none refused as malformed)."
        );
    } else if !odd.is_empty() {
        let list: Vec<String> =
            odd.iter()
                .map(|(st, (a, b))| {
                    let what = match st {
                        0 => "no parseable answer".to_string(),
                        400 => "400 (nginx or ModSecurity refused the request as malformed)"
                            .to_string(),
                        s => s.to_string(),
                    };
                    format!("{what}: {a} attack and {b} benign requests")
                })
                .collect();
        let _ = writeln!(
            out,
            "\nAnswers from nginx other than 200 and 403 (counted as not detected): {}.",
            list.join("; ")
        );
    }

    let _ = writeln!(out, "\nMissed by sec-agent, caught by a peer (requests):\n");
    let _ = writeln!(
        out,
        "| class | missed by sec-agent | of which CRS caught | of which libinjection caught |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for (class, (n, c, l)) in &missed {
        let _ = writeln!(
            out,
            "| {class} | {n} | {} | {} |",
            if crs_ran { c.to_string() } else { "—".into() },
            if li_ran && li_class(class) {
                l.to_string()
            } else {
                "—".into()
            }
        );
    }

    let _ = writeln!(out, "\nRecall per source:\n");
    let _ = writeln!(
        out,
        "| class | source | requests | sec-agent | ModSecurity + CRS PL1 | libinjection |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for ((class, source), r) in &by_source {
        let _ = writeln!(out, "| {class} | {source} | {} |", recall(r, class));
    }

    let worst = by_class
        .values()
        .map(|r| pct(r.ours, r.requests))
        .fold(f64::INFINITY, f64::min);
    let (hard_pct, plain_pct) = (
        pct(hard.ours, hard.requests),
        pct(plain.ours, plain.requests),
    );
    let met = worst >= 97.0 && hard_pct <= 0.1 && plain_pct <= 0.02;
    let pooled_note = if fp.len() > 1 {
        format!(" (pooled over benign.jsonl and {} more sets)", fp.len() - 1)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\nTarget: recall at least 97% in every class, false positives at most 0.1% (hard) and 0.02% (plain): lowest recall {worst:.1}%, false positives {hard_pct:.2}% / {plain_pct:.2}%{pooled_note}, **{}**.\n",
        if met { "met" } else { "not met" }
    );
    Ok(())
}
