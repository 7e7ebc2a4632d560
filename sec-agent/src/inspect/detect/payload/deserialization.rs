//! Serialized objects: a value that a deserializer would turn into objects of the
//! attacker's choosing (CWE-502), recognised by each format's own header:
//! - PHP `serialize()`: `O:8:"stdClass":1:{...}`, `C:...`, arrays `a:2:{i:0;...}`;
//! - Java serialization: the stream magic `AC ED 00 05`, as base64 (`rO0AB`) or hex;
//! - .NET `BinaryFormatter` (base64 `AAEAAAD/////`) and Json.NET type names
//!   (`"$type": "System.Windows.Data.ObjectDataProvider, PresentationFramework"`);
//! - Python pickle: protocol 2 to 5 headers as base64 (`gAJ`, `gAN`, `gAR`, `gAV`), and
//!   protocol 0 calls (`cos\nsystem`, `c__builtin__\neval`);
//! - YAML tags that construct classes (`!!python/object/apply:`, `!!javax.`, `!ruby/object`);
//! - node-serialize functions (`_$$ND_FUNC$$_`), CVE-2017-5941.

use super::{Match, shape::starts_with_ignore_case};

/// Shortest value checked for an encoded stream header: a Java or pickle stream of a
/// gadget chain is hundreds of bytes.
pub const MIN_ENCODED: usize = 24;

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    check_shaped(value, true)
}

/// [`check`], where `marked` says whether the value holds one of the bytes every textual
/// marker needs (`{`, `!`, `$`, a line break or `<`): without one, only the encoded stream
/// headers, at the value's start, are looked for.
pub fn check_shaped(value: &str, marked: bool) -> Option<Match> {
    let b = value.as_bytes();
    let whole = |rule| Some(Match::new(rule, value, 0, b.len()));
    let t = b.trim_ascii();
    if b.len() >= MIN_ENCODED {
        if t.starts_with(b"rO0AB") && base64ish(t) || starts_with_ignore_case(t, b"aced0005") && hexish(t)
        {
            return whole("deserialization:java");
        }
        if t.starts_with(b"AAEAAAD/////") {
            return whole("deserialization:dotnet");
        }
        if base64ish(t) && [&b"gAJ"[..], b"gAN", b"gAR", b"gAS", b"gAV"].iter().any(|h| t.starts_with(h))
        {
            return whole("deserialization:python");
        }
    }
    if !marked {
        return None;
    }
    if let Some(p) = php_object(b) {
        return Some(Match::new("deserialization:php", value, p, p + 40));
    }
    for (marker, rule) in [
        (&b"_$$ND_FUNC$$_"[..], "deserialization:node"),
        (b"!!python/", "deserialization:yaml"),
        (b"!!javax.", "deserialization:yaml"),
        (b"!!java.", "deserialization:yaml"),
        (b"!!com.sun.", "deserialization:yaml"),
        (b"!ruby/object", "deserialization:yaml"),
        (b"!ruby/hash", "deserialization:yaml"),
        (b"cos\nsystem", "deserialization:python"),
        (b"cposix\nsystem", "deserialization:python"),
        (b"c__builtin__\n", "deserialization:python"),
        (b"cbuiltins\n", "deserialization:python"),
        (b"ObjectDataProvider", "deserialization:dotnet"),
    ] {
        if let Some(p) = b.windows(marker.len()).position(|w| w == marker) {
            return Some(Match::new(rule, value, p, p + marker.len() + 20));
        }
    }
    // Json.NET `"$type": "Namespace.Class, Assembly"`.
    if let Some(p) = b.windows(7).position(|w| w == b"\"$type\"") {
        let rest = b[p + 7..].trim_ascii_start();
        if let Some(v) = rest.strip_prefix(b":") {
            let v = v.trim_ascii_start();
            if v.first() == Some(&b'"') && v[1..].iter().take_while(|&&c| c != b'"').any(|&c| c == b',') {
                return Some(Match::new("deserialization:dotnet", value, p, p + 60));
            }
        }
    }
    None
}

/// The offset of a PHP object or array header: `O:<len>:"<class>":<n>:{` (also `C:`), or
/// `a:<n>:{` followed by an `i:` or `s:` element.
fn php_object(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = b[from..].iter().position(|&c| matches!(c, b'O' | b'C' | b'a')) {
        let at = from + p;
        from = at + 1;
        if at > 0 && b[at - 1].is_ascii_alphanumeric() || b.get(at + 1) != Some(&b':') {
            continue;
        }
        let Some((_, rest)) = number(&b[at + 2..]).and_then(|n| Some((n, b[at + 2 + n..].strip_prefix(b":")?)))
        else {
            continue;
        };
        if b[at] == b'a' {
            if rest.starts_with(b"{i:") || rest.starts_with(b"{s:") {
                return Some(at);
            }
            continue;
        }
        // `"<class>":<n>:{`
        let Some(class) = rest.strip_prefix(b"\"") else {
            continue;
        };
        let name = class
            .iter()
            .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'\\')
            .count();
        let tail = &class[name..];
        if name > 0
            && let Some(t) = tail.strip_prefix(b"\":")
            && let Some(n) = number(t)
            && t[n..].starts_with(b":{")
        {
            return Some(at);
        }
    }
    None
}

/// The count of leading ASCII digits, when there is at least one.
fn number(b: &[u8]) -> Option<usize> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (n > 0).then_some(n)
}

fn base64ish(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'))
}

fn hexish(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_hexdigit)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_headers_match() {
        for a in [
            "O:8:\"stdClass\":1:{s:4:\"file\";s:11:\"/etc/passwd\";}",
            "a:2:{i:0;s:4:\"test\";i:1;O:4:\"Evil\":0:{}}",
            "O:17:\"App\\\\Models\\\\User\":0:{}",
            "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcAUH2sHDFmDRAwACRgAKbG9hZEZhY3Rvcg",
            "aced0005737200116a6176612e7574696c2e486173684d6170",
            "AAEAAAD/////AQAAAAAAAAAMAgAAAElTeXN0ZW0sIFZlcnNpb249NC4wLjAuMA",
            "gASVIAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg==",
            "cos\nsystem\n(S'id'\ntR.",
            "!!python/object/apply:os.system ['id']",
            "{\"rce\":\"_$$ND_FUNC$$_function(){require('child_process').exec('id')}()\"}",
            "{\"$type\":\"System.Windows.Data.ObjectDataProvider, PresentationFramework\"}",
            "!ruby/object:Gem::Installer",
        ] {
            assert!(check(a).is_some(), "{a:?}");
        }
    }

    #[test]
    fn tokens_and_text_do_not() {
        for b in [
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0",
            "dGhpcyBpcyBhIHRlc3Qgb2YgYmFzZTY0IGVuY29kaW5n",
            "Plan A: 2 items {see below}",
            "O:8 is the opening time",
            "{\"$type\": \"order\"}",
            "ratio a:2:{x}",
        ] {
            assert_eq!(check(b), None, "{b:?}");
        }
    }
}
