//! `sec-agent inspect [--config FILE] [PATH|-]`: runs raw HTTP requests through the
//! agent's inspection and decision offline, one JSON line per request, or counts with
//! `--summary`. No root, no BPF, no network: operators test patterns and config changes
//! before a reload.
//!
//! Exit codes: 0 when every request parsed, 2 when one did not (reported on its own
//! line; the others still run) or the input cannot be read, 1 otherwise.

use std::{collections::BTreeMap, net::IpAddr, path::PathBuf};

use anyhow::Result;
use clap::Args;
use serde_json::{Value, json};

use crate::{
    error::input_error,
    offline::{Offline, Sample, Verdict, read_samples},
    service::daemon::load_config,
};

/// `inspect` options.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A raw request, an annotated `.http` file, a directory of them, or `-` for standard
    /// input.
    #[arg(default_value = "-")]
    path: PathBuf,
    /// Config whose detections and policies apply (default: the built-in defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Source address the requests come from (matters for the allowlist).
    #[arg(long, default_value = "192.0.2.1")]
    source: IpAddr,
    /// Print counts per detection and class instead of one line per request.
    #[arg(long)]
    summary: bool,
}

pub(super) fn exec(args: InspectArgs) -> Result<()> {
    let config = load_config(args.config.as_deref())?;
    let samples = read_samples(&args.path).map_err(|e| input_error(format!("{e:#}")))?;
    let mut offline = Offline::new(&config, args.source)?;
    let mut summary = Summary::default();
    for sample in &samples {
        let verdict = offline.inspect(&sample.raw);
        summary.add(sample, verdict.as_ref());
        if !args.summary {
            println!("{}", line(sample, verdict.as_ref()));
        }
    }
    if args.summary {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary.to_json()).expect("JSON")
        );
    }
    if summary.unparsable > 0 {
        return Err(input_error(format!(
            "{} of {} requests could not be parsed",
            summary.unparsable,
            samples.len()
        )));
    }
    Ok(())
}

fn line(sample: &Sample, verdict: Option<&Verdict>) -> Value {
    let Some(v) = verdict else {
        return json!({
            "origin": sample.origin,
            "error": "not one complete HTTP/1.x request",
        });
    };
    let findings: Vec<Value> = v
        .findings
        .iter()
        .map(|j| {
            let f = &j.finding;
            json!({
                "detection": f.detection.name(),
                "class": f.class,
                "rule": f.rule,
                "location": f.location.map(|l| l.name()),
                "name": f.name,
                "fragment": f.fragment,
                "raw": f.raw,
                "action": j.outcome.name(),
                "ttl_secs": j.outcome.ttl().map(|t| t.as_secs()),
            })
        })
        .collect();
    let mut out = json!({
        "origin": sample.origin,
        "request": v.request_line,
        "decision": v.decision(),
        "findings": findings,
    });
    if let Some(e) = &sample.expect {
        out["expect"] = json!(e);
        out["expect_met"] = json!(v.has(e));
    }
    out
}

#[derive(Default)]
struct Summary {
    requests: u64,
    unparsable: u64,
    decisions: BTreeMap<&'static str, u64>,
    /// detection -> class -> findings.
    findings: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    expect_met: u64,
    expect_missed: Vec<String>,
}

impl Summary {
    fn add(&mut self, sample: &Sample, verdict: Option<&Verdict>) {
        self.requests += 1;
        let Some(v) = verdict else {
            self.unparsable += 1;
            return;
        };
        *self.decisions.entry(v.decision()).or_default() += 1;
        for j in &v.findings {
            *self
                .findings
                .entry(j.finding.detection.name())
                .or_default()
                .entry(j.finding.class)
                .or_default() += 1;
        }
        if let Some(e) = &sample.expect {
            if v.has(e) {
                self.expect_met += 1;
            } else {
                self.expect_missed
                    .push(format!("{}: want {e}", sample.origin));
            }
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "unparsable": self.unparsable,
            "decisions": self.decisions,
            "findings": self.findings,
            "expect_met": self.expect_met,
            "expect_missed": self.expect_missed,
        })
    }
}
