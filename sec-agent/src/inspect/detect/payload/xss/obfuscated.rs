//! Sinks reached without writing their name as a call: the shapes of JavaScript
//! obfuscation that payload lists and encoders use to slip past `alert(` filters.
//!
//! - A sink name split over string literals joined again (`'al'+'ert'`,
//!   `s1='java';s2='script:'`, `/ev/.source+/al/.source`).
//! - A sink called through `Function.prototype` (`alert.call(null,1)`,
//!   `eval.apply(this,[x])`), a string compiled by a constructor and called
//!   (`x.constructor('alert(1)')()`), a quoted member (`top['alert'](1)`), or a dialog handed
//!   to an array literal's method as its callback (`[1].find(alert)`).
//!
//! Programs do join strings, but not into these names: a sink spelled inside one literal
//! (`type: 'alert'`) or across prose (`'al' and 'ert'`) is not split.

use super::script::{DIALOGS, GLOBALS};

/// Names worth splitting: the sinks, and what feeds them.
const SPLIT_WORDS: &[&str] = &[
    "alert", "prompt", "confirm", "eval", "javascript", "fromcharcode", "cookie", "location",
    "innerhtml", "settimeout", "unescape", "atob",
];

/// Longest literal and longest gap between two literals of one joined string.
const MAX_LITERAL: usize = 40;
const MAX_GAP: usize = 14;

/// A word of [`SPLIT_WORDS`] made of two or more whole adjacent string literals of
/// `lower` (quoted strings and `/re/.source`); returns the range of the literals.
pub(super) fn split_sink(lower: &str) -> Option<(usize, usize)> {
    let b = lower.as_bytes();
    let mut joined = String::new();
    // Where each literal's text starts in `joined` (and the previous one ends).
    let mut seams: Vec<usize> = Vec::new();
    let (mut group_start, mut last_end) = (0, 0);
    let mut i = 0;
    while i < b.len() {
        let Some((start, text_end, end)) = literal_at(b, i) else {
            i += 1;
            continue;
        };
        if joined.is_empty() || !joins(&b[last_end..start]) {
            seams.push(joined.len());
            if spanning(&joined, &seams) {
                return Some((group_start, last_end));
            }
            joined.clear();
            seams.clear();
            group_start = start;
        }
        seams.push(joined.len());
        joined.push_str(&lower[start + 1..text_end]);
        last_end = end;
        i = end;
    }
    seams.push(joined.len());
    spanning(&joined, &seams).then_some((group_start, last_end))
}

/// The literal starting at `i`, if one does: its start, the end of its text and its end.
fn literal_at(b: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    let q = b[i];
    if !matches!(q, b'\'' | b'"' | b'/') {
        return None;
    }
    let len = b[i + 1..]
        .iter()
        .take(MAX_LITERAL + 1)
        .position(|&c| c == q || c == b'\n')?;
    if len > MAX_LITERAL || b[i + 1 + len] != q {
        return None;
    }
    let text_end = i + 1 + len;
    if q == b'/' {
        // A regular expression counts only as its `.source` (`/ev/.source`).
        let after = &b[text_end + 1..];
        let spaces = after.iter().take_while(|c| **c == b' ').count();
        let rest = after[spaces..].strip_prefix(b".")?;
        let spaces2 = rest.iter().take_while(|c| **c == b' ').count();
        if len == 0 || !rest[spaces2..].starts_with(b"source") {
            return None;
        }
        return Some((i, text_end, text_end + 1 + spaces + 1 + spaces2 + 6));
    }
    Some((i, text_end, text_end + 1))
}

/// Whether `gap` (the code between two literals) joins them: short, with an operator,
/// no comment, and no word longer than a short variable's name (`'+'`, `'||''+'';s2='`,
/// `';s3=0?'':'`).
fn joins(gap: &[u8]) -> bool {
    if gap.len() > MAX_GAP
        || !gap.iter().any(|c| b"+|&,;=?:[".contains(c))
        || gap.windows(2).any(|w| w == b"//")
    {
        return false;
    }
    let mut run = 0;
    for &c in gap {
        run = if c.is_ascii_alphabetic() { run + 1 } else { 0 };
        if run > 2 {
            return false;
        }
    }
    true
}

/// Whether a word of [`SPLIT_WORDS`] in `joined` starts and ends on `seams` (the
/// literals' boundaries) with one in between: `'al'+'ert'`, not `'use', 'validate'` (whose
/// `eval` starts inside a literal) nor `'alert'` alone.
fn spanning(joined: &str, seams: &[usize]) -> bool {
    if seams.len() < 3 {
        return false;
    }
    SPLIT_WORDS.iter().any(|w| {
        joined.match_indices(w).any(|(at, _)| {
            let end = at + w.len();
            seams.contains(&at) && seams.contains(&end) && seams.iter().any(|&s| at < s && s < end)
        })
    })
}

/// A sink called indirectly at the `(` at `open` of `lower`: returns the start of the
/// expression that names it.
pub(super) fn indirect_call(b: &[u8], open: usize) -> Option<usize> {
    let before = &b[..open];
    let ident = |s: &[u8]| {
        s.iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'$')
            .count()
    };
    let n = ident(before);
    let name = &before[open - n..];
    let sinks = || DIALOGS.iter().chain(["eval"].iter());
    // `alert.call(null,1)`, `eval.apply(this,[s])`.
    if matches!(name, b"call" | b"apply") && open > n && before[open - n - 1] == b'.' {
        let receiver = &before[..open - n - 1];
        let r = ident(receiver);
        let start = receiver.len() - r;
        if sinks().any(|s| &receiver[start..] == s.as_bytes()) {
            return Some(start);
        }
    }
    // `Reflect.apply(alert, null, [1])`.
    if name == b"apply" && before[..open - n].ends_with(b"reflect.") {
        let arg = b[open + 1..].trim_ascii_start();
        if sinks().any(|s| arg.strip_prefix(s.as_bytes()).is_some_and(|r| r.trim_ascii_start().starts_with(b","))) {
            return Some(open - n - 8);
        }
    }
    // `''.sub.constructor('alert(1)')()`: a string compiled, then called.
    if name == b"constructor" {
        let arg = b[open + 1..].trim_ascii_start();
        if matches!(arg.first(), Some(b'\'' | b'"' | b'`')) {
            let q = arg[0];
            let close = arg[1..].iter().position(|&c| c == q)?;
            if arg[close + 2..].trim_ascii_start().starts_with(b")(") {
                return Some(open - n);
            }
        }
    }
    // `top['alert'](1)`: the sink's name quoted as a member of a global.
    if n == 0 && before.ends_with(b"]") {
        let key_open = before.iter().rposition(|&c| c == b'[')?;
        let key = before[key_open + 1..open - 1].trim_ascii();
        let unquoted = key
            .strip_prefix(b"'")
            .and_then(|k| k.strip_suffix(b"'"))
            .or_else(|| key.strip_prefix(b"\"").and_then(|k| k.strip_suffix(b"\"")))?;
        let global = GLOBALS.iter().find(|g| before[..key_open].ends_with(g.as_bytes()))?;
        if sinks().any(|s| unquoted == s.as_bytes()) {
            return Some(key_open - global.len());
        }
    }
    // `[1].find(alert)`: a dialog as the callback of an array literal's method.
    if n > 0 && open > n + 1 && before[open - n - 1] == b'.' && before[open - n - 2] == b']' {
        let arg = &b[open + 1..];
        if DIALOGS
            .iter()
            .any(|d| arg.strip_prefix(d.as_bytes()).is_some_and(|r| r.starts_with(b")")))
        {
            return Some(open - n - 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indirect(v: &str) -> bool {
        let b = v.as_bytes();
        (0..b.len()).any(|i| b[i] == b'(' && indirect_call(b, i).is_some())
    }

    #[test]
    fn split_names_match() {
        for a in [
            "top['al'+'ert'](1)",
            "s1=''+'java'+''+'scr'+'';s2=''+'ipt'+':'+'ale'+'';s3=''+'rt'+''+'(1)'",
            "s1=!''&&'jav';s2=!''&&'ascript';s3=!''&&':';",
            "a=0||'ev'+'al',b=0||location.hash,c=0||'sub'+'str',1[a](b[c](1))",
            "evil=/ev/.source+/al/.source,x=1",
            "b=top,a=/loc/ . source,a+=/ation/ . source,b[a=a] = name",
        ] {
            assert!(split_sink(a).is_some(), "{a}");
        }
        for b in [
            "type: 'alert', level: 'warn'",
            "I said 'al' and then 'ert'",
            "'Hello, ' + name + '!'",
            "x = 'java' ; // the 'script' part",
            "msg = 'Your cookie' + ' was set'",
            "\"eval\" + \"uation\"",
            "'TERMINATE', 'THEN', 'UNLOCK', 'UNSTRING', 'USE', 'VALIDATE',",
            "'try', 'type', 'val', 'var'",
        ] {
            assert!(split_sink(&b.to_ascii_lowercase()).is_none(), "{b}");
        }
    }

    #[test]
    fn indirect_calls_match() {
        for a in [
            "alert.call(null,1)",
            "eval.call(this,unescape.call(this,location))",
            "''.sub.constructor('alert(1)')()",
            "top['alert'](1)",
            "window[\"eval\"](name)",
            "[1].find(alert)",
            "reflect.apply(alert,null,[1])",
        ] {
            assert!(indirect(a), "{a}");
        }
        for b in [
            "fn.call(this, x)",
            "obj.constructor(a)",
            "Foo.constructor('x')",
            "map['alert'](1)",
            "items.find(alert)",
            "[1, 2].map(fn)",
            "confirmDialog.call(this)",
            "reflect.apply(fn, null, args)",
        ] {
            assert!(!indirect(b), "{b}");
        }
    }
}
