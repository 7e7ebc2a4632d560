//! Decoders that undo the encodings attackers use to hide payloads from pattern matching.
//!
//! Each borrows its input when there is nothing to decode, which is what most values are.

use std::borrow::Cow;

/// Most percent-decoding rounds: enough for double and triple encoding
/// (`%25252e` -> `%252e` -> `%2e` -> `.`), bounded so that a value cannot cost more.
pub const MAX_PERCENT_ROUNDS: usize = 4;

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A digit of a hex escape as decoders that never checked it read it: `0`-`9`, then
/// letters on from 10 (`g` is 16, `q` 26), the low 8 bits of the sum kept.
fn lax_digit(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'a'..=b'z' | b'A'..=b'Z' => Some(u32::from((b | 0x20) - b'a') + 10),
        _ => None,
    }
}

/// The ASCII character that two escapes at `input[i..i + 6]` spell as an overlong UTF-8
/// pair (`C0`/`C1` then a continuation byte) when their digits are read laxly (see
/// [`lax_digit`]) and at least one is no hex digit: `%bg%qf` (`C0 AF`, `/`), `%c0%qf`,
/// `%c1%pc` (`\\`), `%c0%9v`, `%c1%8s`, the "invalid hex" traversals of dotdotpwn's set
/// that old IIS decoders accepted. A text's stray `%` (`50%off`) spells no such pair.
fn lax_overlong(input: &[u8], i: usize) -> Option<u8> {
    let e = input.get(i..i + 6)?;
    if e[0] != b'%' || e[3] != b'%' {
        return None;
    }
    let pair = |a: u8, b: u8| Some((lax_digit(a)? * 16 + lax_digit(b)?) & 0xFF);
    let (lead, cont) = (pair(e[1], e[2])?, pair(e[4], e[5])?);
    let lax = [e[1], e[2], e[4], e[5]].iter().any(|&d| hex(d).is_none());
    (lax && (lead == 0xC0 || lead == 0xC1) && cont & 0xC0 == 0x80)
        .then_some(((lead & 0x1F) << 6 | cont & 0x3F) as u8)
}

/// One round of percent-decoding: `%XX`, and IIS-style `%uXXXX` (a UTF-16 code unit, as
/// used to slip past filters that only know `%XX`), and the invalid-hex overlong pairs of
/// [`lax_overlong`]. Other invalid escapes stay as they are.
pub fn percent_decode_once(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            if let Some(c) = lax_overlong(input, i) {
                out.push(c);
                i += 6;
                continue;
            }
            if let (Some(h), Some(l)) = (
                input.get(i + 1).copied().and_then(hex),
                input.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U'))
                && let Some(unit) = input.get(i + 2..i + 6).and_then(|d| {
                    d.iter()
                        .try_fold(0u32, |acc, &b| Some(acc << 4 | u32::from(hex(b)?)))
                })
            {
                let c = char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                continue;
            }
        }
        out.push(input[i]);
        i += 1;
    }
    out
}

/// Percent-decodes until the value stops changing, at most [`MAX_PERCENT_ROUNDS`] times.
/// With `plus_is_space` (query strings and form bodies), `+` becomes a space first.
pub fn percent_decode(input: &[u8], plus_is_space: bool) -> Cow<'_, [u8]> {
    let mut value = if plus_is_space && input.contains(&b'+') {
        Cow::Owned(
            input
                .iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(input)
    };
    for _ in 0..MAX_PERCENT_ROUNDS {
        if !value.contains(&b'%') {
            break;
        }
        let next = percent_decode_once(&value);
        if next == *value {
            break;
        }
        value = Cow::Owned(next);
    }
    value
}

/// [`percent_decode`] then [`text`]: the decoded value as text.
#[inline]
pub fn decode_text(input: &[u8], plus_is_space: bool) -> Cow<'_, str> {
    match plain(input, plus_is_space) {
        Some(s) => Cow::Borrowed(s),
        None => decode_slow(input, plus_is_space),
    }
}

/// `input` as text when it [`is_plain`]: then neither [`decode_text`] nor
/// [`html_entities`] would change it (it holds no `%`, `+` meaning a space, `&` or NUL).
#[inline]
pub fn plain(input: &[u8], plus_is_space: bool) -> Option<&str> {
    // SAFETY: a plain input is ASCII (`is_plain` refuses every byte >= 0x80), so UTF-8;
    // validating it again costs about as much as the decoding check itself.
    is_plain(input, plus_is_space).then(|| unsafe { std::str::from_utf8_unchecked(input) })
}

/// [`decode_text`] of a value that is not plain: out of line, most values are plain.
#[inline(never)]
pub fn decode_slow(input: &[u8], plus_is_space: bool) -> Cow<'_, str> {
    decode_checked(input, plus_is_space).0
}

/// [`decode_slow`], and whether the raw value used an encoding that no client produces
/// (see [`evasive`]; overlong UTF-8 is found while decoding).
pub fn decode_checked(input: &[u8], plus_is_space: bool) -> (Cow<'_, str>, bool) {
    match percent_decode(input, plus_is_space) {
        Cow::Borrowed(b) => (text(b), false),
        Cow::Owned(v) => match String::from_utf8(v) {
            // An evasive escape hidden under one more round of encoding (`%252%25f` is
            // `%2%f` once decoded) shows in what the rounds leave.
            Ok(s) if !s.contains('\0') => {
                let e = evasive(input) || evasive(s.as_bytes());
                (Cow::Owned(s), e)
            }
            Ok(s) => {
                let e = evasive(input) || evasive(s.as_bytes());
                (Cow::Owned(s.replace('\0', "")), e)
            }
            Err(e) => {
                let folded = fold_overlong(e.as_bytes());
                let overlong = matches!(folded, Cow::Owned(_));
                let suspect = overlong || evasive(input) || evasive(&folded);
                (Cow::Owned(text(&folded).into_owned()), suspect)
            }
        },
    }
}

/// Whether raw `input` holds an escape that no browser, HTTP library or form encoder
/// writes, only evasion tools (the families CRS's protocol enforcement looks for): `%%32`
/// (an escape inside an escape), `%2%f` (one split in two), `%u002e` (an ASCII character
/// through IIS's `%u`), `%2525` (three rounds of encoding), and the invalid-hex overlong
/// pairs of [`lax_overlong`] (`%bg%qf`).
pub fn evasive(input: &[u8]) -> bool {
    let hexd = |i: usize| input.get(i).copied().and_then(hex).is_some();
    let at = |i: usize, b: u8| input.get(i) == Some(&b);
    let suspect = |i: usize| {
        (at(i + 1, b'%') && hexd(i + 2) && hexd(i + 3))
            || (hexd(i + 1) && at(i + 2, b'%') && hexd(i + 3) && !hexd(i + 4))
            || (input
                .get(i + 1..i + 4)
                .is_some_and(|u| u.eq_ignore_ascii_case(b"u00"))
                && input
                    .get(i + 4)
                    .copied()
                    .and_then(hex)
                    .is_some_and(|h| h < 8)
                && hexd(i + 5))
            || input.get(i + 1..i + 5).is_some_and(|d| d == b"2525")
            || at(i + 1, b'u')
                && (0..4).all(|k| hexd(i + 2 + k))
                && pua_or_fullwidth(&input[i + 2..i + 6])
            || lax_overlong(input, i).is_some()
    };
    // From `%` to `%`: most values have a few.
    let mut from = 0;
    while let Some(p) = input[from..].iter().position(|&b| b == b'%') {
        if suspect(from + p) {
            return true;
        }
        from += p + 1;
    }
    false
}

/// Whether four hex digits name a private-use (U+E000 to U+F8FF) or halfwidth and
/// fullwidth form (U+FF00 to U+FFEF) code point: text never holds the first, and `%u`
/// escapes of the second are CRS's "full/half width abuse" (rule 920260).
fn pua_or_fullwidth(digits: &[u8]) -> bool {
    let v = digits
        .iter()
        .fold(0u32, |v, &d| v * 16 + u32::from(hex(d).unwrap_or(0)));
    (0xE000..=0xF8FF).contains(&v) || (0xFF00..=0xFFEF).contains(&v)
}

/// Invalid UTF-8 with overlong forms decoded to the characters they spell: `C0 AF` is `/`,
/// `E0 80 AE` is `.`. No encoder produces them; decoders that accepted them (the IIS
/// "Unicode" traversal, CVE-2000-0884) made them a classic way to hide `../` from filters,
/// so they are read the way those decoders read them. Other bytes stay as they are.
pub fn fold_overlong(bytes: &[u8]) -> Cow<'_, [u8]> {
    let cont = |b: Option<&u8>| b.is_some_and(|&b| b & 0xC0 == 0x80);
    let has = bytes.iter().enumerate().any(|(i, &b)| {
        matches!(b, 0xC0 | 0xC1)
            || b == 0xE0 && bytes.get(i + 1).is_some_and(|&n| n < 0xA0)
            || b == 0xF0 && bytes.get(i + 1).is_some_and(|&n| n < 0x90)
            || matches!(b, 0xF8 | 0xFC) && cont(bytes.get(i + 1))
    });
    if !has {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (cp, len) = match b {
            0xC0 | 0xC1 if cont(bytes.get(i + 1)) => {
                (u32::from(b & 0x1F) << 6 | u32::from(bytes[i + 1] & 0x3F), 2)
            }
            0xE0 if cont(bytes.get(i + 1)) && bytes[i + 1] < 0xA0 && cont(bytes.get(i + 2)) => (
                u32::from(bytes[i + 1] & 0x3F) << 6 | u32::from(bytes[i + 2] & 0x3F),
                3,
            ),
            0xF0 if cont(bytes.get(i + 1))
                && bytes[i + 1] < 0x90
                && cont(bytes.get(i + 2))
                && cont(bytes.get(i + 3)) =>
            {
                (
                    u32::from(bytes[i + 1] & 0x3F) << 12
                        | u32::from(bytes[i + 2] & 0x3F) << 6
                        | u32::from(bytes[i + 3] & 0x3F),
                    4,
                )
            }
            // The 5- and 6-byte forms of the original UTF-8 (RFC 2279), which RFC 3629
            // removed: only evasion tools write them, for one ASCII character.
            0xF8 | 0xFC => {
                let len = if b == 0xF8 { 5 } else { 6 };
                if (1..len).all(|k| cont(bytes.get(i + k))) {
                    let cp = (1..len).fold(u32::from(b & 0x03), |cp, k| {
                        cp << 6 | u32::from(bytes[i + k] & 0x3F)
                    });
                    (cp, len)
                } else {
                    out.push(b);
                    i += 1;
                    continue;
                }
            }
            _ => {
                out.push(b);
                i += 1;
                continue;
            }
        };
        match char::from_u32(cp) {
            Some(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            None => out.extend_from_slice(&bytes[i..i + len]),
        }
        i += len;
    }
    Cow::Owned(out)
}

/// Whether no decoder would change `input`: ASCII without `%`, `&`, NUL (or `+` when it
/// means a space). One pass without branches, where the decoders take one each.
#[inline]
pub fn is_plain(input: &[u8], plus_is_space: bool) -> bool {
    let plus = if plus_is_space { b'+' } else { b'%' };
    let special = input.iter().fold(false, |any, &b| {
        any | (b == b'%') | (b == b'&') | (b == 0) | (b >= 0x80) | (b == plus)
    });
    !special
}

/// Decodes HTML character references: `&#NN;`, `&#xHH;` (also without the `;`, as browsers
/// accept) and the named ones that matter for markup and quoting.
#[inline]
pub fn html_entities(input: &str) -> Cow<'_, str> {
    // Most values are short: a plain loop beats setting up `memchr`.
    let has_amp = if input.len() < 64 {
        input.bytes().any(|b| b == b'&')
    } else {
        input.contains('&')
    };
    if !has_amp {
        return Cow::Borrowed(input);
    }
    Cow::Owned(decode_entities(input))
}

/// [`html_entities`] of a value holding a `&`: out of line, most values have none.
#[inline(never)]
fn decode_entities(input: &str) -> String {
    const NAMED: &[(&str, char)] = &[
        ("lt", '<'),
        ("gt", '>'),
        ("amp", '&'),
        ("quot", '"'),
        ("apos", '\''),
        ("sol", '/'),
        ("bsol", '\\'),
        ("lpar", '('),
        ("rpar", ')'),
        ("colon", ':'),
        ("semi", ';'),
        ("equals", '='),
        ("tab", '\t'),
        ("newline", '\n'),
        ("nbsp", ' '),
    ];
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        let (decoded, used) = if let Some(num) = rest.strip_prefix('#') {
            let (radix, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (16, h),
                None => (10, num),
            };
            let len = digits
                .chars()
                .take_while(|c| c.is_digit(radix))
                .count()
                .min(8);
            let prefix = rest.len() - num.len() + (num.len() - digits.len());
            match u32::from_str_radix(&digits[..len], radix)
                .ok()
                .and_then(char::from_u32)
            {
                Some(c) if len > 0 => {
                    let semi = digits[len..].starts_with(';') as usize;
                    (Some(c), prefix + len + semi)
                }
                _ => (None, 0),
            }
        } else {
            NAMED
                .iter()
                .find(|(name, _)| {
                    rest.len() > name.len()
                        && rest.as_bytes()[name.len()] == b';'
                        && rest[..name.len()].eq_ignore_ascii_case(name)
                })
                .map(|(name, c)| (Some(*c), name.len() + 1))
                .or_else(|| legacy_entity(rest))
                .unwrap_or((None, 0))
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => out.push('&'),
        }
    }
    out.push_str(rest);
    out
}

/// A named reference without its `;` that browsers still decode (the HTML standard's
/// legacy names, in the case it lists them: `&lt`, `&LT`, not `&Lt`): `&ltscript&gt` is
/// a tag to a page. Only those of markup and quoting; `AT&T` and `&copy2024` are not
/// among them.
fn legacy_entity(rest: &str) -> Option<(Option<char>, usize)> {
    const LEGACY: &[(&str, char)] = &[
        ("lt", '<'),
        ("LT", '<'),
        ("gt", '>'),
        ("GT", '>'),
        ("quot", '"'),
        ("QUOT", '"'),
        ("amp", '&'),
        ("AMP", '&'),
    ];
    LEGACY
        .iter()
        .find(|(name, _)| rest.starts_with(name))
        .map(|(name, c)| (Some(*c), name.len()))
}

/// Decodes a value that looks like base64 (standard or URL-safe alphabet, at least 16
/// characters) when the result is printable UTF-8 text; `None` otherwise. Only text is of
/// interest: an attack hidden in base64 must still be text when decoded.
pub fn base64_text(value: &str) -> Option<String> {
    base64_text_with(value, str::to_owned)
}

/// Shortest value [`base64_text`] decodes (trailing `=` aside).
const BASE64_MIN_LEN: usize = 16;

/// [`base64_text`], handing the decoded text to `f` instead of allocating it: values that
/// look like base64 but are not text (tokens, `application/json`) cost no allocation.
#[inline]
pub fn base64_text_with<R>(value: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    if value.len() < BASE64_MIN_LEN {
        return None; // Most values: decided before anything else.
    }
    base64_decode(value, f)
}

fn base64_decode<R>(value: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    let v = value.trim_end_matches('=');
    if v.len() < BASE64_MIN_LEN || v.len() % 4 == 1 {
        return None;
    }
    // Most values fail on the alphabet: find out before decoding.
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'/' | b'_'))
    {
        return None;
    }
    // Decoded on the stack when short, which is what most values are.
    const STACK: usize = 192;
    let len = v.len() * 3 / 4;
    let mut on_stack = [0u8; STACK];
    let mut on_heap;
    let out = if len <= STACK {
        &mut on_stack[..len]
    } else {
        on_heap = vec![0u8; len];
        &mut on_heap[..]
    };
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut n = 0;
    for b in v.bytes() {
        let six = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            _ => 63, // `/` or `_`, checked above
        };
        bits = bits << 6 | u32::from(six);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out[n] = (bits >> nbits) as u8;
            n += 1;
        }
    }
    let text = std::str::from_utf8(&out[..n]).ok()?;
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    printable.then(|| f(text))
}

/// Lossy UTF-8 with NUL bytes removed (C-string truncation tricks such as
/// `../../etc/passwd%00.png` must not split a payload from its detector).
pub fn text(bytes: &[u8]) -> Cow<'_, str> {
    // ASCII without NUL is the rule (header values): one branch-free pass decides it.
    let odd = bytes
        .iter()
        .fold(false, |odd, &b| odd | (b == 0) | (b >= 0x80));
    if !odd {
        // SAFETY: every byte is below 0x80: ASCII, so UTF-8.
        return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    // Valid UTF-8 is the rule; checking it is much cheaper than a lossy conversion.
    let s = match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', ""))
    } else {
        s
    }
}

/// Canonical path for matching: backslashes as slashes, `//` collapsed, `.` and `..`
/// segments resolved (never above the root). Decoding happens before this.
pub fn normalize_path(path: &str) -> String {
    let mut out = String::new();
    normalize_path_into(path, &mut out);
    out
}

/// [`normalize_path`], appended to `out` (no allocation for a path already canonical).
pub fn normalize_path_into(path: &str, out: &mut String) {
    if is_canonical(path) {
        out.push_str(path);
        return;
    }
    let unified = path.replace('\\', "/");
    let mut segments: Vec<&str> = Vec::new();
    for seg in unified.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let start = out.len();
    out.reserve(unified.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.len() == start || (unified.ends_with('/') && !segments.is_empty()) {
        out.push('/');
    }
}

/// Whether [`normalize_path`] would return `path` unchanged: it starts with `/`, has no
/// backslash, and no empty, `.` or `..` segment but for a trailing slash.
fn is_canonical(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    // What follows each slash starts a segment: it must not be empty (but for the last),
    // `.` or `..`.
    b.iter().enumerate().all(|(i, &c)| match c {
        b'\\' => false,
        b'/' => !matches!(
            &b[i + 1..],
            [b'/', ..] | [b'.'] | [b'.', b'/', ..] | [b'.', b'.'] | [b'.', b'.', b'/', ..]
        ),
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_table() {
        let cases: &[(&str, bool, &str)] = &[
            ("%2e%2e%2fetc%2fpasswd", false, "../etc/passwd"),
            ("%252e%252e%252f", false, "../"),
            ("%25252e", false, "."),
            ("a+b%20c", true, "a b c"),
            ("a+b", false, "a+b"),
            ("%u003cscript%u003e", false, "<script>"),
            ("..%c0%af..%c0%afetc", false, "../../etc"),
            ("%e0%80%ae%e0%80%ae/x", false, "../x"),
            ("%f0%80%80%af", false, "/"),
            ("%fc%80%80%80%80%ae%f8%80%80%80%ae", false, ".."),
            ("100%", false, "100%"),
            ("%zz%4", false, "%zz%4"),
            ("%C3%A9t%C3%A9", false, "été"),
            ("..%bg%qfetc%bg%qfpasswd", false, "../etc/passwd"),
            ("..%c0%qf..%c1%pc..%c0%9v..%c1%8s", false, "../..\\../..\\"),
            ("50%off %bg %qf 100%25", false, "50%off %bg %qf 100%"),
        ];
        for (input, plus, want) in cases {
            assert_eq!(decode_slow(input.as_bytes(), *plus), *want, "{input}");
        }
    }

    #[test]
    fn html_entity_table() {
        let cases = [
            ("&lt;script&gt;", "<script>"),
            ("&#60;img&#x3E;", "<img>"),
            ("&#x6A&#x61vascript", "javascript"),
            ("O&apos;Brien &amp; co", "O'Brien & co"),
            ("AT&T &unknown; &#;", "AT&T &unknown; &#;"),
            (
                "&ltscript&gtalert(1)&LT/script&GT",
                "<script>alert(1)</script>",
            ),
            (
                "&quotx&quot &amp;&ampy &Lt &copy2024",
                "\"x\" &&y &Lt &copy2024",
            ),
            ("&#1114112;", "&#1114112;"),
        ];
        for (input, want) in cases {
            assert_eq!(html_entities(input), want, "{input}");
        }
    }

    #[test]
    fn base64_only_when_it_is_text() {
        assert_eq!(
            base64_text("JyBPUiAxPTEgLS0gLQ==").as_deref(),
            Some("' OR 1=1 -- -")
        );
        assert_eq!(
            base64_text("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg").as_deref(),
            Some("<script>alert(1)</script>")
        );
        assert_eq!(base64_text("short"), None);
        assert_eq!(base64_text("not base64 at all!!"), None);
        // Random binary (a session token) does not decode to text.
        assert_eq!(base64_text("q83vASNFZ4mrze8BI0VniQ"), None);
    }

    #[test]
    fn path_normalization_table() {
        let cases = [
            ("/a/./b/../c", "/a/c"),
            ("//a///b/", "/a/b/"),
            ("/a\\b\\..\\c", "/a/c"),
            ("/../../etc/passwd", "/etc/passwd"),
            ("", "/"),
            ("/", "/"),
            ("/.env", "/.env"),
            ("/a/", "/a/"),
            ("/a//", "/a/"),
            ("/a/.", "/a"),
            ("/a/..", "/"),
            ("a/b", "/a/b"),
            ("/a/.b/..c", "/a/.b/..c"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_path(input), want, "{input}");
            let canonical = normalize_path(input) == input;
            assert_eq!(is_canonical(input), canonical, "{input}");
        }
    }

    #[test]
    fn plain_values_are_left_alone_by_every_decoder() {
        for v in ["abc", "a+b", "/x/y.z?q", "O'Brien <b>", ""] {
            for plus in [false, true] {
                let Some(p) = plain(v.as_bytes(), plus) else {
                    assert!(plus && v.contains('+'), "{v}");
                    continue;
                };
                assert_eq!(decode_text(v.as_bytes(), plus), p);
                assert_eq!(html_entities(p), p);
            }
        }
        for v in ["a%20b", "a&amp;b", "a\0b", "é"] {
            assert_eq!(plain(v.as_bytes(), false), None, "{v}");
        }
    }

    #[test]
    fn nul_bytes_are_removed() {
        assert_eq!(text(b"../etc/passwd\0.png"), "../etc/passwd.png");
    }
}
