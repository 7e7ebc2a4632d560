//! Parsing of the addresses and CIDR ranges an operator types, and prefix arithmetic.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// A ban or allowlist target: one address, or a CIDR range.
///
/// A CIDR with a full-length prefix (`/32`, `/128`) is the same as the bare address.
/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are turned into IPv4, because that is
/// how such packets reach the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A single address (exact-ban map).
    Addr(IpAddr),
    /// A range with a prefix shorter than the address (range-ban map).
    Range(IpNet),
}

/// Why a target string was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Neither an address nor a CIDR.
    #[error("`{0}` is not an IP address or CIDR range (examples: 192.0.2.7, 2001:db8::/32)")]
    Unparsable(String),
    /// A CIDR whose address has bits set beyond the prefix.
    #[error("`{given}` has host bits set after the /{prefix} prefix; did you mean {network}?")]
    HostBits {
        /// What was typed.
        given: String,
        /// The prefix length.
        prefix: u8,
        /// The network with host bits cleared.
        network: IpNet,
    },
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.contains('/') {
            return s
                .parse::<IpAddr>()
                .map(|a| Target::Addr(a.to_canonical()))
                .map_err(|_| TargetError::Unparsable(s.to_string()));
        }
        let net: IpNet = s
            .parse()
            .map_err(|_| TargetError::Unparsable(s.to_string()))?;
        let net = canonical_net(net);
        if net.addr() != net.network() {
            return Err(TargetError::HostBits {
                given: s.to_string(),
                prefix: net.prefix_len(),
                network: net.trunc(),
            });
        }
        Ok(if net.prefix_len() == net.max_prefix_len() {
            Target::Addr(net.addr())
        } else {
            Target::Range(net)
        })
    }
}

impl Target {
    /// The target as a network (`/32` or `/128` for an address).
    pub fn net(self) -> IpNet {
        match self {
            Target::Addr(a) => IpNet::from(a),
            Target::Range(n) => n,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Addr(a) => a.fmt(f),
            Target::Range(n) => n.fmt(f),
        }
    }
}

/// A restricted destination port: `22` (TCP and UDP), `22/tcp` or `53/udp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortSpec {
    /// Destination port.
    pub port: u16,
    /// [`sec_agent_common::PORT_TCP`] and/or [`sec_agent_common::PORT_UDP`] bits.
    pub protocols: u8,
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use sec_agent_common::{PORT_TCP, PORT_UDP};
        let (port, protocols) = match s.trim().split_once('/') {
            None => (s.trim(), PORT_TCP | PORT_UDP),
            Some((p, "tcp")) => (p, PORT_TCP),
            Some((p, "udp")) => (p, PORT_UDP),
            Some((_, other)) => {
                return Err(format!("`{s}`: protocol `{other}` is not tcp or udp"));
            }
        };
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("`{s}` is not a port like 22, 22/tcp or 53/udp"))?;
        Ok(PortSpec { port, protocols })
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use sec_agent_common::{PORT_TCP, PORT_UDP};
        match self.protocols & (PORT_TCP | PORT_UDP) {
            PORT_TCP => write!(f, "{}/tcp", self.port),
            PORT_UDP => write!(f, "{}/udp", self.port),
            _ => write!(f, "{}", self.port),
        }
    }
}

/// Parses an allowlist entry: an address or a CIDR, host bits refused.
pub fn parse_net(s: &str) -> Result<IpNet, TargetError> {
    s.parse::<Target>().map(Target::net)
}

/// `::ffff:a.b.c.d/p` (p >= 96) becomes `a.b.c.d/(p - 96)`.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
    {
        return IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).expect("prefix within 0..=32"));
    }
    net
}

/// Whether two networks share at least one address (one contains the other).
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(b) || b.contains(a)
}

/// An IPv4 network from map key parts (network-order bytes).
pub fn v4_net(prefix: u32, addr: [u8; 4]) -> IpNet {
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), prefix as u8).expect("kernel prefix <= 32"))
}

/// An IPv6 network from map key parts (network-order bytes).
pub fn v6_net(prefix: u32, addr: [u8; 16]) -> IpNet {
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), prefix as u8).expect("kernel prefix <= 128"))
}

/// A source address as a table key: IPv4 as IPv4-mapped IPv6, so that `192.0.2.1` and
/// `::ffff:192.0.2.1` are one source, in 16 bytes (`IpAddr` takes 17, padded further in
/// a struct).
pub type SourceKey = [u8; 16];

/// The [`SourceKey`] of `addr`.
pub fn source_key(addr: IpAddr) -> SourceKey {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_ranges() {
        assert_eq!(
            "192.0.2.7".parse(),
            Ok(Target::Addr("192.0.2.7".parse().unwrap()))
        );
        assert_eq!(
            "192.0.2.7/32".parse(),
            Ok(Target::Addr("192.0.2.7".parse().unwrap()))
        );
        assert_eq!(
            "2001:db8::/32".parse(),
            Ok(Target::Range("2001:db8::/32".parse().unwrap()))
        );
        assert_eq!(
            "2001:db8::1/128".parse(),
            Ok(Target::Addr("2001:db8::1".parse().unwrap()))
        );
    }

    #[test]
    fn ipv4_mapped_becomes_ipv4() {
        assert_eq!(
            "::ffff:192.0.2.7".parse(),
            Ok(Target::Addr("192.0.2.7".parse().unwrap()))
        );
        assert_eq!(
            "::ffff:10.0.0.0/104".parse(),
            Ok(Target::Range("10.0.0.0/8".parse().unwrap()))
        );
    }

    #[test]
    fn refuses_host_bits_and_garbage() {
        let err = "10.0.0.1/24".parse::<Target>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`10.0.0.1/24` has host bits set after the /24 prefix; did you mean 10.0.0.0/24?"
        );
        assert!(matches!(
            "10.0.0.300".parse::<Target>(),
            Err(TargetError::Unparsable(_))
        ));
        assert!(matches!(
            "10.0.0.0/33".parse::<Target>(),
            Err(TargetError::Unparsable(_))
        ));
        assert!(matches!(
            "".parse::<Target>(),
            Err(TargetError::Unparsable(_))
        ));
    }

    #[test]
    fn port_specs() {
        use sec_agent_common::{PORT_TCP, PORT_UDP};
        let p = |s: &str| s.parse::<PortSpec>();
        assert_eq!(
            p("22"),
            Ok(PortSpec {
                port: 22,
                protocols: PORT_TCP | PORT_UDP
            })
        );
        assert_eq!(
            p("22/tcp"),
            Ok(PortSpec {
                port: 22,
                protocols: PORT_TCP
            })
        );
        assert_eq!(p("53/udp").unwrap().to_string(), "53/udp");
        assert!(p("70000").is_err());
        assert!(p("22/sctp").is_err());
    }

    #[test]
    fn overlap_is_containment_either_way() {
        let n = |s: &str| s.parse::<IpNet>().unwrap();
        assert!(overlaps(&n("10.0.0.0/8"), &n("10.1.2.3/32")));
        assert!(overlaps(&n("10.1.2.3/32"), &n("10.0.0.0/8")));
        assert!(!overlaps(&n("10.0.0.0/8"), &n("11.0.0.0/8")));
        assert!(!overlaps(&n("10.0.0.0/8"), &n("::/0")));
    }
}
