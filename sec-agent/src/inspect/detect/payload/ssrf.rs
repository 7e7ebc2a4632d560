//! Server-side request forgery and remote file inclusion: a URL in a parameter that points
//! at the host itself (loopback, `0.0.0.0`), at link-local addresses where cloud metadata
//! services live (169.254.169.254, fd00:ec2::254, 100.100.100.200), at metadata host names,
//! or that uses a scheme the server should never fetch (`file:`, `gopher:`, `dict:`, ...).
//! IPv4 hosts are read the way `inet_aton` reads them, so decimal (`2130706433`), hex
//! (`0x7f000001`), octal (`0177.0.0.1`) and short (`127.1`) forms are caught.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::Match;

const DANGEROUS_SCHEMES: &[&str] = &[
    "file:", "gopher:", "dict:", "ldap:", "jar:", "netdoc:", "tftp:", "sftp:",
];

const METADATA_HOSTS: &[&str] = &[
    "metadata.google.internal",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "localhost.localdomain",
    "ip6-localhost",
    "ip6-loopback",
];

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let lower = value.trim().to_ascii_lowercase();
    let offset = value.len() - value.trim_start().len();
    // `file:` followed by white space is a label (`file:     ELF 32-bit`), not a URL.
    if let Some(s) = DANGEROUS_SCHEMES.iter().find(|s| {
        lower.starts_with(*s)
            && lower[s.len()..]
                .bytes()
                .next()
                .is_some_and(|c| !c.is_ascii_whitespace())
    }) {
        return Some(Match::new(
            "ssrf:scheme",
            value,
            offset,
            offset + s.len() + 16,
        ));
    }
    // `http:127.0.0.1/`, `http:\\\\127.0.0.1`, `http:/\\127.0.0.1`: WHATWG URL parsers
    // (browsers, Node's `URL`) read a special scheme with any slashes and backslashes, or
    // none, as if `//` were there, so a filter that looks for `://` is bypassed. A value
    // that starts with `//` is a URL relative to the scheme, fetched as one.
    let special = lower
        .strip_prefix("http:")
        .or_else(|| lower.strip_prefix("https:"))
        .filter(|r| !r.starts_with("//"));
    let relative = lower.strip_prefix("//").or_else(|| lower.strip_prefix("\\\\"));
    if let Some(rest) = special.or(relative) {
        let rest = rest.trim_start_matches(['/', '\\']);
        let authority_end = authority_len(rest);
        let end = offset + lower.len() - rest.len() + authority_end;
        if internal_authority(rest) {
            return Some(Match::new("ssrf:internal_host", value, offset, end));
        }
        if relative.is_some() && web_shell(&rest[authority_end..]) {
            return Some(Match::new("rfi:url", value, offset, offset + lower.len()));
        }
    }
    // `localhost:8080`, `[::1]:25`: an address and port without a scheme, which the
    // application completes; a metadata address alone.
    if bare_internal(&lower) {
        return Some(Match::new("ssrf:internal_host", value, offset, offset + lower.len()));
    }
    let mut search = 0;
    while let Some(p) = lower[search..].find("://") {
        let sep = search + p;
        search = sep + 3;
        // By bytes: after a multi-byte character, its last byte is followed by a boundary
        // (`é://` must not slice inside the `é`).
        let scheme_start = lower.as_bytes()[..sep]
            .iter()
            .rposition(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
            .map_or(0, |i| i + 1);
        let scheme = &lower[scheme_start..sep];
        if scheme.is_empty() || in_prose(&lower, scheme_start) {
            continue;
        }
        if DANGEROUS_SCHEMES
            .iter()
            .any(|s| &s[..s.len() - 1] == scheme)
        {
            return Some(Match::new(
                "ssrf:scheme",
                value,
                offset + scheme_start,
                offset + sep + 16,
            ));
        }
        let authority_end = search + authority_len(&lower[search..]);
        if internal_authority(&lower[search..]) {
            return Some(Match::new(
                "ssrf:internal_host",
                value,
                offset + scheme_start,
                offset + authority_end,
            ));
        }
        // Classic remote file inclusion: a URL ending in `?` or a NUL cuts off the suffix
        // the application appends (`include($page . ".php")`).
        if scheme.starts_with("http") || scheme == "ftp" {
            let tail = &lower[authority_end..];
            if tail.len() > 1 && (tail.ends_with('?') || tail.contains("%00")) || web_shell(tail) {
                return Some(Match::new(
                    "rfi:url",
                    value,
                    offset + scheme_start,
                    offset + lower.len(),
                ));
            }
        }
    }
    None
}

/// Whether the URL starting at `start` is written in text rather than passed as a value:
/// after white space (or a parenthesis opened after white space) with words before it, as
/// in "When I paste http://localhost:8080/admin ..." or a build log's
/// `Compiling x v0.1.0 (file:///projects/x)`. A URL an application fetches is the value,
/// or follows `=`, a quote, `@` or other markup (`url=http://127.0.0.1/`, `"http://..."`).
fn in_prose(lower: &str, start: usize) -> bool {
    // A parenthesis or a Markdown backtick opened after white space belongs to the text.
    let before = &lower[..start];
    let before = before
        .strip_suffix('(')
        .or_else(|| before.strip_suffix('`'))
        .unwrap_or(before);
    before.ends_with(|c: char| c.is_whitespace())
        && before
            .split_whitespace()
            .any(|w| w.len() > 1 && w.bytes().all(|c| c.is_ascii_alphabetic()))
}

/// Whether the authority that starts `rest` names an internal host, as any parser may
/// read it: after the last `@` (RFC 3986), and, when an `@` comes before the path, also
/// before it, where parsers that stop at `#`, `?` or a port's `:` put the host
/// (`http://127.0.0.1#@evil.com/`, `http://127.0.0.1:80@evil.com/`,
/// `http://evil.com#@127.0.0.1/`).
fn internal_authority(rest: &str) -> bool {
    if internal_host(host_of(&rest[..authority_len(rest)])) {
        return true;
    }
    let wide = &rest[..rest.find(['/', '\\', ' ']).unwrap_or(rest.len())];
    let Some(at) = wide.find('@') else {
        return false;
    };
    let before = &wide[..at];
    let before = &before[..before.find(['#', '?', '%', '\\', '+', '&']).unwrap_or(before.len())];
    internal_host(host_of(before)) || internal_host(host_of(&wide[wide.rfind('@').unwrap_or(at) + 1..]))
}

/// Whether a URL's path (`tail`, after the authority) ends in a web shell, the file a remote
/// inclusion fetches: a shell's usual name (`shell`, `c99`, `r57`, `cmd`, `backdoor`,
/// `webshell`...) as a script or as text (`.txt`, `.php`), or a script disguised as text
/// (`x.php.txt`), which the attacker's server serves without running. Other files on
/// other hosts are what parameters that take URLs are for.
fn web_shell(tail: &str) -> bool {
    const SHELLS: &[&str] = &[
        "shell", "c99", "r57", "cmd", "backdoor", "webshell", "wso", "b374k", "phpshell",
        "php-backdoor", "cmdasp", "simple-backdoor", "reverse", "revshell", "evil",
    ];
    let path = &tail[..tail.find(['?', '#']).unwrap_or(tail.len())];
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let file = file.strip_suffix("%00").unwrap_or(file);
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "txt" | "php" | "php3" | "php5" | "phtml" | "jsp" | "asp" | "aspx") {
        return false;
    }
    let disguised = ext == "txt" && [".php", ".asp", ".jsp"].iter().any(|e| stem.ends_with(e));
    disguised || SHELLS.contains(&stem)
}

/// A whole value that is an internal host and a port (`localhost:8080`, `127.0.0.1:6379`,
/// `[::1]:25`), or a cloud metadata address alone (`169.254.169.254`). `localhost` or
/// `127.0.0.1` alone is what a form about a server takes.
fn bare_internal(lower: &str) -> bool {
    if lower.len() > 64 || lower.bytes().any(|c| c.is_ascii_whitespace() || c == b'/') {
        return false;
    }
    if let Ok(v4) = lower.parse::<Ipv4Addr>() {
        return v4.is_link_local() || v4 == Ipv4Addr::new(100, 100, 100, 200);
    }
    let Some((host, port)) = lower.rsplit_once(':') else {
        return false;
    };
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|c| c.is_ascii_digit());
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    port_ok && !host.is_empty() && internal_host(host)
}

/// Length of the authority that starts `rest`: up to the path, query, fragment or a space.
fn authority_len(rest: &str) -> usize {
    rest.find(['/', '?', '#', ' ']).unwrap_or(rest.len())
}

/// Host part of an authority: no user info, no port, no brackets.
fn host_of(authority: &str) -> &str {
    let after_user = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = after_user.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    after_user
        .split(':')
        .next()
        .unwrap_or(after_user)
        .trim_end_matches('.')
}

fn internal_host(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") || METADATA_HOSTS.contains(&host) {
        return true;
    }
    // Kubernetes' API server from inside a pod, a cluster's internal services.
    if host.ends_with(".svc.cluster.local") || host.starts_with("kubernetes.default") {
        return true;
    }
    // `example.com.127.0.0.1`: a name whose last labels are an internal address.
    if let Some((_, dotted)) = host.rmatch_indices('.').nth(3).map(|(p, _)| host.split_at(p + 1))
        && let Ok(v4) = dotted.parse::<Ipv4Addr>()
        && internal_v4(v4)
    {
        return true;
    }
    // Wildcard-DNS names that resolve to the address they spell (127.0.0.1.nip.io).
    if ["nip.io", "sslip.io", "xip.io", "localtest.me"]
        .iter()
        .any(|d| host.ends_with(d))
        && (host.contains("127.") || host.contains("169.254") || host.starts_with("localtest"))
    {
        return true;
    }
    if let Some(v4) = loose_ipv4(host) {
        return internal_disguised(host, v4);
    }
    if let Some(v4) = wrapped_octets(host) {
        return internal_v4(v4) || v4.is_private();
    }
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        // A private address spelled as IPv6 is a disguise too (`[::ffff:10.0.0.1]`).
        if let Some(v4) = v6.to_ipv4_mapped() {
            return internal_v4(v4) || v4.is_private();
        }
        let seg = v6.segments();
        return v6.is_loopback()
            || v6.is_unspecified()
            || (seg[0] & 0xffc0) == 0xfe80
            || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    }
    false
}

/// Addresses only the server itself or its cloud reaches: loopback, `0.0.0.0`,
/// link-local (AWS, GCP and Azure metadata at 169.254.169.254), Alibaba's metadata at
/// 100.100.100.200 and Oracle Cloud's at 192.0.0.192. Private networks (RFC 1918) are
/// where intranet webhooks live: they count only when spelled as no one spells an
/// address ([`internal_disguised`]).
fn internal_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_link_local()
        || ip == Ipv4Addr::new(100, 100, 100, 200)
        || ip == Ipv4Addr::new(192, 0, 0, 192)
}

/// [`internal_v4`], or a private address, for a host that spells its address in a form
/// no one writes by hand (`3232235521`, `0xc0a80101`, `0300.0250.0.1`): a filter bypass.
fn internal_disguised(host: &str, ip: Ipv4Addr) -> bool {
    internal_v4(ip) || ip.is_private() && host.parse::<Ipv4Addr>().is_err()
}

/// A dotted quad with a part above 255 (`425.510.425.510`), read as the parsers that keep
/// each part's low byte read it (`169.254.169.254`): no address is written that way but to
/// get past a filter.
fn wrapped_octets(host: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = host.split('.');
    let mut wide = false;
    for o in &mut octets {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = p.parse().ok()?;
        wide |= n > 255;
        *o = (n & 0xff) as u8;
    }
    (parts.next().is_none() && wide).then(|| Ipv4Addr::from(octets))
}

/// `inet_aton` parsing: 1 to 4 parts, each decimal, `0x` hex or `0` octal; the last part
/// fills the remaining bytes.
fn loose_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    // Eight hex digits without `0x` (`7f000001`), as some parsers take a bare hex host.
    if parts.len() == 1 && host.len() == 8 && host.bytes().any(|c| c.is_ascii_alphabetic()) {
        return u32::from_str_radix(host, 16).ok().map(Ipv4Addr::from);
    }
    for p in &parts {
        let n = if let Some(h) = p.strip_prefix("0x") {
            u64::from_str_radix(h, 16).ok()?
        } else if let Some(o) = p.strip_prefix("0o").or_else(|| p.strip_prefix('o')) {
            // `0o177` and `o177`: octal as Python and some SSRF filters' parsers spell it.
            u64::from_str_radix(o, 8).ok()?
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()?
        } else {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()?
        };
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    let mut value: u64 = 0;
    for (i, &n) in head.iter().enumerate() {
        if n > 255 {
            return None;
        }
        value |= n << (24 - 8 * i);
    }
    let last_bits = 32 - 8 * head.len();
    // A single number wider than 32 bits (`7147006462`, `0x41414141a9fea9fe`) is cut to
    // its low 32 bits by the parsers SSRF filters are bypassed with.
    let last = if head.is_empty() {
        &(*last & 0xffff_ffff)
    } else {
        last
    };
    if *last >= 1u64 << last_bits {
        return None;
    }
    Some(Ipv4Addr::from((value | last) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_written_in_text_are_not_fetched_ones() {
        for b in [
            "When I paste http://localhost:8080/admin into the browser it just spins",
            "Our proxy blocks http://192.168.1.1/; which domains must we allow?",
            "   Compiling rectangles v0.1.0 (file:///projects/rectangles)",
            "file:     ELF 32-bit LSB executable",
            "Adding `adder` as member of workspace at `file:///projects/add`",
            "file: path.resolve(String(p.cwd), file.slice(1)),",
        ] {
            assert_eq!(check(b), None, "{b}");
        }
        for a in [
            "http://127.0.0.1/admin",
            "  http://169.254.169.254/latest/meta-data/",
            "url=file:///etc/passwd",
            "x\"><img src=\"http://localhost/",
            "1 http://127.0.0.1:22",
        ] {
            assert!(check(a).is_some(), "{a}");
        }
    }

    #[test]
    fn attacks_match() {
        let attacks = [
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://127.0.0.1:6379/",
            "http://localhost/admin",
            "https://user:pass@127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://3232235521/",
            "http://0xc0a80101",
            "http://7147006462",
            "http://0x41414141A9FEA9FE",
            "http://ip6-localhost",
            "http://example.com.127.0.0.1",
            "http://192.0.0.192/latest/",
            "http://0300.0250.0.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0.0.0.0:8080",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00:ec2::254]/latest/",
            "http://100.100.100.200/latest/meta-data/",
            "file:///etc/passwd",
            "gopher://127.0.0.1:25/_HELO",
            "dict://localhost:11211/stats",
            "url=http://127.0.0.1.nip.io/",
            "http://evil.example/shell.txt?",
            "http:127.0.0.1/",
            "https:localhost:8080/admin",
            "//127.0.0.1/admin",
            "http:\\\\127.0.0.1/",
            "http:/\\localhost/",
            "http://0o177.0.0.1/",
            "http://o177.0.0.1/",
            "http://7f000001/",
            "http://[::ffff:10.0.0.1]/",
            "http://kubernetes.default.svc/api",
            "http://evil.com#@127.0.0.1/",
            "http://127.0.0.1:80@evil.com/",
            "https://127.0.0.1%23@evil.com/",
            "localhost:8080",
            "[::1]:25",
            "169.254.169.254",
            "http://evil.example/shell.txt",
            "https://10.10.14.2/c99.php",
            "//evil.example/inc.php.txt",
            "ftp://evil.example/r57.txt",
            // Parts above 255, each cut to its low byte: 169.254.169.254, 127.0.0.1.
            "http://425.510.425.510",
            "http://383.256.256.257/",
        ];
        for a in attacks {
            assert!(check(a).is_some(), "missed {a}");
        }
    }

    #[test]
    fn benign_urls_do_not_match() {
        let benign = [
            "https://example.com/callback",
            "http://10.0.0.5/internal-but-allowed",
            "https://api.github.com/repos",
            "see https://en.wikipedia.org/wiki/Localhost for details",
            "http://192.0.2.1:8080/",
            "ftp://ftp.debian.org/debian/",
            "https://example.com/search?q=a",
            "the file: is attached",
            "é://x",
            "caf\u{e9}://127.0.0.1/",
            "http:example.com/",
            "https: the secure one",
            "//cdn.example.com/app.js",
            "localhost",
            "127.0.0.1",
            "192.168.1.1:8080",
            "10:30",
            "https://example.com/docs/shell.html",
            "https://raw.githubusercontent.com/u/r/main/install.txt",
            "https://example.com/files/report.txt",
            "http://example.com/index.php?page=about",
            "https://user@example.com/",
            "http://deadbeef/",
            "https://www.example.com/0x7f",
            // A part above 255 that wraps to a public address, and version-like hosts.
            "http://300.1.1.1/",
            "http://1.2.3.4.5/",
        ];
        for b in benign {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
