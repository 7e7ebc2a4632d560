//! Cross-site scripting: markup or script that a browser would run if the value were
//! reflected into a page. Tags are parsed (name, attributes) rather than searched for, so
//! harmless markup (`<b>`, `<a href="https://...">`) and prose about scripts do not match.
//! Script without markup is `script`'s part.

mod css;
mod obfuscated;
mod script;
mod utf7;

use super::Match;
use css::{bare_css, dangerous_css};
use crate::inspect::normalize::decode;

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
    let held = Held::of(lower);
    if let Some(m) = check_lower(value, lower, held) {
        return Some(m);
    }
    // Reflected into a script string, `\x3c` and `\u0061` are `<` and `a` again.
    if held.any(Held::BACKSLASH)
        && script::unescape_js(lower, &mut scratch.unescaped)
        && let Some(m) = check_lower(&scratch.unescaped, &scratch.unescaped, Held::of(&scratch.unescaped))
    {
        return Some(Match::new(m.rule, value, 0, value.len()));
    }
    // Read as UTF-7, `+ADw-script+AD4-` is a tag (case matters to base64: `value`).
    if held.any(Held::PLUS_OR_SPACE) && utf7::decode(value, &mut scratch.unescaped) {
        scratch.unescaped.make_ascii_lowercase();
        let held = Held::of(&scratch.unescaped);
        let m = check_lower(&scratch.unescaped, &scratch.unescaped, held)?;
        return Some(Match::new(m.rule, value, 0, value.len()));
    }
    None
}

/// Which of the bytes the checks below start from a value holds, found in one pass: each
/// check then runs only where its first byte is, instead of scanning for it itself.
#[derive(Clone, Copy)]
struct Held(u16);

impl Held {
    const LT: u16 = 1;
    const COLON: u16 = 2;
    /// `"` or `'`.
    const QUOTE: u16 = 4;
    const BACKTICK: u16 = 8;
    const PAREN: u16 = 16;
    const EQUALS: u16 = 32;
    const SLASH: u16 = 64;
    const BACKSLASH: u16 = 128;
    /// `+` or a space: where UTF-7's `+AD` runs start (see [`utf7::decode`]).
    const PLUS_OR_SPACE: u16 = 256;

    const TABLE: [u16; 256] = {
        let mut t = [0u16; 256];
        t[b'<' as usize] = Held::LT;
        t[b':' as usize] = Held::COLON;
        t[b'"' as usize] = Held::QUOTE;
        t[b'\'' as usize] = Held::QUOTE;
        t[b'`' as usize] = Held::BACKTICK;
        t[b'(' as usize] = Held::PAREN;
        t[b'=' as usize] = Held::EQUALS;
        t[b'/' as usize] = Held::SLASH;
        t[b'\\' as usize] = Held::BACKSLASH;
        t[b'+' as usize] = Held::PLUS_OR_SPACE;
        t[b' ' as usize] = Held::PLUS_OR_SPACE;
        t
    };

    fn of(s: &str) -> Held {
        Held(s.bytes().fold(0, |h, b| h | Held::TABLE[usize::from(b)]))
    }

    fn any(self, bits: u16) -> bool {
        self.0 & bits != 0
    }
}

/// The checks on `lower`, the ASCII-lowercased `value` (fragments quote `value`), each
/// behind the byte it needs (`held`, of `lower`).
fn check_lower(value: &str, lower: &str, held: Held) -> Option<Match> {
    if held.any(Held::LT)
        && let Some(m) = tags(value, lower)
    {
        return Some(m);
    }
    if held.any(Held::COLON)
        && let Some(at) = script_scheme_at_start(lower)
    {
        return Some(Match::new(
            "xss:script_url",
            value,
            at,
            (at + 11).min(value.len()),
        ));
    }
    if held.any(Held::QUOTE)
        && let Some((s, e)) = attribute_breakout(lower)
    {
        return Some(Match::new("xss:attribute_breakout", value, s, e));
    }
    if held.any(Held::QUOTE | Held::BACKTICK)
        && let Some((s, e)) = script_breakout(lower)
    {
        return Some(Match::new("xss:script_breakout", value, s, e));
    }
    if held.any(Held::EQUALS)
        && let Some((s, e)) = script::bare_handler(lower)
    {
        return Some(Match::new("xss:attribute_breakout", value, s, e));
    }
    // A call: `(` or a tagged template's backtick.
    if held.any(Held::PAREN | Held::BACKTICK)
        && let Some((s, e)) = script::tagless_call(lower)
    {
        return Some(Match::new("xss:script_call", value, s, e));
    }
    if held.any(Held::QUOTE | Held::SLASH)
        && let Some((s, e)) = obfuscated::split_sink(lower)
    {
        return Some(Match::new("xss:script_call", value, s, e));
    }
    if held.any(Held::COLON)
        && let Some((s, e)) = script_url_inside(lower)
    {
        return Some(Match::new("xss:script_url", value, s, e));
    }
    if held.any(Held::COLON)
        && lower.contains("base64")
        && let Some((s, e)) = data_url_attack(value, lower)
    {
        return Some(Match::new("xss:data_url", value, s, e));
    }
    // `expression(`, `behavior:`, `-moz-binding:`.
    if held.any(Held::PAREN | Held::COLON)
        && let Some((s, e)) = bare_css(lower)
    {
        return Some(Match::new("xss:css", value, s, e));
    }
    // `style=xss:expression(alert(1))`: an attribute of its own, injected unquoted.
    let b = lower.as_bytes();
    if held.any(Held::EQUALS)
        && let Some(p) = (5..b.len()).find(|&i| b[i] == b'=' && lower[..i].ends_with("style"))
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
        let closing = b.get(j) == Some(&b'/');
        // `<;script`, `<%script>` (filters that look for `<` and a letter miss them; old
        // parsers and the pages they are written for do not) and `<?import` (IE's
        // behaviours) open a tag too.
        if closing || matches!(b.get(j), Some(b';' | b'%' | b'?')) {
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
        // An end tag runs nothing by itself: it counts where it breaks out of the page's
        // own element (`</script>` opening the value, `'"></iframe>`), not in prose about
        // markup (`an unopened </script> tag`).
        if dangerous_tag(name)
            && (!closing || breaks_out_before(&b[..start]))
            && (closing || !inert_element(b, start, j))
        {
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

/// Whether `before` (the value up to an end tag) only closes what the page had open:
/// nothing but quotes, brackets and white space, an attribute closed by `">`, or a
/// statement ended (`alert(1);</script>`).
fn breaks_out_before(before: &[u8]) -> bool {
    let code = before.trim_ascii_end();
    before.ends_with(b"\">")
        || before.ends_with(b"'>")
        || code.ends_with(b")")
        || code.ends_with(b";")
        || before
            .iter()
            .all(|c| c.is_ascii_whitespace() || b"\"'`>;)]}".contains(c))
}

/// Whether the start tag at `start..name_end` loads nothing: a generic type's parameter
/// (`List<Object>`, `Promise<Object[]>`, glued to a name), or a plugin element without
/// attributes (`<object>`, as API references write the type), which has nothing to load.
fn inert_element(b: &[u8], start: usize, name_end: usize) -> bool {
    let name = &b[start + 1..name_end];
    let next = b.get(name_end);
    let generic = start > 0
        && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_')
        && matches!(next, Some(b'>' | b',' | b'['))
        && !name.ends_with(b"script");
    let empty_plugin = matches!(name, b"object" | b"embed" | b"applet") && matches!(next, Some(b'>' | b'['));
    generic || empty_plugin
}

/// Whether the tag `name` runs code or loads a document whatever its attributes; behind a
/// namespace prefix (`<x:script xmlns:x="http://www.w3.org/1999/xhtml">`, `<svg:script>`)
/// only the script and frame elements, since XML vocabularies have `import`, `base` and
/// `handler` elements of their own (`<xs:import>`).
fn dangerous_tag(name: &str) -> bool {
    match name.rsplit_once(':') {
        None => DANGEROUS_TAGS.contains(&name),
        Some((_, local)) => matches!(local, "script" | "iframe" | "frame" | "embed"),
    }
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
            if element_attribute(tag, name, value) {
                return Some((name_start, ve));
            }
        } else if name.is_empty() {
            i += 1;
        } else if tag == "link" && name == "import" {
            // `<link rel=prefetch import href=...>`: the unquoted list's second word.
            return Some((name_start, i));
        }
        let _ = value;
    }
    if tag == "style" {
        return dangerous_css(attrs).then_some((0, attrs.len()));
    }
    None
}

/// The attributes that make one element load or run code: an HTML import
/// (`<link rel=import>`), an IE data island (`<xml src>`), Netscape's JavaScript style
/// sheets (`<style type=text/javascript>`), a page charset that reads `+ADw-` as `<`
/// (`<meta charset=utf-7>`), and a `mocha:` URL (Netscape's `javascript:`).
fn element_attribute(tag: &str, name: &str, value: &str) -> bool {
    match (tag, name) {
        ("link", "rel") => value.split_ascii_whitespace().any(|w| w == "import"),
        ("xml", "src") => true,
        ("style", "type") => value.contains("javascript"),
        ("meta", "charset" | "content") => value.contains("utf-7") || value.contains("utf7"),
        _ => URL_ATTRIBUTES.contains(&name) && value.trim_start().starts_with("mocha:"),
    }
}

/// A `data:` URL whose base64 content (`data:text/html;base64,PHNjcmlwdD4...`, or
/// `data:image/svg+xml;base64,...` holding a script) decodes to a document the checks find
/// an attack in; returns the range of the `data:`. `value` gives the case base64 needs,
/// `lower` is it lowercased. A picture or a harmless SVG icon inlined as a data URL decodes
/// to nothing they find (or to no text at all).
fn data_url_attack(value: &str, lower: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(p) = lower[from..].find("data:") {
        let at = from + p;
        from = at + 5;
        // The media type and its parameters end in `;base64,` (white space and the line
        // breaks of `&NewLine;` tolerated around it).
        let head = &lower[at..(at + 120).min(lower.len())];
        let Some(k) = head.find("base64") else {
            continue;
        };
        let after = &lower[at + k + 6..];
        let Some(data) = after.trim_start().strip_prefix(',') else {
            continue;
        };
        let data_start = lower.len() - data.trim_start().len();
        let data_end = data_start
            + value.as_bytes()[data_start..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_'))
                .count();
        // `data:image/svg xml`: a `+` the query string turned into a space.
        let found = decode::base64_text_with(&value[data_start..data_end], |doc| {
            let lower = doc.to_ascii_lowercase();
            check_lower(doc, &lower, Held::of(&lower)).is_some()
        });
        if found == Some(true) {
            return Some((at, data_start));
        }
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
        if seen_sep && let Some(e) = handler_after_attributes(rest) {
            return Some((q, i + e));
        }
    }
    None
}

/// `type=image src=x onerror=...`: up to three attributes (`name=value`, the value bare
/// or quoted) and then an event handler of [`script::EVENTS`]; returns the end of its
/// `=`. The attributes before it are what make the injected element fire (an `<input
/// type=image>` loads its `src`), and prose does not chain `name=value` words into one.
fn handler_after_attributes(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let mut i = 0;
    for _ in 0..4 {
        let name_len = b[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic() || **c == b'-')
            .count();
        let name = &rest[i..i + name_len];
        i += name_len;
        if b.get(i) != Some(&b'=') || name.is_empty() {
            return None;
        }
        if let Some(event) = name.strip_prefix("on")
            && script::EVENTS.contains(&event)
        {
            return Some(i + 1);
        }
        i += 1;
        i += match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => 2 + b[i + 1..].iter().position(|&c| c == q)?,
            _ => b[i..].iter().take_while(|c| !c.is_ascii_whitespace()).count(),
        };
        let sep = b[i..].iter().take_while(|c| c.is_ascii_whitespace() || **c == b'/').count();
        if sep == 0 {
            return None;
        }
        i += sep;
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
        if let Some(sink) = SINKS.iter().find(|s| rest.starts_with(*s))
            && (*sink != "function(" || function_runs(rest))
        {
            return Some((q, (lower.len() - rest.len() + sink.len()).min(lower.len())));
        }
    }
    None
}

/// Whether the function expression starting `rest` runs something: it is invoked where
/// it is written (`function(){...}()`) or its body calls a sink. A callback handed on
/// (`.each(['a'], function(name) {`) is what code lines are full of.
fn function_runs(rest: &str) -> bool {
    let mut end = rest.len().min(120);
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    let body = &rest[..end];
    body.contains("}()") || body.contains("})()") || script::tagless_call(&body[9..]).is_some()
}

#[cfg(test)]
mod tests;
