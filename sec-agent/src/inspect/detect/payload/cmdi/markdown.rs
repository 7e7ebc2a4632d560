//! Backticks as Markdown writes them (CommonMark 0.31, "Code spans" and "Fenced code
//! blocks"): a fence of three or more backticks around a block of code, a run of two around
//! a literal (also reStructuredText's inline literal), one around inline code in prose. A
//! shell reads the same bytes as command substitution; a person writing about a command
//! quotes it this way.

/// Length of the run of backticks at `i`.
pub(super) fn backtick_run(b: &[u8], i: usize) -> usize {
    b[i..].iter().take_while(|&&c| c == b'`').count()
}

/// End (exclusive) of the code opened by the run of `run` (two or more) backticks at `i`:
/// after the next run at least as long for a fence (three or more, closed by a run at
/// least as long; unclosed, it runs to the end of the value), after the next run of exactly
/// two for a literal (unclosed, just the run).
pub(super) fn skip_code(b: &[u8], i: usize, run: usize) -> usize {
    let mut j = i + run;
    while let Some(p) = b[j..].iter().position(|&c| c == b'`') {
        let at = j + p;
        let len = backtick_run(b, at);
        if len == run || run >= 3 && len > run {
            return at + len;
        }
        j = at + len;
    }
    if run >= 3 { b.len() } else { i + run }
}

/// The backtick that closes the one at `i`, if any.
pub(super) fn closing_backtick(b: &[u8], i: usize) -> Option<usize> {
    b[i + 1..].iter().position(|&c| c == b'`').map(|p| i + 1 + p)
}

/// Whether prose follows the code span closed at `close`: white space, then a letter
/// ("`npm install` fails for me"). A substitution that starts a value ends it, or is
/// followed by more shell (`` `id` ``, `` `id`; ``).
pub(super) fn prose_follows(b: &[u8], close: Option<usize>) -> bool {
    let Some(close) = close else {
        return false;
    };
    let after = &b[close + 1..];
    let blanks = after
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count();
    blanks > 0 && after.get(blanks).is_some_and(u8::is_ascii_alphabetic)
}

/// Whether the first line of `b` is a row of a Markdown (GFM) table: `| a | b |`, every
/// `|` with a space on its inner sides, no other shell operator or substitution. A
/// pipeline is not padded that way (`|id|`, `| [ 1 -ne $(echo x) ] || sleep 1 |`).
pub(super) fn table_row(b: &[u8]) -> bool {
    let line = b.split(|&c| c == b'\n').next().unwrap_or(b).trim_ascii();
    let n = line.len();
    n > 4
        && line[0] == b'|'
        && line[n - 1] == b'|'
        && line.iter().enumerate().all(|(i, &c)| match c {
            b'|' => (i == 0 || line[i - 1] == b' ') && (i == n - 1 || line[i + 1] == b' '),
            b';' | b'&' | b'`' | b'$' => false,
            _ => true,
        })
        && line.iter().filter(|&&c| c == b'|').count() >= 3
}
