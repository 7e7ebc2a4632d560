//! `sec-agent ip ADDR`: the per-address view.

use std::net::IpAddr;

use anyhow::Result;
use clap::Args;

use super::output::print_json;
use crate::{
    error::input_error,
    service::{control::Request, verbs},
};

/// `ip` options.
#[derive(Debug, Args)]
pub struct IpArgs {
    /// The address.
    addr: String,
    /// JSON output.
    #[arg(long)]
    json: bool,
}

pub(super) fn exec(args: IpArgs, ctx: &super::Ctx) -> Result<()> {
    let addr: IpAddr = args
        .addr
        .parse()
        .map_err(|_| input_error(format!("`{}` is not an IP address", args.addr)))?;
    let info = match ctx.agent()? {
        Some(mut agent) => agent.call(&Request::Ip {
            addr: addr.to_string(),
        })?,
        None => {
            eprintln!(
                "note: no agent answers on {}: showing the pinned maps only",
                ctx.socket.display()
            );
            verbs::address(&mut ctx.maps()?, addr, None)?
        }
    };
    if args.json {
        print_json(&info);
        return Ok(());
    }
    println!("address:      {}", info["address"].as_str().unwrap_or("?"));
    println!("allowlisted:  {}", info["allowlisted"]);
    match info["ban"].as_object() {
        None => println!("banned:       no"),
        Some(b) => {
            println!(
                "banned:       yes, by {} ({})",
                b["target"].as_str().unwrap_or("?"),
                b["origin"].as_str().unwrap_or("?")
            );
            if let Some(note) = b["note"].as_str() {
                println!("why:          {note}");
            }
            match b["expires"].as_str() {
                Some(t) => println!("until:        {t}"),
                None => println!("until:        permanent"),
            }
        }
    }
    if let Some(n) = info["requests"].as_u64() {
        println!("requests:     {n} ({} answered 4xx)", info["client_errors"]);
        println!("bans issued:  {}", info["bans_issued"]);
    }
    for d in info["recent_detections"].as_array().into_iter().flatten() {
        println!(
            "detection:    {} {}/{} -> {}  {}",
            d["time"].as_str().unwrap_or(""),
            d["detection"].as_str().unwrap_or(""),
            d["class"].as_str().unwrap_or(""),
            d["action"].as_str().unwrap_or(""),
            d["fragment"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
