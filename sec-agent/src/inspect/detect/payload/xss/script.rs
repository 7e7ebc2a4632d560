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
pub(super) const DIALOGS: &[&str] = &["alert", "prompt", "confirm"];

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
pub(super) const GLOBALS: &[&str] = &["top", "window", "self", "parent", "this", "globalthis", "frames", "content"];

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
                if b[i] == b'('
                    && let Some(start) = super::obfuscated::indirect_call(b, i)
                {
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
    // `(alert)(1)`: the name inside parentheses just before; `alert?.(1)`: an optional
    // call.
    let (name_end, wrapped) = if open > 0 && b[open - 1] == b')' {
        (open - 1, true)
    } else if open > 1 && &b[open - 2..open] == b"?." {
        (open - 2, false)
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
    // `(0,alert)(1)`: the comma operator makes the same call (without a `this`).
    if wrapped && (name_start == 0 || !matches!(b[name_start - 1], b'(' | b',')) {
        return None;
    }
    // A method of something else (`obj.alert(`) is not the global, unless the object is.
    if name_start > 0 && b[name_start - 1] == b'.' {
        // `window?.alert(1)`: optional chaining reaches the same member.
        let receiver = &b[..name_start - 1];
        let receiver = receiver.strip_suffix(b"?").unwrap_or(receiver);
        if !GLOBALS.iter().any(|g| receiver.ends_with(g.as_bytes())) {
            return None;
        }
    }
    if name_start > 0 && (b[name_start - 1].is_ascii_alphanumeric() || b[name_start - 1] == b'_') {
        return None;
    }
    // `new Alert(this)` constructs a class of the program's own.
    if b[..name_start].trim_ascii_end().ends_with(b"new") {
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
        // With its `)`: `name)` is the whole argument `name`.
        let arg = &arg[..close.map_or(arg.len().min(80), |c| c + 1)];
        // `function(name) {` defines a function: only a call of `Function` evaluates.
        let defines = close.is_some_and(|c| b[open + 1 + c + 1..].trim_ascii_start().starts_with(b"{"));
        let tainted = TAINTED
            .iter()
            .any(|t| arg.windows(t.len()).any(|w| w == t.as_bytes()));
        return (!defines && (tainted || concatenated_names(arg))).then_some(name_start);
    }
    None
}

/// `a+b+c)`: an argument that is only names joined by `+`, the pieces of a string
/// assembled elsewhere in the value (`a="get";b="URL(";eval(a+b+c+d)`).
fn concatenated_names(arg: &[u8]) -> bool {
    let Some(arg) = arg.strip_suffix(b")") else {
        return false;
    };
    let mut terms = 0;
    for term in arg.split(|&c| c == b'+') {
        let term = term.trim_ascii();
        let name = term.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b'$')
            && term.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'$');
        if !name {
            return false;
        }
        terms += 1;
    }
    terms >= 2
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
        Some(_) => ["document.", "document[", "window.", "top.", "self.", "string.fromcharcode", "this", "location", "origin"]
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
    // Joined from literals only: `this[units + 's']()` is a program's own dispatch.
    let literals = key.split(|&c| c == b'+').all(|t| {
        matches!(t.trim_ascii().first(), Some(b'\'' | b'"' | b'`' | b'/' | b'0'..=b'9'))
    });
    let assembled = key.contains(&b'+') && literals
        || key.contains(&b'\\')
        || key.windows(7).any(|w| w == b".source")
        || key.windows(9).any(|w| w == b"tostring(");
    (assembled && b.get(close + 1) == Some(&b'(')).then_some(close + 2)
}

/// DOM event handler attributes an injection into an unquoted attribute uses (HTML
/// Living Standard, "Event handlers on elements"): the common ones, so that prose with a
/// word starting in `on` and an `=` stays clean.
pub(super) const EVENTS: &[&str] = &[
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
        if at > 0 && !matches!(b[at - 1], b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'/' | b'`' | b';' | b'{') {
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
        if code.bytes().take(80).any(|c| matches!(c, b'(' | b'`'))
            || handler_code(code)
            || name == "error" && thrown_to(code, lower)
        {
            return Some((at, (at + 2 + name_len + 16).min(b.len())));
        }
    }
    None
}

/// `onerror=alert;throw 1`, `throw onerror=eval,'...'`: a sink made the error handler,
/// and an exception thrown to call it with the thrown value.
fn thrown_to(code: &str, lower: &str) -> bool {
    let sink = DIALOGS.iter().chain(["eval"].iter()).find(|d| code.starts_with(*d));
    sink.is_some_and(|d| {
        !code[d.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    }) && lower.contains("throw")
}

/// Handler code without a call that still runs or closes a tag: a quoted value the next
/// `>` ends (` onmouseover="document.cookie=1;">`).
fn handler_code(code: &str) -> bool {
    let code = code.trim_start();
    if let Some(q @ ('"' | '\'')) = code.chars().next()
        && let Some(close) = code[1..].find(q)
    {
        let inner = &code[1..1 + close];
        return code[close + 2..].trim_start().starts_with('>')
            && inner.bytes().any(|c| matches!(c, b'=' | b';' | b'.'));
    }
    false
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
                // A NUL ends nothing in a script string and browsers skip it in markup
                // (`<scr\0ipt>`): dropped, as the normalizer drops a decoded `%00`.
                if c != '\0' {
                    out.push(c.to_ascii_lowercase());
                }
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

/// The code point and length of the escape after a backslash, as a JavaScript string
/// literal reads it (ECMA-262, 12.9.4 and B.1.2): `\x65`, `\u0065`, `\u{65}`, legacy
/// octal (three digits only up to `\377`, so `\501` is `\50` then `1`), the control
/// escapes, and any other ASCII character standing for itself (`\a` is `a`).
fn escape(rest: &[u8]) -> (Option<u32>, usize) {
    let hex = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
    match rest.first() {
        Some(b'x') if rest.len() >= 3 && rest[1..3].iter().all(u8::is_ascii_hexdigit) => (hex(&rest[1..3]), 3),
        Some(b'u') if rest.get(1) == Some(&b'{') => {
            let n = rest[2..].iter().take(6).take_while(|c| c.is_ascii_hexdigit()).count();
            if rest.get(2 + n) == Some(&b'}') && n > 0 {
                (hex(&rest[2..2 + n]), 3 + n)
            } else {
                (Some(u32::from(b'u')), 1)
            }
        }
        Some(b'u') if rest.len() >= 5 && rest[1..5].iter().all(u8::is_ascii_hexdigit) => (hex(&rest[1..5]), 5),
        Some(&d @ b'0'..=b'7') => {
            let most = if d <= b'3' { 3 } else { 2 };
            let n = rest.iter().take(most).take_while(|c| (b'0'..=b'7').contains(*c)).count();
            let v = rest[..n].iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
            (Some(v), n)
        }
        Some(b'n') => (Some(0x0a), 1),
        Some(b'r') => (Some(0x0d), 1),
        Some(b't') => (Some(0x09), 1),
        Some(b'b') => (Some(0x08), 1),
        Some(b'f') => (Some(0x0c), 1),
        Some(b'v') => (Some(0x0b), 1),
        // A line continuation, and every other ASCII character: itself.
        Some(&c) if c.is_ascii() => (Some(u32::from(c)), 1),
        _ => (None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_handlers() {
        for a in [" onerror=alert(1)>", "onmouseover=alert(1);", "x\" onfocus=prompt`1`"] {
            assert!(bare_handler(a).is_some(), "{a}");
        }
        for a in ["onerror=alert;throw 1", "throw onerror=alert,1", "{onerror=eval}throw'=alert\x281\x29'"] {
            assert!(bare_handler(a).is_some(), "{a}");
        }
        for b in ["once=twice (really)", "turn on=off (switch)", "onerror=retry", "onerror=alerting; throw err"] {
            assert!(bare_handler(b).is_none(), "{b}");
        }
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
            "data = new Alert(this);",
            "return this.isValid() ? this[units + 's']() : NaN;",
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
