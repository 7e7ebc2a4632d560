//! The agent's TOML configuration: every key optional, defaults embedded, unknown keys are
//! errors, and every error names the file, line and key. `config/sec-agent.toml` documents
//! each key with its default.

use std::{fmt, path::Path, path::PathBuf, time::Duration};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de};
use toml::Spanned;

use crate::{
    de::{capacity, duration},
    inspect::{
        decide::DecideConfig, detect::DetectionsConfig, parse::Limits, reassemble::ReassemblyConfig,
    },
    kernel::capture::CaptureConfig,
    net::{PortSpec, parse_net},
    service::events::EventsConfig,
};
use sec_agent_common::{RateConfig, maps as m};

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[xdp]`: where and how the program is attached.
    pub xdp: XdpSection,
    /// `[maps]`: map capacities, fixed when the maps are first created.
    pub maps: MapsSection,
    /// `[rate_limit]`: applied at start when present; absent keeps what the maps hold.
    pub rate_limit: Option<Spanned<RateLimitSection>>,
    /// `[allowlist]`: networks added to the allowlist at start.
    pub allowlist: AllowlistSection,
    /// `[ports]`: destination ports only allowlisted sources may reach, set at start.
    pub ports: PortsSection,
    /// `[capture]`: which traffic is copied to user space, and the ring size.
    pub capture: CaptureConfig,
    /// `[http]`: parsing limits.
    pub http: Limits,
    /// `[reassembly]`: flow table caps.
    pub reassembly: ReassemblyConfig,
    /// `[detections]` and its subsections: what is detected and what follows.
    pub detections: DetectionsConfig,
    /// `[decide]`: ban escalation for repeat offenders.
    pub decide: DecideConfig,
    /// `[events]`: the JSON event log.
    pub events: EventsConfig,
    /// `[state]`: the journal and reconciliation.
    pub state: StateSection,
    /// `[control]`: the control socket.
    pub control: ControlSection,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsSection,
}

/// How XDP is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// Native (driver) mode, falling back to generic (skb) mode when the driver lacks XDP.
    #[default]
    Auto,
    /// Native (driver) mode only.
    Native,
    /// Generic (skb) mode: works on every interface, slower.
    Skb,
}

/// `[xdp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XdpSection {
    /// Interfaces to protect when `--iface` is not given.
    pub interfaces: Vec<String>,
    /// Attach mode.
    pub mode: XdpMode,
    /// Directory on a bpffs for pinned maps and links.
    pub pin_path: PathBuf,
    /// How often expired bans are removed from the maps (humantime, e.g. "5s").
    #[serde(deserialize_with = "duration")]
    pub sweep_interval: Duration,
}

impl Default for XdpSection {
    fn default() -> Self {
        XdpSection {
            interfaces: Vec::new(),
            mode: XdpMode::Auto,
            pin_path: PathBuf::from(crate::DEFAULT_PIN_PATH),
            sweep_interval: Duration::from_secs(5),
        }
    }
}

/// `[maps]`: capacities (entries). Only used when a map is created; an existing pinned map
/// keeps its size (the agent warns when they differ).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MapsSection {
    /// Exact IPv4 bans.
    #[serde(deserialize_with = "capacity")]
    pub ban_v4: u32,
    /// Exact IPv6 bans.
    #[serde(deserialize_with = "capacity")]
    pub ban_v6: u32,
    /// IPv4 range bans.
    #[serde(deserialize_with = "capacity")]
    pub range_v4: u32,
    /// IPv6 range bans.
    #[serde(deserialize_with = "capacity")]
    pub range_v6: u32,
    /// IPv4 allowlist entries.
    #[serde(deserialize_with = "capacity")]
    pub allow_v4: u32,
    /// IPv6 allowlist entries.
    #[serde(deserialize_with = "capacity")]
    pub allow_v6: u32,
    /// Rate-limit buckets (both families; least recently used evicted).
    #[serde(deserialize_with = "capacity")]
    pub rate_limit: u32,
}

impl Default for MapsSection {
    fn default() -> Self {
        MapsSection {
            ban_v4: m::DEFAULT_BAN_ENTRIES,
            ban_v6: m::DEFAULT_BAN_ENTRIES,
            range_v4: m::DEFAULT_RANGE_ENTRIES,
            range_v6: m::DEFAULT_RANGE_ENTRIES,
            allow_v4: m::DEFAULT_ALLOW_ENTRIES,
            allow_v6: m::DEFAULT_ALLOW_ENTRIES,
            rate_limit: m::DEFAULT_RATE_ENTRIES,
        }
    }
}

impl MapsSection {
    /// `(map name, capacity)` for every map whose size comes from config.
    pub fn capacities(&self) -> [(&'static str, u32); 7] {
        [
            (m::BAN_V4, self.ban_v4),
            (m::BAN_V6, self.ban_v6),
            (m::RANGE_V4, self.range_v4),
            (m::RANGE_V6, self.range_v6),
            (m::ALLOW_V4, self.allow_v4),
            (m::ALLOW_V6, self.allow_v6),
            (m::RATE_STATE, self.rate_limit),
        ]
    }
}

/// `[rate_limit]`: per-source token bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Packets per second per source; 0 disables.
    pub pps: u64,
    /// Bucket depth in packets.
    pub burst: u64,
    /// IPv4 sources sharing one bucket.
    #[serde(default = "default_v4_prefix")]
    pub v4_prefix: u32,
    /// IPv6 sources sharing one bucket.
    #[serde(default = "default_v6_prefix")]
    pub v6_prefix: u32,
}

fn default_v4_prefix() -> u32 {
    32
}

fn default_v6_prefix() -> u32 {
    64
}

impl RateLimitSection {
    /// The kernel policy, or why the values are out of range.
    pub fn to_rate_config(&self) -> Result<RateConfig, String> {
        rate_config(self.pps, self.burst, self.v4_prefix, self.v6_prefix)
    }
}

/// Validated [`RateConfig::new`], with a message naming the offending key.
pub fn rate_config(
    pps: u64,
    burst: u64,
    v4_prefix: u32,
    v6_prefix: u32,
) -> Result<RateConfig, String> {
    if v4_prefix > 32 {
        return Err(format!("v4_prefix = {v4_prefix}: must be 0..=32"));
    }
    if v6_prefix > 128 {
        return Err(format!("v6_prefix = {v6_prefix}: must be 0..=128"));
    }
    if pps > RateConfig::MAX_PPS {
        return Err(format!(
            "pps = {pps}: must be at most {}",
            RateConfig::MAX_PPS
        ));
    }
    if burst > RateConfig::MAX_BURST {
        return Err(format!(
            "burst = {burst}: must be at most {}",
            RateConfig::MAX_BURST
        ));
    }
    if pps > 0 && burst == 0 {
        return Err("burst = 0: must be at least 1 when pps > 0".to_string());
    }
    RateConfig::new(pps, burst, v4_prefix, v6_prefix).ok_or_else(|| "out of range".to_string())
}

/// `[allowlist]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AllowlistSection {
    /// Addresses or CIDRs, e.g. `["192.0.2.0/24", "2001:db8::1"]`.
    pub cidrs: Vec<Cidr>,
}

/// An allowlist network parsed from a config string.
#[derive(Debug, Clone, Copy)]
pub struct Cidr(pub IpNet);

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_net(&s).map(Cidr).map_err(de::Error::custom)
    }
}

/// `[ports]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortsSection {
    /// Restricted destination ports: `"22"` (TCP and UDP), `"22/tcp"`, `"53/udp"`.
    pub restricted: Vec<PortSpec>,
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// `[state]`. The state directory itself comes from `run --state-dir`, else
/// `$STATE_DIRECTORY` (set by systemd's `StateDirectory=`), else `/var/lib/sec-agent`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateSection {
    /// How often the kernel maps are compared with the desired state and repaired.
    #[serde(deserialize_with = "duration")]
    pub reconcile_interval: Duration,
}

impl Default for StateSection {
    fn default() -> Self {
        StateSection {
            reconcile_interval: Duration::from_secs(30),
        }
    }
}

/// `[control]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Unix socket for the CLI (mode 0600, root only).
    pub socket: PathBuf,
}

impl Default for ControlSection {
    fn default() -> Self {
        ControlSection {
            socket: PathBuf::from(crate::service::control::DEFAULT_SOCKET),
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Address of the `/metrics` endpoint; empty string turns it off. Binding beyond
    /// loopback exposes traffic data (addresses, paths, counts) to the network.
    pub listen: String,
}

impl Default for MetricsSection {
    fn default() -> Self {
        MetricsSection {
            listen: "127.0.0.1:9891".into(),
        }
    }
}

/// A configuration error with its position.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The file (or `<built-in>`).
    pub origin: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong; names the key.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.origin, self.message),
            _ => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl Config {
    /// Reads and validates a file.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, line, column and key; an unreadable file is an error
    /// with no line.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: path.display().to_string(),
            line: None,
            column: None,
            message: format!("cannot read: {e}"),
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let at = |span: Option<std::ops::Range<usize>>, message: String| {
            let (line, column) = match span {
                Some(span) => line_col(text, span.start),
                None => (None, None),
            };
            ConfigError {
                origin: origin.to_string(),
                line,
                column,
                message,
            }
        };
        let config: Config =
            toml::from_str(text).map_err(|e| at(e.span(), e.message().trim().to_string()))?;
        if let Some(rl) = &config.rate_limit {
            rl.get_ref()
                .to_rate_config()
                .map_err(|msg| at(Some(rl.span()), format!("[rate_limit] {msg}")))?;
        }
        Ok(config)
    }
}

fn line_col(text: &str, offset: usize) -> (Option<usize>, Option<usize>) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (Some(line), Some(column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", "t").unwrap();
        assert_eq!(c.maps.ban_v4, 1 << 20);
        assert_eq!(c.xdp.sweep_interval, Duration::from_secs(5));
        assert!(c.rate_limit.is_none());
    }

    #[test]
    fn shipped_config_documents_exactly_the_defaults() {
        let text = include_str!("../../config/sec-agent.toml");
        let shipped = Config::parse(text, "config/sec-agent.toml").unwrap();
        assert_eq!(format!("{shipped:#?}"), format!("{:#?}", Config::default()));
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let err = Config::parse("[xdp]\nmode = \"skb\"\nbogus = 1\n", "f.toml").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("bogus"), "{err}");
        assert!(err.to_string().starts_with("f.toml:3:"), "{err}");
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = Config::parse("[allowlist]\ncidrs = [\"10.0.0.1/8\"]\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("host bits"), "{err}");

        let err = Config::parse("[maps]\n\nban_v4 = 0\n", "f").unwrap_err();
        assert_eq!(err.line, Some(3));

        let err = Config::parse("[xdp]\nsweep_interval = \"soon\"\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));

        let err = Config::parse("[ports]\nrestricted = [\"22/sctp\"]\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));

        let err = Config::parse("[capture]\nring_version = 1\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("must be 2"), "{err}");

        let err = Config::parse("[capture]\nring_block_size = 100000\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("power of two"), "{err}");
    }

    #[test]
    fn rate_limit_is_validated() {
        let err = Config::parse("\n[rate_limit]\npps = 10\nburst = 0\n", "f").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("burst"), "{err}");
        let ok = Config::parse("[rate_limit]\npps = 10\nburst = 5\n", "f").unwrap();
        let rc = ok
            .rate_limit
            .unwrap()
            .into_inner()
            .to_rate_config()
            .unwrap();
        assert_eq!(
            (rc.pps, rc.burst, rc.v4_prefix, rc.v6_prefix),
            (10, 5, 32, 64)
        );
    }
}
