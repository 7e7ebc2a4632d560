//! NoSQL operator injection (MongoDB's query and aggregation operators, which CouchDB's
//! Mango queries share): an operator where the application expects a value, smuggled as a
//! parameter name (`user[$ne]=x`, which PHP and Express's `qs` turn into `{"$ne": "x"}`), a
//! JSON key (`{"password": {"$gt": ""}}`), or JSON text in a value.
//!
//! Prices and shell variables hold `$` too: only an operator name standing as a key makes a
//! finding (after `[`, `{`, a quote or a comma, and before `]`, a quote or `:`).

use super::Match;
use crate::inspect::normalize::Location;

/// MongoDB query, update and aggregation operators that change what a query matches or
/// runs code (MongoDB manual, "Query and Projection Operators", "$where", "$function").
const OPERATORS: &[&str] = &[
    "ne", "eq", "gt", "gte", "lt", "lte", "in", "nin", "regex", "where", "exists", "or",
    "and", "not", "nor", "expr", "function", "accumulator", "elemmatch", "size", "type",
    "mod", "all", "text", "jsonschema", "lookup", "options", "comment", "where",
];

/// Checks one decoded value, knowing where it travels: a whole name or JSON key may be the
/// operator itself.
pub fn check(location: Location, value: &str) -> Option<Match> {
    let b = value.as_bytes();
    if matches!(location, Location::JsonKeys) {
        return (b.first() == Some(&b'$') && operator(&b[1..]) == Some(b.len() - 1))
            .then(|| Match::new("nosql:operator", value, 0, b.len()));
    }
    let names = matches!(
        location,
        Location::QsNames | Location::PostNames | Location::CookieNames
    );
    let mut from = 0;
    while let Some(p) = b[from..].iter().position(|&c| c == b'$') {
        let at = from + p;
        from = at + 1;
        let before = at.checked_sub(1).map(|i| b[i]);
        let keyed = matches!(before, Some(b'[' | b'{' | b'"' | b'\'' | b','))
            || before.is_some_and(|c| c == b' ') && b[..at].trim_ascii_end().ends_with(b",")
            || names && before.is_none();
        if !keyed {
            continue;
        }
        let Some(len) = operator(&b[at + 1..]) else {
            continue;
        };
        let after = b[at + 1 + len..].trim_ascii_start().first().copied();
        let closes = match before {
            Some(b'[') => after == Some(b']'),
            Some(q @ (b'"' | b'\'')) => b.get(at + 1 + len) == Some(&q),
            _ => matches!(after, Some(b':' | b']')) || names && after.is_none(),
        };
        if closes {
            return Some(Match::new("nosql:operator", value, at.saturating_sub(1), at + 2 + len));
        }
    }
    None
}

/// The length of the operator name at the start of `rest` (ignoring case), when the name
/// ends there.
fn operator(rest: &[u8]) -> Option<usize> {
    let len = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    OPERATORS
        .iter()
        .any(|o| rest[..len].eq_ignore_ascii_case(o.as_bytes()))
        .then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_as_keys_match() {
        for (loc, a) in [
            (Location::QsNames, "password[$ne]"),
            (Location::QsNames, "user[$regex]"),
            (Location::PostNames, "login[$gt]"),
            (Location::JsonKeys, "$ne"),
            (Location::JsonKeys, "$where"),
            (Location::QsValues, "{\"$gt\": \"\"}"),
            (Location::QsValues, "{'$ne': null}"),
            (Location::JsonValues, "true, $where: '1 == 1'"),
            (Location::QsValues, "[$ne]=1"),
            (Location::QsNames, "$where"),
        ] {
            assert!(check(loc, a).is_some(), "{a}");
        }
    }

    #[test]
    fn prices_and_variables_do_not() {
        for (loc, b) in [
            (Location::QsValues, "costs $5, or $in cash"),
            (Location::QsValues, "echo $where"),
            (Location::JsonKeys, "$schema"),
            (Location::JsonKeys, "$ref"),
            (Location::QsValues, "[$100]"),
            (Location::QsNames, "items[]"),
            (Location::QsValues, "PS1='$ '"),
            (Location::JsonValues, "${price}"),
        ] {
            assert_eq!(check(loc, b), None, "{b}");
        }
    }
}
