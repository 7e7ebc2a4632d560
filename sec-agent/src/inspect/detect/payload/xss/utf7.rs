//! UTF-7 (RFC 2152), which a page served without a charset was once read in: `+ADw-` is
//! `<`, so `+ADw-script+AD4-` is a script tag to IE and to any filter that decodes it, and
//! plain text to the checks on the value as it is.

/// `value` with its UTF-7 shifted runs decoded into `out`; `false` when it holds none
/// that decodes to ASCII markup or quoting. A run starts at a `+` (or at the space a
/// query string made of it) followed by the modified base64 of UTF-16 code units, and
/// ends at a `-` or at the first other byte.
pub(super) fn decode(value: &str, out: &mut String) -> bool {
    // `+AD` and `+AC` start the runs of U+0020 to U+003F, where every character markup
    // needs is: one search settles most values.
    let b = value.as_bytes();
    let marks = |i: usize| {
        matches!(b[i], b'+' | b' ') && b.get(i + 1) == Some(&b'A') && matches!(b.get(i + 2), Some(b'C' | b'D'))
    };
    if !(0..b.len()).any(marks) {
        return false;
    }
    out.clear();
    let mut any = false;
    let mut i = 0;
    while i < b.len() {
        if marks(i)
            && let Some((len, decoded)) = run(&b[i + 1..])
        {
            out.push_str(&decoded);
            any |= decoded.bytes().any(|c| b"<>\"'".contains(&c));
            i += 1 + len;
            continue;
        }
        let ch = value[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        i += ch.len_utf8();
    }
    any
}

/// The length of the run at the start of `b` (with its closing `-`) and its text, when
/// it decodes to ASCII.
fn run(b: &[u8]) -> Option<(usize, String)> {
    let sextet = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let n = b.iter().take_while(|&&c| sextet(c).is_some()).count();
    let (mut bits, mut nbits, mut text) = (0u32, 0u32, String::new());
    for &c in &b[..n] {
        bits = (bits << 6 | u32::from(sextet(c)?)) & 0x3f_ffff;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            let unit = (bits >> nbits) & 0xffff;
            text.push(char::from_u32(unit).filter(char::is_ascii)?);
        }
    }
    // The bits left over must be zero (RFC 2152): `+ACK` is no `"`, but a typo.
    if text.is_empty() || bits & ((1 << nbits) - 1) != 0 {
        return None;
    }
    Some((n + usize::from(b.get(n) == Some(&b'-')), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_markup_runs_only() {
        let mut out = String::new();
        assert!(decode("+ADw-script+AD4-alert(1)+ADw-/script+AD4-", &mut out));
        assert_eq!(out, "<script>alert(1)</script>");
        assert!(decode(" ADw-SCRIPT AD4-x", &mut out));
        assert_eq!(out, "<SCRIPT>x");
        for benign in ["C++ADT", "an AC adapter", "AC-DC +ADD", "1+ACK-2", "plain"] {
            assert!(!decode(benign, &mut out), "{benign}");
        }
    }
}
