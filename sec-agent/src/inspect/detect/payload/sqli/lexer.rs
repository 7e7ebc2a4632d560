//! The SQL tokenizer: splits a value into the tokens the injection shapes are matched
//! against, as if it were pasted into an unquoted, a single-quoted or a double-quoted
//! context ([`Context`]).
//!
//! In a quoted context the value up to its first closing quote is one token, the end of
//! the surrounding string (`Kind::Str { ctx_close: true, .. }`); a value that never closes
//! the quote stays inside the string and yields no tokens. Comments that close work as white space, MySQL
//! executable comments (`/*!50000 ...*/`) as code. Each word and operator is looked up in
//! the [vocabulary](super::vocabulary) once, here. One byte table ([`BYTE_CLASS`]) drives
//! the commonest cases, white space and words, and also serves the pre-tokeniser filter
//! (`super::prefilter`), whose reasoning depends on how this tokenizer splits runs.

use super::vocabulary::{NOT_IN_VOCABULARY, Words, vocabulary_index, word_index, word_index_in};

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A string literal; `ctx_close` when it is the input's own quote closing the
    /// surrounding string.
    Str { closed: bool, ctx_close: bool },
    /// A number (a digit, then alphanumerics and dots).
    Num,
    /// A word: a keyword, a name, or a backtick-quoted name.
    Word,
    /// `@var` or `@@var`.
    Var,
    /// An operator: one of the two- and three-byte operators (`<=`, `||`, `<=>`, ...), or
    /// any other byte no other token starts with.
    Op,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// `.`.
    Dot,
    /// A comment that runs to the end of the value (`#`, `--`, an unclosed `/*`).
    Comment,
}

/// A token: its kind, its bytes in the value, and which word or operator of
/// [`VOCABULARY`] it is (looked up once, so that the shapes compare numbers, not strings).
///
/// [`VOCABULARY`]: super::vocabulary::VOCABULARY
#[derive(Clone, Copy, Debug)]
pub(super) struct Tok {
    /// What the token is.
    pub(super) kind: Kind,
    /// Index in [`VOCABULARY`], or [`NOT_IN_VOCABULARY`].
    ///
    /// [`VOCABULARY`]: super::vocabulary::VOCABULARY
    pub(super) kw: u8,
    /// Byte offset of the token's first byte in the value.
    pub(super) start: usize,
    /// Byte offset just past the token's last byte.
    pub(super) end: usize,
}

impl Tok {
    /// Whether the token is one of `words`: a keyword (any case) of a word token, or the
    /// symbol of an operator token.
    #[inline]
    pub(super) fn is(&self, words: Words) -> bool {
        u32::from(self.kw) < u128::BITS && words.0 >> self.kw & 1 == 1
    }
}

/// Where the value is taken to be pasted into a query.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    /// Unquoted: `... WHERE id = <value>`.
    Bare,
    /// Inside a single-quoted string: `... WHERE name = '<value>'`.
    Single,
    /// Inside a double-quoted string: `... WHERE name = "<value>"`.
    Double,
}

/// Tokenises `s` as pasted into `ctx`, replacing the contents of `toks`.
#[inline]
pub(super) fn tokenize(s: &str, ctx: Context, toks: &mut Vec<Tok>) {
    let b = s.as_bytes();
    toks.clear();
    let mut i = 0;
    if ctx != Context::Bare {
        let q = if ctx == Context::Single { b'\'' } else { b'"' };
        match string_end(b, 0, q) {
            Some(end) => {
                toks.push(Tok {
                    kind: Kind::Str {
                        closed: true,
                        ctx_close: true,
                    },
                    kw: NOT_IN_VOCABULARY,
                    start: 0,
                    end,
                });
                i = end;
            }
            None => return, // All of it stays inside the string: harmless there.
        }
    }
    let push = |toks: &mut Vec<Tok>, kind, start: usize, end: usize| {
        let kw = match kind {
            Kind::Word => word_index(&b[start..end]),
            Kind::Op => vocabulary_index(&b[start..end]),
            _ => NOT_IN_VOCABULARY,
        };
        toks.push(Tok {
            kind,
            kw,
            start,
            end,
        })
    };
    // Found at the first `--xyz`: most values have none, and pay nothing for it.
    let mut lines: Option<DashLines> = None;
    while i < b.len() {
        let c = b[i];
        let start = i;
        // The two commonest cases first, by one table load: white space and words.
        match BYTE_CLASS[usize::from(c)] & (SPACE | WORD) {
            SPACE => {
                i += 1;
                continue;
            }
            WORD => {
                i += 1;
                while i < b.len() && BYTE_CLASS[usize::from(b[i])] & WORD_CONTINUES != 0 {
                    i += 1;
                }
                push(toks, Kind::Word, start, i);
                continue;
            }
            _ => {}
        }
        match c {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if b.get(i + 2) == Some(&b'!') {
                    // MySQL executable comment: its content is code.
                    i += 3;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                } else {
                    let close = s[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
                    // A comment that closes works as white space (UN/**/ION tricks).
                    if close == b.len() {
                        push(toks, Kind::Comment, start, close);
                    }
                    i = close;
                }
            }
            b'*' if b.get(i + 1) == Some(&b'/') => i += 2, // end of a /*! comment
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|&n| {
                    // `--+` is how a URL writes `-- `, and what payload lists copy.
                    n.is_ascii_whitespace() || n.is_ascii_control() || n == b'-' || n == b'+'
                }) =>
            {
                i = line_comment(b, start, toks);
            }
            // `--xyz` then a line break: MSSQL, PostgreSQL and Oracle read `--` as a comment
            // whatever follows it (sqlmap's space2dash writes `--<random>\n` for a space);
            // with nothing after the line it stays an operator, MySQL's reading.
            b'-' if b.get(i + 1) == Some(&b'-')
                && lines.get_or_insert_with(|| DashLines::new(b)).comment_end(b, i).is_some() =>
            {
                i = lines.as_mut().and_then(|l| l.comment_end(b, i)).unwrap_or(b.len());
            }
            b'#' => i = line_comment(b, start, toks),
            b'\'' | b'"' | b'`' => {
                let end = string_end(b, i + 1, c);
                let closed = end.is_some();
                i = end.unwrap_or(b.len());
                let kind = if c == b'`' {
                    Kind::Word
                } else {
                    Kind::Str {
                        closed,
                        ctx_close: false,
                    }
                };
                push(toks, kind, start, i);
            }
            b'0'..=b'9' => {
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                i = glued_keyword(b, start, i);
                push(toks, Kind::Num, start, i);
            }
            b'@' => {
                i += 1;
                if b.get(i) == Some(&b'@') {
                    i += 1;
                }
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                push(toks, Kind::Var, start, i);
            }
            b'(' => {
                i += 1;
                push(toks, Kind::LParen, start, i);
            }
            b')' => {
                i += 1;
                push(toks, Kind::RParen, start, i);
            }
            b',' => {
                i += 1;
                push(toks, Kind::Comma, start, i);
            }
            b';' => {
                i += 1;
                push(toks, Kind::Semi, start, i);
            }
            b'.' => {
                i += 1;
                push(toks, Kind::Dot, start, i);
            }
            _ => {
                // Operators: the two-character ones first.
                // `c` is ASCII here, so comparing bytes is comparing characters.
                let next = b.get(i + 1).copied().unwrap_or(0);
                let len = match (c, next) {
                    (b'<', b'=') if b.get(i + 2) == Some(&b'>') => 3,
                    (b'<', b'=' | b'>')
                    | (b'>' | b'!' | b':', b'=')
                    | (b'|', b'|')
                    | (b'&', b'&') => 2,
                    _ => 1,
                };
                i += len;
                push(toks, Kind::Op, start, i.min(b.len()));
            }
        }
    }
}

/// [`BYTE_CLASS`]: a byte [`tokenize`] skips as white space.
pub(super) const SPACE: u8 = 1;
/// [`BYTE_CLASS`]: a byte that starts a word.
const WORD: u8 = 2;
/// [`BYTE_CLASS`] bit: a byte that continues a word.
const WORD_CONTINUES: u8 = 4;
/// [`BYTE_CLASS`] bit: the prefilter's `is_word_byte`.
pub(super) const RUN: u8 = 8;
/// [`BYTE_CLASS`] bit: a byte [`may_match`] looks at outside runs (`#-|&/=`).
///
/// [`may_match`]: super::prefilter::may_match
pub(super) const ANCHOR_PUNCT: u8 = 16;

/// How [`tokenize`] treats each byte where a token may start (`SPACE`, `WORD` or neither,
/// in the low bits), and whether it continues a word (`WORD_CONTINUES`).
pub(super) static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            t[c] = WORD_CONTINUES;
        }
        if (b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80) && b != 0xa0 {
            t[c] |= RUN;
        }
        if matches!(b, b'#' | b'-' | b'|' | b'&' | b'/' | b'=') {
            t[c] |= ANCHOR_PUNCT;
        }
        // White space first: `0xa0` is white space where a token starts, though it
        // continues a word. Every control byte is white space to MSSQL (sqlmap's
        // space2mssqlblank writes `%01`..`%0f` between words), and none is SQL otherwise.
        if (b >= 1 && b <= b' ') || b == 0xa0 {
            t[c] |= SPACE;
        } else if b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80 {
            t[c] |= WORD;
        }
        c += 1;
    }
    t
};

/// A `#` or `--` comment at `start`: to the end of its line, which MySQL reads as white
/// space when another line follows (sqlmap's `#xyz\n` between words), else to the end of
/// the value, pushed as a [`Kind::Comment`]. Returns where tokenising goes on.
#[inline]
fn line_comment(b: &[u8], start: usize, toks: &mut Vec<Tok>) -> usize {
    match b[start..].iter().position(|&c| c == b'\n') {
        Some(p) if !b[start + p..].iter().all(u8::is_ascii_whitespace) => start + p + 1,
        _ => {
            toks.push(Tok {
                kind: Kind::Comment,
                kw: NOT_IN_VOCABULARY,
                start,
                end: b.len(),
            });
            b.len()
        }
    }
}

/// The line breaks a `--xyz` comment may end at, found once per value: a value of many
/// `--x` and no line break (or one far away) would otherwise be scanned to its end at each.
struct DashLines {
    /// The first `\n` at or after the last position asked about, or the start (`len` when
    /// none).
    next: usize,
    /// Just past the value's last byte that is not white space.
    content_end: usize,
}

impl DashLines {
    fn new(b: &[u8]) -> DashLines {
        let content_end = b.len() - b.iter().rev().take_while(|c| c.is_ascii_whitespace()).count();
        let next = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
        DashLines { next, content_end }
    }

    /// Where tokenising goes on after a `--` comment at `start` (positions only grow) that
    /// a line break ends, with a token after it: `None` when no line break follows, or
    /// only white space does.
    #[inline]
    fn comment_end(&mut self, b: &[u8], start: usize) -> Option<usize> {
        if self.next < start {
            self.next = b[start..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| start + p);
        }
        (self.next + 1 < self.content_end).then_some(self.next + 1)
    }
}

/// Keywords MySQL reads after a number with no space between (`86UNION SELECT`, `1AND 2>1`,
/// `-5661union select`): the number ends where they start.
const GLUED: Words = Words::of(&[
    "union", "and", "or", "xor", "div", "order", "group", "like", "from",
]);

/// Where the number `b[start..end]` ends: before a keyword of [`GLUED`] that follows its
/// digits and dots, maybe with an exponent (`1e0UNION`, `1.e0FROM`: sqlmap's scientific
/// tamper) or a float suffix (`1FUNION`, `1DUNION`); not in `0x...` hex, whose letters
/// are digits.
#[inline]
fn glued_keyword(b: &[u8], start: usize, end: usize) -> usize {
    let mut p = start;
    while p < end && (b[p].is_ascii_digit() || b[p] == b'.') {
        p += 1;
    }
    if p == end || b.get(start + 1).is_some_and(|c| c | 0x20 == b'x') {
        return end;
    }
    if word_index_in(&b[p..end], GLUED) != NOT_IN_VOCABULARY {
        return p;
    }
    let q = exponent_end(b, p, end);
    if q > p && q < end && word_index_in(&b[q..end], GLUED) != NOT_IN_VOCABULARY {
        q
    } else {
        end
    }
}

/// Where an exponent (`e`, digits) or a float suffix letter (`f`, `d`) that starts at `p`
/// ends, within `..end`; `p` when there is none.
#[inline]
pub(super) fn exponent_end(b: &[u8], p: usize, end: usize) -> usize {
    let mut q = p;
    if q < end && b[q] | 0x20 == b'e' {
        q += 1;
        while q < end && b[q].is_ascii_digit() {
            q += 1;
        }
    } else if q < end && matches!(b[q] | 0x20, b'f' | b'd') {
        q += 1;
    }
    q
}

/// Index just past the closing quote `q` of a string starting at `from`; `''`, `""` and
/// backslash escapes stay inside.
#[inline]
fn string_end(b: &[u8], from: usize, q: u8) -> Option<usize> {
    let mut i = from;
    while i < b.len() {
        if b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return Some(i + 1);
        }
        i += 1;
    }
    None
}
