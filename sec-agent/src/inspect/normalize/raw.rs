//! The value of a field as it arrived, before decoding, for events: an operator reading
//! `/etc/passwd` in a traversal event also needs the `..%2f..%2f` that carried it. Only
//! looked up for findings (rare), so it decodes the candidates again instead of keeping a
//! raw copy of every field on the hot path.

use super::{
    Location, decode::decode_slow, decode::html_entities, decode::text, split_cookies as cookies,
    split_pairs as pairs, split_target,
};
use crate::inspect::parse::{Head, Message};

/// The raw bytes of the field at `location` named `name` whose decoded value contains
/// `fragment` (else the first one so named), from `request`. `None` for JSON fields (their
/// escapes are a syntax of the body, not an encoding of the value) and for fields not
/// found.
pub fn raw_value<'m>(
    request: &'m Message,
    location: Location,
    name: &str,
    fragment: &str,
) -> Option<&'m [u8]> {
    let Head::Request(line) = &request.head else {
        return None;
    };
    let (path, query) = split_target(line.target());
    let contains =
        |raw: &[u8], plus: bool| html_entities(&decode_slow(raw, plus)).contains(fragment);
    // Usually one field has the name: it is the one, and needs no decoding to tell. Only
    // when several share it is each decoded and searched for the fragment.
    let pick = |candidates: &mut dyn Iterator<Item = (&'m [u8], &'m [u8])>,
                plus: bool|
     -> Option<&'m [u8]> {
        let mut named = candidates
            .filter(|(k, _)| name.is_empty() || decode_slow(k, plus) == name)
            .map(|(_, v)| v);
        let first = named.next()?;
        let Some(second) = named.next() else {
            return Some(first);
        };
        [first, second]
            .into_iter()
            .chain(named)
            .find(|v| contains(v, plus))
            .or(Some(first))
    };
    match location {
        Location::Path => Some(path.as_bytes()),
        Location::QsNames => keys(query?.as_bytes())
            .find(|k| contains(k, true))
            .or_else(|| keys(query?.as_bytes()).next()),
        Location::QsValues => pick(&mut pairs(query?.as_bytes()), true),
        Location::PostNames => keys(&request.body).find(|k| contains(k, true)),
        Location::PostValues => {
            let form = pick(&mut pairs(&request.body), true);
            form.filter(|_| !name.is_empty()).or(Some(&request.body))
        }
        Location::Cookies => pick(
            &mut request
                .headers()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .flat_map(|(_, v)| cookies(v)),
            false,
        ),
        Location::CookieNames => request
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| cookies(v))
            .map(|(k, _)| k)
            .find(|k| contains(k, false)),
        Location::UserAgent => request.header("user-agent"),
        Location::HeadersValues => request
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .find(|v| text(v).contains(fragment))
            .or_else(|| request.header(name)),
        Location::JsonKeys | Location::JsonValues => None,
    }
}

fn keys(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    pairs(raw).map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::parse::{Limits, parse_request};

    fn raw(req: &str, location: Location, name: &str, fragment: &str) -> Option<String> {
        let msg = parse_request(req.as_bytes(), &Limits::default()).unwrap();
        raw_value(&msg, location, name, fragment).map(|v| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn values_come_back_as_sent() {
        let get = "GET /a/..%2f..%2fetc/passwd?x=1&file=..%2F..%2Fetc%2Fpasswd&file=ok HTTP/1.1\r\nHost: h\r\nCookie: a=1; s=%27%20or%201%3D1\r\nX-Thing: %3Cscript%3E\r\n\r\n";
        assert_eq!(
            raw(get, Location::QsValues, "file", "/etc/passwd").as_deref(),
            Some("..%2F..%2Fetc%2Fpasswd")
        );
        assert_eq!(
            raw(get, Location::Path, "", "/etc/passwd").as_deref(),
            Some("/a/..%2f..%2fetc/passwd")
        );
        assert_eq!(
            raw(get, Location::Cookies, "s", "' or 1=1").as_deref(),
            Some("%27%20or%201%3D1")
        );
        assert_eq!(
            raw(get, Location::HeadersValues, "x-thing", "<script>").as_deref(),
            Some("%3Cscript%3E")
        );
        let post = "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\nq=%3Csvg%3E&n=1";
        assert_eq!(
            raw(post, Location::PostValues, "q", "<svg>").as_deref(),
            Some("%3Csvg%3E")
        );
    }
}
