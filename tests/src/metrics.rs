//! The agent's Prometheus endpoint, scraped from inside the lab's server namespace on the
//! port the lab gave the agent ([`Lab::metrics_port`]), and the scraped text read back by
//! series.

use std::{
    io::{self, Read as _, Write as _},
    net::TcpStream,
    time::Duration,
};

use crate::{Lab, traffic::in_netns};

/// One scrape of `GET /metrics`: the exposition text, without the HTTP header.
#[derive(Clone, Debug)]
pub struct Metrics {
    text: String,
}

impl Metrics {
    /// `GET /metrics` from the agent of `lab`, over plain TCP inside the server namespace.
    pub(crate) fn scrape(lab: &Lab) -> io::Result<Metrics> {
        let addr = ("127.0.0.1", lab.metrics_port);
        let response = in_netns(&lab.server_ns, || -> io::Result<String> {
            let mut s = TcpStream::connect(addr)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            s.write_all(b"GET /metrics HTTP/1.0\r\nHost: sec-agent\r\n\r\n")?;
            let mut response = String::new();
            s.read_to_string(&mut response)?;
            Ok(response)
        })?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or_else(|| io::Error::other(format!("no HTTP header in: {response}")))?;
        if !head.starts_with("HTTP/1.") || head.split_whitespace().nth(1) != Some("200") {
            return Err(io::Error::other(format!("GET /metrics: {head}")));
        }
        Ok(Metrics {
            text: body.to_string(),
        })
    }

    /// The exposition text as served.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every sample: (metric name, label text between the braces, value).
    pub fn samples(&self) -> impl Iterator<Item = (&str, &str, f64)> {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let value = value.parse().ok()?;
                let (name, labels) = match series.split_once('{') {
                    Some((name, labels)) => (name, labels.trim_end_matches('}')),
                    None => (series, ""),
                };
                Some((name, labels, value))
            })
    }

    /// The first sample of `name` whose labels include every one of `labels`, written as
    /// they appear in the text (e.g. `detection="payload"`).
    pub fn value(&self, name: &str, labels: &[&str]) -> Option<f64> {
        self.samples()
            .find(|(n, l, _)| *n == name && labels.iter().all(|want| l.contains(want)))
            .map(|(_, _, v)| v)
    }

    /// The sum of every sample of `name`, labels folded together (0 when absent).
    pub fn total(&self, name: &str) -> f64 {
        self.samples()
            .filter(|(n, _, _)| *n == name)
            .map(|(_, _, v)| v)
            .sum()
    }
}
