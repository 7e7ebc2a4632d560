//! LDAP filter injection (RFC 4515 filter syntax): a value that closes the application's
//! filter and opens a new one, `*)(uid=*))(|(uid=*`, `admin)(&)`, `*)(|(objectClass=*)`.
//!
//! The shapes: a `)` followed by `(` that starts a filter item (an attribute and `=`, `>=`,
//! `<=` or `~=`) or a composition (`&`, `|`, `!`); or a composition opened after data,
//! `x(|(a=b)`. Parenthesised prose, `(see above) (and below)`, has no `=` or operator
//! inside.

use super::Match;

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c != b'(' {
            continue;
        }
        let closes_before = b[..i].iter().rev().find(|c| !c.is_ascii_whitespace()) == Some(&b')');
        // `(&)` and `(|)` are the absolute filters of RFC 4526: an injection when they
        // follow the filter it closed (`admin)(&)`), prose otherwise ("a bar (|)").
        let composes = matches!(b.get(i + 1), Some(b'&' | b'|' | b'!'))
            && (b.get(i + 2) == Some(&b')') && closes_before
                || b.get(i + 2) == Some(&b'(') && filter_item(&b[i + 3..])
                || filter_item(&b[i + 2..]));
        if composes && (closes_before || i > 0) {
            return Some(Match::new("ldap:filter", value, i, i + 3));
        }
        if closes_before && filter_item(&b[i + 1..]) {
            return Some(Match::new("ldap:filter", value, i.saturating_sub(1), i + 16));
        }
    }
    None
}

/// Whether `rest` starts with `attr=`, `attr>=`, `attr<=` or `attr~=` (an attribute
/// description of RFC 4512: letters, digits, `-`, `;` options, or an OID).
fn filter_item(rest: &[u8]) -> bool {
    let name = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b';' | b'.'))
        .count();
    if name == 0 || !rest[0].is_ascii_alphanumeric() {
        return false;
    }
    // Filter values are not quoted (RFC 4515): `errors="replace"` is a keyword argument.
    let value = match &rest[name..] {
        [b'=', v @ ..] => v,
        [b'>' | b'<' | b'~', b'=', v @ ..] => v,
        _ => return false,
    };
    !matches!(value.first(), Some(b'"' | b'\'' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_breakouts_match() {
        for a in [
            "*)(uid=*))(|(uid=*",
            "admin)(&)",
            "*)(|(objectClass=*)",
            "admin*)((|userPassword=*)",
            "x)(cn>=a",
            "jdoe)(|(password=*))",
        ] {
            assert!(check(a).is_some(), "{a}");
        }
    }

    #[test]
    fn parenthesised_prose_does_not() {
        for b in [
            "(see above) (and below)",
            "f(x)(y) = z",
            "John (Jack) Smith",
            "a = (b + c)",
            "(555) 123-4567",
            "Mozilla/5.0 (X11; Linux x86_64) (KHTML, like Gecko)",
            "smile :) (really)",
            "codecs.getincrementaldecoder(r.encoding)(errors=\"replace\")",
            "if (!('navigator' in globalThis)) {",
            "Alternatives are separated by a vertical bar (|).",
        ] {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
