//! The agent's TOML configuration: every key optional, defaults embedded, unknown keys are
//! errors, and every error names the file, line and key. `config/sec-agent.toml` documents
//! each key with its default.

use std::{fmt, path::Path, path::PathBuf, time::Duration};

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, de};
use toml::Spanned;

use crate::capture::RingVersion;
use crate::net::{PortSpec, parse_net};
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
    pub capture: CaptureSection,
    /// `[http]`: parsing limits.
    pub http: HttpSection,
    /// `[reassembly]`: flow table caps.
    pub reassembly: ReassemblySection,
    /// `[detections]` and its subsections: what is detected and what follows.
    pub detections: DetectionsConfig,
    /// `[decide]`: ban escalation for repeat offenders.
    pub decide: DecideSection,
    /// `[events]`: the JSON event log.
    pub events: EventsSection,
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

/// What a detection does with its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Not run at all.
    Off,
    /// Findings are logged as events; nobody is banned.
    Monitor,
    /// Findings are logged and the source is banned in the kernel.
    Ban,
}

impl Mode {
    /// Config name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Monitor => "monitor",
            Mode::Ban => "ban",
        }
    }
}

/// `[capture]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// TCP ports carrying cleartext HTTP (both directions are captured).
    pub http_ports: Vec<u16>,
    /// Ring layout: `2` (TPACKET_V2, the reader wakes for every packet) or `3`
    /// (TPACKET_V3, it wakes per block, up to `ring_block_timeout` later).
    #[serde(deserialize_with = "ring_version")]
    pub ring_version: RingVersion,
    /// Bytes per ring block (power of two, at least 16 KiB).
    #[serde(deserialize_with = "ring_block_size")]
    pub ring_block_size: u32,
    /// Blocks per ring, per interface.
    pub ring_blocks: u32,
    /// Version 3 only: longest a partly filled block waits before it is read (1 ms
    /// granularity).
    #[serde(deserialize_with = "duration")]
    pub ring_block_timeout: Duration,
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            http_ports: vec![80, 8080],
            // A wake-up per packet: V3's block timeout alone would add up to 1 ms to every
            // ban (BENCHMARKS.md, ban latency).
            ring_version: RingVersion::V2,
            // V2: 81 slots of 1600 bytes per block, 10,368 in all. V3: small blocks, many
            // of them: under light load the 1 ms timeout retires a block per millisecond
            // however little it holds, so the number of blocks, not the bytes, sets how
            // long the agent may stall before frames drop (128 ms here). 128 KiB still
            // holds the largest GRO frame (64 KiB).
            ring_block_size: 128 << 10,
            ring_blocks: 128,
            ring_block_timeout: Duration::from_millis(1),
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Largest request or response head (start line and headers), bytes.
    pub max_head_bytes: usize,
    /// Most header fields in one message.
    pub max_headers: usize,
    /// Body bytes inspected per message; the rest is skipped.
    pub body_inspect_limit: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            max_head_bytes: 32 << 10,
            max_headers: 100,
            body_inspect_limit: 64 << 10,
        }
    }
}

/// `[reassembly]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReassemblySection {
    /// Flows tracked at once (least recently active evicted).
    pub max_flows: usize,
    /// Out-of-order bytes buffered per stream.
    pub max_flow_buffer: usize,
    /// Out-of-order bytes buffered in all.
    pub max_total_buffer: usize,
    /// A flow without packets for this long is dropped.
    #[serde(deserialize_with = "duration")]
    pub idle_timeout: Duration,
}

impl Default for ReassemblySection {
    fn default() -> Self {
        ReassemblySection {
            max_flows: 65_536,
            max_flow_buffer: 256 << 10,
            max_total_buffer: 64 << 20,
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// `[detections]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionsConfig {
    /// Sources tracked by the per-source detections (least recently seen evicted).
    pub max_sources: usize,
    /// Path prefixes that bypass request inspection (request floods are still counted).
    pub ignore_paths: Vec<String>,
    /// `[detections.payload]`.
    pub payload: PayloadSection,
    /// `[detections.user_agent]`.
    pub user_agent: UserAgentSection,
    /// `[detections.enumeration]`.
    pub enumeration: EnumerationSection,
    /// `[detections.request_flood]`.
    pub request_flood: FloodSection,
    /// `[detections.decoy_path]`.
    pub decoy_path: DecoySection,
}

impl Default for DetectionsConfig {
    fn default() -> Self {
        DetectionsConfig {
            max_sources: 100_000,
            ignore_paths: Vec::new(),
            payload: PayloadSection::default(),
            user_agent: UserAgentSection::default(),
            enumeration: EnumerationSection::default(),
            request_flood: FloodSection::default(),
            decoy_path: DecoySection::default(),
        }
    }
}

impl DetectionsConfig {
    /// Mode and ban TTL of a detection.
    pub fn policy(&self, kind: crate::detect::DetectionKind) -> (Mode, Duration) {
        use crate::detect::DetectionKind::*;
        match kind {
            Payload => (self.payload.mode, self.payload.ttl),
            UserAgent => (self.user_agent.mode, self.user_agent.ttl),
            Enumeration => (self.enumeration.mode, self.enumeration.ttl),
            RequestFlood => (self.request_flood.mode, self.request_flood.ttl),
            DecoyPath => (self.decoy_path.mode, self.decoy_path.ttl),
        }
    }
}

/// `[detections.payload]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayloadSection {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL (before escalation).
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// Built-in classes: sqli, xss, cmdi, traversal, ssrf.
    #[serde(deserialize_with = "classes")]
    pub classes: Vec<crate::detect::payload::Class>,
    /// Files of literal patterns (one per line, case-insensitive).
    pub literal_files: Vec<PathBuf>,
    /// Files of regular expressions (one per line).
    pub regex_files: Vec<PathBuf>,
}

impl Default for PayloadSection {
    fn default() -> Self {
        PayloadSection {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            classes: crate::detect::payload::Class::ALL.to_vec(),
            literal_files: Vec::new(),
            regex_files: Vec::new(),
        }
    }
}

/// `[detections.user_agent]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserAgentSection {
    /// off, monitor or ban, for scanner User-Agents.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// What a missing or empty User-Agent gets: off, monitor or ban.
    pub missing: Mode,
    /// Case-insensitive substrings that name a scanner.
    pub scanners: Vec<String>,
    /// Regular expressions matched against the whole User-Agent.
    pub regexes: Vec<String>,
}

impl Default for UserAgentSection {
    fn default() -> Self {
        UserAgentSection {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            missing: Mode::Monitor,
            scanners: crate::detect::user_agent::DEFAULT_SCANNERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            regexes: Vec::new(),
        }
    }
}

/// `[detections.enumeration]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnumerationSection {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// Response codes that count.
    pub statuses: Vec<u16>,
    /// Responses within `window` that trigger.
    pub threshold: u32,
    /// Sliding window.
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
}

impl Default for EnumerationSection {
    fn default() -> Self {
        EnumerationSection {
            mode: Mode::Ban,
            ttl: Duration::from_secs(600),
            statuses: vec![401, 403, 404],
            threshold: 20,
            window: Duration::from_secs(60),
        }
    }
}

/// `[detections.request_flood]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloodSection {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// Requests within `window` above which a source floods.
    pub threshold: u32,
    /// Sliding window.
    #[serde(deserialize_with = "duration")]
    pub window: Duration,
}

impl Default for FloodSection {
    fn default() -> Self {
        FloodSection {
            mode: Mode::Ban,
            ttl: Duration::from_secs(600),
            threshold: 600,
            window: Duration::from_secs(60),
        }
    }
}

/// `[detections.decoy_path]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecoySection {
    /// off, monitor or ban.
    pub mode: Mode,
    /// Ban TTL.
    #[serde(deserialize_with = "duration")]
    pub ttl: Duration,
    /// Decoy paths: `/x` exact, `/x/` or `/x*` prefix, `*/x` anywhere.
    pub paths: Vec<String>,
}

impl Default for DecoySection {
    fn default() -> Self {
        DecoySection {
            mode: Mode::Ban,
            ttl: Duration::from_secs(3600),
            paths: crate::detect::decoy::DEFAULT_DECOYS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// `[decide]`: repeat offenders get longer bans (fail2ban's `bantime.increment`): the n-th
/// ban of a source lasts `ttl * factor^(n-1)`, at most `max_ttl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecideSection {
    /// Whether bans grow for repeat offenders.
    pub ban_increment: bool,
    /// Growth factor per previous ban (>= 1).
    pub factor: f64,
    /// Longest ban a detection issues.
    #[serde(deserialize_with = "duration")]
    pub max_ttl: Duration,
}

impl Default for DecideSection {
    fn default() -> Self {
        DecideSection {
            ban_increment: true,
            factor: 2.0,
            max_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// What the request log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestsLog {
    /// No request lines.
    None,
    /// Requests with a finding.
    Rejected,
    /// Every inspected request.
    All,
}

/// `[events]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSection {
    /// JSON-lines event file; empty string: tracing only.
    pub file: PathBuf,
    /// Request log tier: none, rejected or all.
    pub requests_log: RequestsLog,
}

impl Default for EventsSection {
    fn default() -> Self {
        EventsSection {
            file: PathBuf::from("/var/log/sec-agent/events.jsonl"),
            requests_log: RequestsLog::Rejected,
        }
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
            socket: PathBuf::from(crate::control::DEFAULT_SOCKET),
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

fn classes<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<crate::detect::payload::Class>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|n| {
            crate::detect::payload::Class::from_name(n).ok_or_else(|| {
                de::Error::custom(format!(
                    "unknown payload class `{n}` (sqli, xss, cmdi, traversal, ssrf)"
                ))
            })
        })
        .collect()
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let value = humantime::parse_duration(&s)
        .map_err(|e| de::Error::custom(format!("`{s}` is not a duration like \"5s\": {e}")))?;
    if value.is_zero() {
        return Err(de::Error::custom("must be longer than 0s"));
    }
    Ok(value)
}

fn ring_version<'de, D: Deserializer<'de>>(d: D) -> Result<RingVersion, D::Error> {
    match u8::deserialize(d)? {
        2 => Ok(RingVersion::V2),
        3 => Ok(RingVersion::V3),
        n => Err(de::Error::custom(format!(
            "ring version {n}: must be 2 (TPACKET_V2, a wake-up per packet) or 3 (TPACKET_V3, a wake-up per block)"
        ))),
    }
}

fn ring_block_size<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if !n.is_power_of_two() || n < 16 << 10 {
        return Err(de::Error::custom(format!(
            "{n}: must be a power of two of at least 16384"
        )));
    }
    Ok(n)
}

fn capacity<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n == 0 {
        return Err(de::Error::custom("capacity must be at least 1"));
    }
    Ok(n)
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
