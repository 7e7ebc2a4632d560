//! Prototype pollution (JavaScript): a key path that reaches `Object.prototype` through
//! `__proto__` or `constructor.prototype`, as a parameter name (`__proto__[admin]=1`,
//! `a[constructor][prototype][x]=1`, which `qs` and deep-merge helpers follow), a JSON key
//! (`{"__proto__": {...}}`), or a key path in a value (`__proto__.isAdmin`).
//!
//! Prose about JavaScript names these too ("the `__proto__` property"): in a value, only
//! a key-path shape makes a finding.

use super::{Match, shape::find_bytes};
use crate::inspect::normalize::Location;

/// Checks one decoded value, knowing where it travels.
pub fn check(location: Location, value: &str) -> Option<Match> {
    let b = value.as_bytes();
    let key = matches!(
        location,
        Location::QsNames | Location::PostNames | Location::JsonKeys | Location::CookieNames
    );
    if let Some(p) = find_bytes(b, b"__proto__") {
        let before = p.checked_sub(1).map(|i| b[i]);
        let after = b.get(p + 9).copied();
        let path = matches!(before, Some(b'[' | b'.' | b'"' | b'\''))
            || matches!(after, Some(b'[' | b'.' | b']'))
            || matches!(after, Some(b'"' | b'\'')) && b[p + 10..].trim_ascii_start().first() == Some(&b':');
        if key || path {
            return Some(Match::new("prototype_pollution:proto", value, p, p + 9));
        }
    }
    if let Some(p) = b
        .windows(11)
        .position(|w| w.eq_ignore_ascii_case(b"constructor"))
    {
        let rest = &b[p + 11..];
        let rest = rest.strip_prefix(b"\"").or_else(|| rest.strip_prefix(b"'")).unwrap_or(rest);
        let rest = rest.strip_prefix(b"]").unwrap_or(rest);
        let joined = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b"["));
        if let Some(tail) = joined {
            let tail = tail.strip_prefix(b"\"").or_else(|| tail.strip_prefix(b"'")).unwrap_or(tail);
            if tail.get(..9).is_some_and(|t| t.eq_ignore_ascii_case(b"prototype")) {
                // `Foo.constructor.prototype` in prose about JavaScript is a key path too, but
                // a value is no place for it; a `[` form is never prose.
                return Some(Match::new("prototype_pollution:constructor", value, p, p + 21));
            }
        }
    }
    None
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_to_the_prototype_match() {
        for (loc, a) in [
            (Location::QsNames, "__proto__[admin]"),
            (Location::QsNames, "a[__proto__][isAdmin]"),
            (Location::QsNames, "constructor[prototype][admin]"),
            (Location::JsonKeys, "__proto__"),
            (Location::QsValues, "__proto__.isAdmin=true"),
            (Location::QsValues, "{\"__proto__\": {\"admin\": true}}"),
            (Location::JsonValues, "constructor.prototype.polluted"),
            (Location::QsValues, "x[\"constructor\"][\"prototype\"]"),
        ] {
            assert!(check(loc, a).is_some(), "{a}");
        }
    }

    #[test]
    fn prose_does_not() {
        for (loc, b) in [
            (Location::QsValues, "the __proto__ property is deprecated"),
            (Location::QsValues, "call the constructor; the prototype is shared"),
            (Location::JsonKeys, "constructor"),
            (Location::QsValues, "__proto__ vs Object.getPrototypeOf"),
        ] {
            assert_eq!(check(loc, b), None, "{b}");
        }
    }
}
