//! Script without markup: what runs when a value lands inside a script block, an event
//! handler or a `javascript:` URL, and the escapes that hide it.
//!
//! - Sink calls with a proof-of-concept argument (`alert(1)`, ``prompt`1` ``,
//!   `confirm(document.domain)`), and the sink reached without its name
//!   (`(alert)(1)`, `top["al"+"ert"](1)`, `window[/al/.source+/ert/.source](1)`).
//! - `eval`, `Function`, `setTimeout` and `setInterval` fed from the page's address or
//!   an encoded string (`eval(location.hash.slice(1))`, `eval(atob(...))`).
//! - JavaScript string escapes (`\x65`, `\u0065`, `\145`), which a value reflected into a
//!   script string turns back into code, are decoded before the checks.
//!
//! Code about JavaScript calls these too: `alert(msg)`, `fetch(url)`,
//! `setTimeout(poll, 100)`. Only literal or page-derived arguments, which no program
//! passes for its own purposes, make a finding.

/// Dialog sinks: called with a literal, they are the standard XSS proof.
const DIALOGS: &[&str] = &["alert", "prompt", "confirm"];

/// Code-evaluating sinks.
const EVALUATORS: &[&str] = &["eval", "function", "settimeout", "setinterval", "execscript"];

/// Arguments that no program passes to an evaluator for its own purposes.
const TAINTED: &[&str] = &[
    "location",
    "url.",
    "url)",
    "name)",
    "atob(",
    "fromcharcode",
    "document.cookie",
    "alert",
    "unescape(",
    "decodeuri",
    "window.name",
    "document.referrer",
];

/// Globals a member access reaches a sink through (`top["al"+"ert"]`).
const GLOBALS: &[&str] = &["top", "window", "self", "parent", "this", "globalthis", "frames", "content"];

/// The start and end of a sink call in `lower` (ASCII-lowercased), if any.
pub(super) fn tagless_call(lower: &str) -> Option<(usize, usize)> {
    let b = lower.as_bytes();
    // `a=eval;b=alert;a(b(1))`: a sink taken as a value, to be called under another name.
    for eq in (0..b.len()).filter(|&i| b[i] == b'=') {
        let rest = &lower[eq + 1..];
        let alias_start = b[..eq]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
            .map_or(0, |p| p + 1);
        let alias = &lower[alias_start..eq];
        if !alias.is_empty()
            && let Some(sink) = DIALOGS.iter().chain(["eval"].iter()).find(|s| rest.starts_with(*s))
            && matches!(rest.as_bytes().get(sink.len()), Some(b';' | b','))
            && rest[sink.len()..].contains(&format!("{alias}("))
        {
            return Some((alias_start, (eq + 1 + sink.len()).min(b.len())));
        }
    }
    for (i, _) in lower.match_indices(['(', '`', '[']) {
        match b[i] {
            b'(' | b'`' => {
                if let Some(start) = sink_before(b, i) {
                    return Some((start, (i + 16).min(b.len())));
                }
            }
            _ => {
                if let Some(end) = obfuscated_member(b, i) {
                    let start = GLOBALS
                        .iter()
                        .find(|g| b[..i].ends_with(g.as_bytes()))
                        .map_or(i, |g| i - g.len());
                    return Some((start, end));
                }
            }
        }
    }
    None
}

/// Whether the call opened at `open` (`(` or a backtick) is a sink call with a
/// proof-of-concept or tainted argument; returns the start of the sink's name.
fn sink_before(b: &[u8], open: usize) -> Option<usize> {
    // `(alert)(1)`: the name inside parentheses just before.
    let (name_end, wrapped) = if open > 0 && b[open - 1] == b')' {
        (open - 1, true)
    } else {
        (open, false)
    };
    let name_start = b[..name_end]
        .iter()
        .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$'))
        .map_or(0, |p| p + 1);
    let name = &b[name_start..name_end];
    if name.is_empty() {
        return None;
    }
    if wrapped && (name_start == 0 || b[name_start - 1] != b'(') {
        return None;
    }
    // A method of something else (`obj.alert(`) is not the global, unless the object is.
    if name_start > 0 && b[name_start - 1] == b'.' {
        let receiver = &b[..name_start - 1];
        if !GLOBALS.iter().any(|g| receiver.ends_with(g.as_bytes())) {
            return None;
        }
    }
    if name_start > 0 && (b[name_start - 1].is_ascii_alphanumeric() || b[name_start - 1] == b'_') {
        return None;
    }
    let arg = &b[open + 1..];
    let is = |list: &[&str]| list.iter().any(|s| name == s.as_bytes());
    if is(DIALOGS) {
        return proof_argument(arg, b[open] == b'`').then_some(name_start);
    }
    if is(EVALUATORS) {
        // The call's own arguments, up to its closing parenthesis.
        let mut depth = 1usize;
        let close = arg.iter().take(120).position(|&c| {
            match c {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            depth == 0
        });
        let arg = &arg[..close.unwrap_or(arg.len().min(80))];
        let tainted = TAINTED
            .iter()
            .any(|t| arg.windows(t.len()).any(|w| w == t.as_bytes()));
        return tainted.then_some(name_start);
    }
    None
}

/// A literal number, a quoted string, a template, a regular expression, or the page's
/// cookie, domain or origin: the arguments of a proof, not of a program's dialog.
fn proof_argument(arg: &[u8], template: bool) -> bool {
    if template {
        return true; // ``alert`1` ``: a tagged template, which no program writes.
    }
    let arg = arg.trim_ascii_start();
    match arg.first() {
        Some(c) if c.is_ascii_digit() => {
            let n = arg.iter().take_while(|c| c.is_ascii_digit() || **c == b'.').count();
            matches!(arg.get(n), Some(b')'))
        }
        Some(b'\'' | b'"' | b'`' | b'/') => true,
        Some(_) => ["document.", "window.", "top.", "self.", "string.fromcharcode", "this", "location", "origin"]
            .iter()
            .any(|p| arg.starts_with(p.as_bytes())),
        None => false,
    }
}

/// `[` opening a computed member whose key is assembled or escaped (`["al"+"ert"]`,
/// `[/al/.source+/ert/.source]`, `['al\x65rt']`, `[8680439..toString(30)]`) and then
/// called: returns the end of the call's `(`.
fn obfuscated_member(b: &[u8], open: usize) -> Option<usize> {
    if !GLOBALS.iter().any(|g| b[..open].ends_with(g.as_bytes())) {
        return None;
    }
    let close = open + b[open..].iter().take(120).position(|&c| c == b']')?;
    let key = &b[open + 1..close];
    let assembled = key.contains(&b'+')
        || key.contains(&b'\\')
        || key.windows(7).any(|w| w == b".source")
        || key.windows(9).any(|w| w == b"tostring(");
    (assembled && b.get(close + 1) == Some(&b'(')).then_some(close + 2)
}

/// DOM event handler attributes an injection into an unquoted attribute uses (HTML
/// Living Standard, "Event handlers on elements"): the common ones, so that prose with a
/// word starting in `on` and an `=` stays clean.
const EVENTS: &[&str] = &[
    "error", "load", "mouseover", "mouseout", "mouseenter", "mousemove", "mousedown",
    "mouseup", "click", "dblclick", "focus", "focusin", "blur", "keydown", "keyup",
    "keypress", "change", "input", "submit", "toggle", "pageshow", "hashchange", "resize",
    "scroll", "animationstart", "animationend", "transitionend", "begin", "end", "unload",
    "beforeunload", "wheel", "pointerover", "pointerdown", "contextmenu", "copy", "paste",
    "select", "drag", "drop", "play", "loadstart", "canplay", "message", "readystatechange",
];

/// An event handler written without its tag (` onerror=alert(1)>`,
/// `onmouseover=alert(1);`): a value that breaks into an unquoted attribute. The handler
/// starts the value or follows white space, a quote or a slash, and its code calls
/// something.
pub(super) fn bare_handler(lower: &str) -> Option<(usize, usize)> {
    let b = lower.as_bytes();
    for at in (0..b.len().saturating_sub(2)).filter(|&i| b[i] == b'o' && b[i + 1] == b'n') {
        if at > 0 && !matches!(b[at - 1], b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'/' | b'`') {
            continue;
        }
        let name_len = b[at + 2..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
        let name = &lower[at + 2..at + 2 + name_len];
        if !EVENTS.contains(&name) {
            continue;
        }
        let rest = lower[at + 2 + name_len..].trim_start();
        let Some(code) = rest.strip_prefix('=') else {
            continue;
        };
        if code.bytes().take(80).any(|c| matches!(c, b'(' | b'`')) {
            return Some((at, (at + 2 + name_len + 16).min(b.len())));
        }
    }
    None
}

/// `css` with CSS escapes decoded (`\\75` and `\\000075 ` are `u`, `\\m` is `m`) and
/// comments removed.
pub(super) fn unescape_css(css: &str) -> String {
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i = css[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            continue;
        }
        if b[i] == b'\\' && i + 1 < b.len() {
            let n = b[i + 1..].iter().take(6).take_while(|c| c.is_ascii_hexdigit()).count();
            if n > 0 {
                let v = u32::from_str_radix(&css[i + 1..i + 1 + n], 16).unwrap_or(0xfffd);
                out.push(char::from_u32(v).unwrap_or('\u{fffd}').to_ascii_lowercase());
                i += 1 + n;
                if b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                continue;
            }
            i += 1;
            continue;
        }
        let ch = css[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// `lower` with JavaScript string escapes decoded (`\x65`, `\u0065`, `\u{65}`, octal
/// `\145`) into `out`; `false` when it holds none.
pub(super) fn unescape_js(lower: &str, out: &mut String) -> bool {
    if !lower.contains('\\') {
        return false;
    }
    out.clear();
    let b = lower.as_bytes();
    let mut i = 0;
    let mut any = false;
    while i < b.len() {
        if b[i] == b'\\' {
            let (code, len) = escape(&b[i + 1..]);
            if let Some(c) = code.and_then(char::from_u32) {
                out.push(c.to_ascii_lowercase());
                i += 1 + len;
                any = true;
                continue;
            }
        }
        let ch = lower[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    any
}

/// The code point and length of the escape after a backslash.
fn escape(rest: &[u8]) -> (Option<u32>, usize) {
    let hex = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
    match rest.first() {
        Some(b'x') if rest.len() >= 3 && rest[1..3].iter().all(u8::is_ascii_hexdigit) => (hex(&rest[1..3]), 3),
        Some(b'u') if rest.get(1) == Some(&b'{') => {
            let n = rest[2..].iter().take(6).take_while(|c| c.is_ascii_hexdigit()).count();
            if rest.get(2 + n) == Some(&b'}') && n > 0 {
                (hex(&rest[2..2 + n]), 3 + n)
            } else {
                (None, 0)
            }
        }
        Some(b'u') if rest.len() >= 5 && rest[1..5].iter().all(u8::is_ascii_hexdigit) => (hex(&rest[1..5]), 5),
        Some(b'0'..=b'7') => {
            let n = rest.iter().take(3).take_while(|c| (b'0'..=b'7').contains(*c)).count();
            let v = rest[..n].iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
            (Some(v), n)
        }
        _ => (None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_handlers_and_escaped_css() {
        for a in [" onerror=alert(1)>", "onmouseover=alert(1);", "x\" onfocus=prompt`1`"] {
            assert!(bare_handler(a).is_some(), "{a}");
        }
        for b in ["once=twice (really)", "turn on=off (switch)", "onerror=retry"] {
            assert!(bare_handler(b).is_none(), "{b}");
        }
        assert!(unescape_css("-\\mo\\z-b\\i\\nding").contains("-moz-binding"));
        assert!(unescape_css("\\65 xpression(").contains("expression("));
        assert!(unescape_css("x:expr/*xss*/ession(").contains("expression("));
    }

    fn hit(v: &str) -> bool {
        let lower = v.to_ascii_lowercase();
        let mut un = String::new();
        tagless_call(&lower).is_some() || unescape_js(&lower, &mut un) && tagless_call(&un).is_some()
    }

    #[test]
    fn sink_calls_match() {
        for a in [
            "alert(1)",
            "';alert(String.fromCharCode(88,83,83))//",
            "(alert)(1)",
            "top[\"al\"+\"ert\"](1)",
            "top[/al/.source+/ert/.source](1)",
            "top['al\\x65rt'](1)",
            "top[8680439..toString(30)](1)",
            "eval(location.hash.slice(1))",
            "eval(URL.slice(-8))>#alert(1)",
            "prompt`1`",
            "confirm(document.domain)",
            "window.alert(1)",
            "setTimeout('alert(1)')",
            "\\u0061lert(1)",
            "eval(atob('YWxlcnQoMSk='))",
            "a=1;a=eval;b=alert;a(b(11));//",
        ] {
            assert!(hit(a), "{a}");
        }
    }

    #[test]
    fn code_about_javascript_does_not() {
        for b in [
            "Use alert() sparingly",
            "call alert(msg) to show it",
            "setTimeout(poll, 100)",
            "fetch(url).then(r => r.json())",
            "obj.alert(1)",
            "confirm your email (2 steps)",
            "items[0](x)",
            "print(\"hello\") in Python",
            "window.open(url)",
            "C:\\x64\\bin",
            "mode=alert; level=2",
        ] {
            assert!(!hit(b), "{b}");
        }
    }
}
