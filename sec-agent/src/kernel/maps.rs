//! Typed access to the pinned maps: every ban, allowlist, port, rate-limit and counter
//! operation of the agent and the CLI goes through [`KernelMaps`].
//!
//! The maps are the system of record: any process that can open the pin directory sees and
//! changes the same state as the running agent.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};
use aya::maps::{
    Array, HashMap, LpmTrie, Map, MapData, MapError, MapInfo, PerCpuArray, lpm_trie::Key,
};
use ipnet::IpNet;
use sec_agent_common::{
    BanEntry, Counter, IfaceInfo, NOTE_LEN, Note, NoteKey, PORT_TCP, PORT_UDP, RateConfig, Verdict,
    maps as m,
};

use crate::{
    error::input_error,
    net::{PortSpec, Target, overlaps, v4_net, v6_net},
};

/// One ban as read from the maps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanRecord {
    /// The banned address or range.
    pub target: Target,
    /// Expiry and origin.
    pub entry: BanEntry,
    /// The operator's note, if any.
    pub note: Option<String>,
}

/// How full one map is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapFill {
    /// Map name (pin file name).
    pub name: &'static str,
    /// Entries present.
    pub entries: u64,
    /// `max_entries` of the map.
    pub capacity: u32,
}

/// Handles on every pinned map of one pin directory.
pub struct KernelMaps {
    pin_dir: PathBuf,
    capacity: BTreeMap<&'static str, u32>,
    ban_v4: HashMap<MapData, [u8; 4], BanEntry>,
    ban_v6: HashMap<MapData, [u8; 16], BanEntry>,
    range_v4: LpmTrie<MapData, [u8; 4], BanEntry>,
    range_v6: LpmTrie<MapData, [u8; 16], BanEntry>,
    allow_v4: LpmTrie<MapData, [u8; 4], u8>,
    allow_v6: LpmTrie<MapData, [u8; 16], u8>,
    rate_cfg: Array<MapData, RateConfig>,
    rate_state: HashMap<MapData, sec_agent_common::RateKey, sec_agent_common::TokenBucket>,
    ports: Array<MapData, u8>,
    stats: PerCpuArray<MapData, Counter>,
    notes: HashMap<MapData, NoteKey, Note>,
    ifaces: HashMap<MapData, u32, IfaceInfo>,
    http_ports: Array<MapData, u8>,
}

/// Every map name, in the order `status` reports them.
pub const ALL_MAPS: [&str; 13] = [
    m::BAN_V4,
    m::BAN_V6,
    m::RANGE_V4,
    m::RANGE_V6,
    m::ALLOW_V4,
    m::ALLOW_V6,
    m::RATE_STATE,
    m::RATE_CFG,
    m::PORTS,
    m::STATS,
    m::BAN_NOTES,
    m::IFACES,
    m::HTTP_PORTS,
];

impl KernelMaps {
    /// Opens the maps pinned under `pin_dir`.
    ///
    /// # Errors
    /// A missing pin (the agent never ran with this pin path, or the maps were removed), or
    /// a map of the wrong type (pinned by an incompatible build).
    pub fn open(pin_dir: &Path) -> Result<Self> {
        let mut capacity = BTreeMap::new();
        for name in ALL_MAPS {
            let info = MapInfo::from_pin(pin_dir.join(name)).with_context(|| {
                format!(
                    "no pinned map {} under {}: start the agent first (sec-agent run --iface IFACE), \
                     or pass the --pin-path it uses",
                    name,
                    pin_dir.display()
                )
            })?;
            capacity.insert(name, info.max_entries());
        }
        let open = |name: &str| -> Result<Map> {
            let data = MapData::from_pin(pin_dir.join(name))
                .with_context(|| format!("opening pinned map {name}"))?;
            Map::from_map_data(data).with_context(|| format!("map {name}"))
        };
        macro_rules! typed {
            ($name:expr) => {
                open($name)?.try_into().with_context(|| {
                    format!(
                        "pinned map {} does not match this sec-agent build (pinned by another \
                         version?); removing {} starts over but drops every ban",
                        $name,
                        pin_dir.display()
                    )
                })?
            };
        }
        Ok(KernelMaps {
            pin_dir: pin_dir.to_path_buf(),
            capacity,
            ban_v4: typed!(m::BAN_V4),
            ban_v6: typed!(m::BAN_V6),
            range_v4: typed!(m::RANGE_V4),
            range_v6: typed!(m::RANGE_V6),
            allow_v4: typed!(m::ALLOW_V4),
            allow_v6: typed!(m::ALLOW_V6),
            rate_cfg: typed!(m::RATE_CFG),
            rate_state: typed!(m::RATE_STATE),
            ports: typed!(m::PORTS),
            stats: typed!(m::STATS),
            notes: typed!(m::BAN_NOTES),
            ifaces: typed!(m::IFACES),
            http_ports: typed!(m::HTTP_PORTS),
        })
    }

    /// The pin directory these maps were opened from.
    pub fn pin_dir(&self) -> &Path {
        &self.pin_dir
    }

    /// `max_entries` of a map.
    pub fn capacity(&self, name: &str) -> u32 {
        self.capacity.get(name).copied().unwrap_or(0)
    }

    // ---- bans -------------------------------------------------------------------------

    /// Bans `target` until `entry.expires_ns`, replacing any ban of the same target (a re-ban
    /// refreshes the expiry). `note` is kept with the ban for `ban list`.
    ///
    /// # Errors
    /// [`crate::error::InputError`] when the target overlaps the allowlist and `force` is
    /// false (self-lockout protection), or when the map is full; the maps are unchanged.
    pub fn ban(
        &mut self,
        target: Target,
        entry: BanEntry,
        note: Option<&str>,
        force: bool,
    ) -> Result<()> {
        if !force
            && let Some(allowed) = self
                .allowlist()?
                .into_iter()
                .find(|a| overlaps(a, &target.net()))
        {
            return Err(input_error(format!(
                "refusing to ban {target}: it overlaps allowlisted {allowed} (the allowlist would \
                 still win in the kernel); use --force to store the ban anyway"
            )));
        }
        let note_key = note_key(target.net());
        let had_note = self.notes.get(&note_key, 0).is_ok();
        if let Some(text) = note {
            let note = Note {
                text: note_bytes(text),
            };
            let r = self.notes.insert(note_key, note, 0);
            self.check_insert(m::BAN_NOTES, r)?;
        }
        let r = match target {
            Target::Addr(IpAddr::V4(a)) => self.ban_v4.insert(a.octets(), entry, 0),
            Target::Addr(IpAddr::V6(a)) => self.ban_v6.insert(a.octets(), entry, 0),
            Target::Range(IpNet::V4(n)) => {
                let key = Key::new(n.prefix_len().into(), n.network().octets());
                self.range_v4.insert(&key, entry, 0)
            }
            Target::Range(IpNet::V6(n)) => {
                let key = Key::new(n.prefix_len().into(), n.network().octets());
                self.range_v6.insert(&key, entry, 0)
            }
        };
        if let Err(e) = self.check_insert(ban_map_name(target), r) {
            if note.is_some() && !had_note {
                let _ = self.notes.remove(&note_key);
            }
            return Err(e);
        }
        if note.is_none() && had_note {
            // A re-ban without a note must not inherit a stale one.
            let _ = self.notes.remove(&note_key);
        }
        Ok(())
    }

    /// Removes the ban of exactly `target` (a range is matched by its prefix, not by
    /// containment). Returns whether there was one.
    pub fn unban(&mut self, target: Target) -> Result<bool> {
        let r = match target {
            Target::Addr(IpAddr::V4(a)) => self.ban_v4.remove(&a.octets()),
            Target::Addr(IpAddr::V6(a)) => self.ban_v6.remove(&a.octets()),
            Target::Range(IpNet::V4(n)) => self
                .range_v4
                .remove(&Key::new(n.prefix_len().into(), n.network().octets())),
            Target::Range(IpNet::V6(n)) => self
                .range_v6
                .remove(&Key::new(n.prefix_len().into(), n.network().octets())),
        };
        let _ = self.notes.remove(&note_key(target.net()));
        absent_is_false(r).with_context(|| format!("removing the ban of {target}"))
    }

    /// Every ban, exact first then ranges, expired entries included (see
    /// [`BanEntry::active`]), with its note.
    pub fn bans(&self) -> Result<Vec<BanRecord>> {
        Ok(self
            .ban_entries()?
            .into_iter()
            .map(|(target, entry)| BanRecord {
                target,
                entry,
                note: self
                    .notes
                    .get(&note_key(target.net()), 0)
                    .ok()
                    .map(|n| note_text(&n)),
            })
            .collect())
    }

    /// Every ban entry, without notes (one syscall per entry less than [`Self::bans`]).
    fn ban_entries(&self) -> Result<Vec<(Target, BanEntry)>> {
        let mut out = Vec::new();
        for item in self.ban_v4.iter() {
            let (k, e) = item.context("reading ban_v4")?;
            out.push((Target::Addr(IpAddr::from(k)), e));
        }
        for item in self.ban_v6.iter() {
            let (k, e) = item.context("reading ban_v6")?;
            out.push((Target::Addr(IpAddr::from(k)), e));
        }
        for item in self.range_v4.iter() {
            let (k, e) = item.context("reading range_v4")?;
            out.push((Target::Range(v4_net(k.prefix_len(), k.data())), e));
        }
        for item in self.range_v6.iter() {
            let (k, e) = item.context("reading range_v6")?;
            out.push((Target::Range(v6_net(k.prefix_len(), k.data())), e));
        }
        Ok(out)
    }

    // ---- allowlist --------------------------------------------------------------------

    /// Whether `addr` falls in an allowlisted network (a longest-prefix lookup, as the
    /// kernel does it).
    pub fn allowlisted(&self, addr: IpAddr) -> Result<bool> {
        let r = match addr.to_canonical() {
            IpAddr::V4(a) => self.allow_v4.get(&Key::new(32, a.octets()), 0).map(|_| ()),
            IpAddr::V6(a) => self.allow_v6.get(&Key::new(128, a.octets()), 0).map(|_| ()),
        };
        match r {
            Ok(()) => Ok(true),
            Err(MapError::KeyNotFound) => Ok(false),
            Err(e) => Err(e).context("reading the allowlist"),
        }
    }

    /// Adds a network to the allowlist (idempotent).
    ///
    /// # Errors
    /// [`crate::error::InputError`] when the allowlist map is full.
    pub fn allow(&mut self, net: IpNet) -> Result<()> {
        let r = match net {
            IpNet::V4(n) => {
                self.allow_v4
                    .insert(&Key::new(n.prefix_len().into(), n.network().octets()), 1, 0)
            }
            IpNet::V6(n) => {
                self.allow_v6
                    .insert(&Key::new(n.prefix_len().into(), n.network().octets()), 1, 0)
            }
        };
        let name = if net.addr().is_ipv4() {
            m::ALLOW_V4
        } else {
            m::ALLOW_V6
        };
        self.check_insert(name, r)
    }

    /// Removes exactly `net` from the allowlist; returns whether it was there.
    pub fn disallow(&mut self, net: IpNet) -> Result<bool> {
        let r = match net {
            IpNet::V4(n) => self
                .allow_v4
                .remove(&Key::new(n.prefix_len().into(), n.network().octets())),
            IpNet::V6(n) => self
                .allow_v6
                .remove(&Key::new(n.prefix_len().into(), n.network().octets())),
        };
        absent_is_false(r).with_context(|| format!("removing {net} from the allowlist"))
    }

    /// Every allowlisted network.
    pub fn allowlist(&self) -> Result<Vec<IpNet>> {
        let mut out = Vec::new();
        for k in self.allow_v4.keys() {
            let k = k.context("reading allow_v4")?;
            out.push(v4_net(k.prefix_len(), k.data()));
        }
        for k in self.allow_v6.keys() {
            let k = k.context("reading allow_v6")?;
            out.push(v6_net(k.prefix_len(), k.data()));
        }
        Ok(out)
    }

    // ---- rate limit -------------------------------------------------------------------

    /// Replaces the rate-limit policy. Existing buckets keep their tokens, capped to the new
    /// burst on their next packet.
    pub fn set_rate(&mut self, cfg: RateConfig) -> Result<()> {
        self.rate_cfg.set(0, cfg, 0).context("writing rate_cfg")
    }

    /// The current rate-limit policy (`pps == 0`: off).
    pub fn rate(&self) -> Result<RateConfig> {
        self.rate_cfg.get(&0, 0).context("reading rate_cfg")
    }

    // ---- ports ------------------------------------------------------------------------

    /// Adds the protocols of `spec` to its port's restriction.
    pub fn restrict(&mut self, spec: PortSpec) -> Result<()> {
        let current = self
            .ports
            .get(&spec.port.into(), 0)
            .context("reading ports")?;
        self.ports
            .set(spec.port.into(), current | spec.protocols, 0)
            .context("writing ports")
    }

    /// Removes the protocols of `spec` from its port's restriction; returns whether any of
    /// them was restricted.
    pub fn unrestrict(&mut self, spec: PortSpec) -> Result<bool> {
        let current = self
            .ports
            .get(&spec.port.into(), 0)
            .context("reading ports")?;
        self.ports
            .set(spec.port.into(), current & !spec.protocols, 0)
            .context("writing ports")?;
        Ok(current & spec.protocols != 0)
    }

    /// Every restricted port, ascending.
    pub fn restricted_ports(&self) -> Result<Vec<PortSpec>> {
        let mut out = Vec::new();
        for (port, bits) in self.ports.iter().enumerate() {
            let bits = bits.context("reading ports")? & (PORT_TCP | PORT_UDP);
            if bits != 0 {
                out.push(PortSpec {
                    port: port as u16,
                    protocols: bits,
                });
            }
        }
        Ok(out)
    }

    // ---- capture ----------------------------------------------------------------------

    /// Makes `ports` the HTTP ports whose traffic the capture filter passes (replacing the
    /// previous set).
    pub fn set_http_ports(&mut self, ports: &[u16]) -> Result<()> {
        for port in 0..=u16::MAX {
            let want = u8::from(ports.contains(&port));
            if self
                .http_ports
                .get(&port.into(), 0)
                .context("reading http_ports")?
                != want
            {
                self.http_ports
                    .set(port.into(), want, 0)
                    .context("writing http_ports")?;
            }
        }
        Ok(())
    }

    // ---- counters, fill levels, interfaces --------------------------------------------

    /// Packets and bytes per verdict, summed over CPUs, in [`Verdict::ALL`] order.
    pub fn stats(&self) -> Result<Vec<(Verdict, Counter)>> {
        Verdict::ALL
            .iter()
            .map(|&v| {
                let per_cpu = self.stats.get(&(v as u32), 0).context("reading stats")?;
                let sum = per_cpu.iter().fold(Counter::default(), |acc, c| Counter {
                    packets: acc.packets + c.packets,
                    bytes: acc.bytes + c.bytes,
                });
                Ok((v, sum))
            })
            .collect()
    }

    /// Entries and capacity of every map that fills up (arrays are always full and left out).
    pub fn fill(&self) -> Result<Vec<MapFill>> {
        let count = |n: Result<usize>, name: &'static str| -> Result<MapFill> {
            Ok(MapFill {
                name,
                entries: n? as u64,
                capacity: self.capacity(name),
            })
        };
        Ok(vec![
            count(count_keys(self.ban_v4.keys()), m::BAN_V4)?,
            count(count_keys(self.ban_v6.keys()), m::BAN_V6)?,
            count(count_keys(self.range_v4.keys()), m::RANGE_V4)?,
            count(count_keys(self.range_v6.keys()), m::RANGE_V6)?,
            count(count_keys(self.allow_v4.keys()), m::ALLOW_V4)?,
            count(count_keys(self.allow_v6.keys()), m::ALLOW_V6)?,
            count(count_keys(self.rate_state.keys()), m::RATE_STATE)?,
            count(count_keys(self.notes.keys()), m::BAN_NOTES)?,
        ])
    }

    /// Records how the agent attached to interface `ifindex`.
    pub fn set_iface(&mut self, ifindex: u32, info: IfaceInfo) -> Result<()> {
        let r = self.ifaces.insert(ifindex, info, 0);
        self.check_insert(m::IFACES, r)
    }

    /// Forgets interface `ifindex`.
    pub fn remove_iface(&mut self, ifindex: u32) -> Result<()> {
        absent_is_false(self.ifaces.remove(&ifindex)).map(|_| ())
    }

    /// Every recorded interface: `(ifindex, info)`.
    pub fn ifaces(&self) -> Result<Vec<(u32, IfaceInfo)>> {
        self.ifaces
            .iter()
            .map(|r| r.context("reading ifaces"))
            .collect()
    }

    /// Turns a full-map insert failure into an [`crate::error::InputError`] naming the map.
    fn check_insert(&self, name: &str, r: Result<(), MapError>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(MapError::SyscallError(e))
                if matches!(e.io_error.raw_os_error(), Some(libc::E2BIG | libc::ENOSPC)) =>
            {
                Err(input_error(format!(
                    "map {name} is full ({} entries): remove entries or raise its capacity \
                     in the [maps] config section (takes effect when the maps are recreated)",
                    self.capacity(name)
                )))
            }
            Err(e) => Err(e).with_context(|| format!("writing {name}")),
        }
    }
}

fn ban_map_name(target: Target) -> &'static str {
    match target {
        Target::Addr(IpAddr::V4(_)) => m::BAN_V4,
        Target::Addr(IpAddr::V6(_)) => m::BAN_V6,
        Target::Range(IpNet::V4(_)) => m::RANGE_V4,
        Target::Range(IpNet::V6(_)) => m::RANGE_V6,
    }
}

fn note_key(net: IpNet) -> NoteKey {
    let mut addr = [0u8; 16];
    let family = match net.network() {
        IpAddr::V4(a) => {
            addr[..4].copy_from_slice(&a.octets());
            4
        }
        IpAddr::V6(a) => {
            addr = a.octets();
            6
        }
    };
    NoteKey {
        family,
        prefix_len: net.prefix_len().into(),
        addr,
    }
}

/// `text` truncated to [`NOTE_LEN`] bytes on a character boundary, NUL padded.
fn note_bytes(text: &str) -> [u8; NOTE_LEN] {
    let mut end = text.len().min(NOTE_LEN);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = [0u8; NOTE_LEN];
    out[..end].copy_from_slice(&text.as_bytes()[..end]);
    out
}

fn note_text(note: &Note) -> String {
    let len = note.text.iter().position(|&b| b == 0).unwrap_or(NOTE_LEN);
    String::from_utf8_lossy(&note.text[..len]).into_owned()
}

fn absent_is_false(r: Result<(), MapError>) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(MapError::KeyNotFound) => Ok(false),
        Err(MapError::SyscallError(e)) if e.io_error.raw_os_error() == Some(libc::ENOENT) => {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

fn count_keys<K>(keys: impl Iterator<Item = Result<K, MapError>>) -> Result<usize> {
    let mut n = 0;
    for k in keys {
        k?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_truncate_on_char_boundary() {
        let long = "é".repeat(40); // 80 bytes
        let text = note_text(&Note {
            text: note_bytes(&long),
        });
        assert_eq!(text, "é".repeat(32));
        assert_eq!(
            note_text(&Note {
                text: note_bytes("ssh brute force")
            }),
            "ssh brute force"
        );
    }
}
