//! Style sheets that run code: IE's `expression()` and behaviours (`.htc`), Mozilla's
//! XBL bindings, imports and script URLs, also behind CSS escapes and comments.

/// Whether `css` (a style attribute's value, a `<style>` element's content) runs code.
pub(super) fn dangerous_css(css: &str) -> bool {
    const SHAPES: [&str; 7] = [
        "expression(",
        "javascript:",
        "behavior:",
        "behaviour:",
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
        let plain = unescape_css(css);
        SHAPES.iter().any(|p| plain.contains(p))
    }
}

/// A style declaration that runs code, outside any tag (the value lands in a style
/// sheet or a `style` attribute): `width: expression(alert(1))`, `behavior: url(x.htc)`,
/// `-moz-binding: url(x.xml#xss)`, also behind CSS escapes and comments
/// (`xss:ex/**/pression(`). The property's name and colon must come first: "a regular
/// expression (regex)" and `parse_expression(x)` are not CSS.
pub(super) fn bare_css(lower: &str) -> Option<(usize, usize)> {
    let cheap = ["pression", "behavio", "binding"]
        .iter()
        .any(|w| lower.contains(w));
    if !cheap {
        return None;
    }
    let found = declaration(lower);
    if found.is_some() || !(lower.contains('\\') || lower.contains("/*")) {
        return found;
    }
    declaration(&unescape_css(lower)).map(|_| (0, lower.len()))
}

/// The range of `property: expression(` (or `behavior`/`binding` and `url(`) in `css`.
fn declaration(css: &str) -> Option<(usize, usize)> {
    let b = css.as_bytes();
    for colon in (0..b.len()).filter(|&i| b[i] == b':') {
        let prop = b[..colon]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'_')
            .count();
        let value = css[colon + 1..].trim_start();
        let name = &css[colon - prop..colon];
        let runs = if name.ends_with("behavior") || name.ends_with("behaviour") || name.ends_with("binding") {
            value.starts_with("url(")
        } else {
            prop > 0 && value.starts_with("expression(")
        };
        if runs {
            return Some((colon - prop, (colon + 20).min(css.len())));
        }
    }
    None
}

/// `css` with CSS escapes decoded (`\\75` and `\\000075 ` are `u`, `\\m` is `m`, `\\0` is
/// nothing, as IE read it) and comments removed; a comment opener inside a quoted string
/// (`noxss("*//*")`) is string content, as the CSS tokenizer reads it.
pub(super) fn unescape_css(css: &str) -> String {
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len());
    let mut i = 0;
    let mut quote = None;
    while i < b.len() {
        match (quote, b[i]) {
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        if quote.is_none() && b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i = css[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            continue;
        }
        if b[i] == b'\\' && i + 1 < b.len() {
            let n = b[i + 1..].iter().take(6).take_while(|c| c.is_ascii_hexdigit()).count();
            if n > 0 {
                let v = u32::from_str_radix(&css[i + 1..i + 1 + n], 16).unwrap_or(0xfffd);
                if v != 0 {
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}').to_ascii_lowercase());
                }
                i += 1 + n;
                if b.get(i).is_some_and(u8::is_ascii_whitespace) {
                    i += 1;
                }
                continue;
            }
            // Any other escaped character is itself, and ends no string.
            i += 1;
        }
        let ch = css[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_comments_are_read_as_css_reads_them() {
        assert!(unescape_css("-\\mo\\z-b\\i\\nding").contains("-moz-binding"));
        assert!(unescape_css("\\65 xpression(").contains("expression("));
        assert!(unescape_css("x:expr/*xss*/ession(").contains("expression("));
        assert!(unescape_css("-m\\0o\\0z-binding").contains("-moz-binding"));
        assert!(unescape_css("no\\xss:noxss(\"*//*\");xss:ex/*XSS*//*/*/pression(").contains("xss:expression("));
    }

    #[test]
    fn declarations_need_their_property() {
        for a in ["width: expression(alert(1))", "*{x:expression(write(1))}", "behavior: url(x.htc)", "-moz-binding:url(//x/a.xml#xss)"] {
            assert!(bare_css(a).is_some(), "{a}");
        }
        for b in ["a regular expression (regex)", "parse_expression(x)", "the behavior: it cascades", "\"a\": expression_of(x)"] {
            assert!(bare_css(b).is_none(), "{b}");
        }
    }
}
