//! SQL injection: the value is tokenised as SQL three times, as if it were pasted into an
//! unquoted, a single-quoted and a double-quoted context (the idea behind libinjection's
//! contexts), and the token stream is matched against the shapes an injection must take to
//! change a query: a tautology after a closed string or a number, `UNION SELECT` with a
//! select list, a stacked statement after `;`, a string closed and the rest commented out,
//! time and file functions in an expression, a sub-select, `ORDER BY` column probing.
//!
//! Keywords alone never match: "select", "union", "or" in prose, and names like O'Brien,
//! make no injection shape.

use super::Match;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A string literal; `ctx_close` when it is the input's own quote closing the
    /// surrounding string.
    Str {
        closed: bool,
        ctx_close: bool,
    },
    Num,
    Word,
    /// `@var` or `@@var`.
    Var,
    Op,
    LParen,
    RParen,
    Comma,
    Semi,
    Dot,
    Comment,
}

/// A token: its kind, its bytes in the value, and which word or operator of
/// [`VOCABULARY`] it is (looked up once, so that the shapes compare numbers, not strings).
#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    /// Index in [`VOCABULARY`], or [`NOT_IN_VOCABULARY`].
    kw: u8,
    start: usize,
    end: usize,
}

impl Tok {
    /// Whether the token is one of `words`: a keyword (any case) of a word token, or the
    /// symbol of an operator token.
    fn is(&self, words: Words) -> bool {
        u32::from(self.kw) < u128::BITS && words.0 >> self.kw & 1 == 1
    }
}

/// Every keyword and operator the shapes look for.
/// Words only ever match word tokens and symbols operator tokens, so one table serves
/// both.
const VOCABULARY: &[&str] = &[
    "!=",
    "&&",
    "*",
    "/",
    "<",
    "<=",
    "<=>",
    "<>",
    "=",
    ">",
    ">=",
    "all",
    "alter",
    "and",
    "benchmark",
    "between",
    "by",
    "call",
    "cast",
    "concat",
    "convert",
    "create",
    "database",
    "dbms_pipe",
    "declare",
    "delay",
    "delete",
    "distinct",
    "div",
    "drop",
    "dumpfile",
    "exec",
    "execute",
    "exp",
    "extractvalue",
    "false",
    "from",
    "function",
    "geometrycollection",
    "grant",
    "group",
    "group_concat",
    "handler",
    "in",
    "index",
    "insert",
    "into",
    "is",
    "like",
    "load",
    "load_file",
    "login",
    "multipoint",
    "name_const",
    "null",
    "on",
    "or",
    "order",
    "outfile",
    "pg_sleep",
    "polygon",
    "procedure",
    "randomblob",
    "regexp",
    "replace",
    "revoke",
    "rlike",
    "schema",
    "select",
    "set",
    "shutdown",
    "sleep",
    "sounds",
    "sys_eval",
    "sys_exec",
    "table",
    "time",
    "to",
    "trigger",
    "true",
    "truncate",
    "union",
    "update",
    "updatexml",
    "user",
    "utl_http",
    "utl_inaddr",
    "version",
    "view",
    "waitfor",
    "xor",
    "xp_cmdshell",
    "||",
];

const NOT_IN_VOCABULARY: u8 = u8::MAX;

/// The longest entry of [`VOCABULARY`].
const LONGEST: usize = 18;

/// A set of [`VOCABULARY`] entries.
#[derive(Clone, Copy)]
struct Words(u128);

impl Words {
    /// The set of `list`; a word missing from [`VOCABULARY`] fails the build (in const).
    const fn of(list: &[&str]) -> Words {
        let mut set = 0u128;
        let mut i = 0;
        while i < list.len() {
            set |= 1u128 << index(list[i]);
            i += 1;
        }
        Words(set)
    }
}

const fn index(word: &str) -> usize {
    let mut i = 0;
    while i < VOCABULARY.len() {
        if VOCABULARY[i].len() == word.len() && VOCABULARY[i].eq_ignore_ascii_case(word) {
            return i;
        }
        i += 1;
    }
    panic!("not in VOCABULARY");
}

/// `Words` of literals, computed at compile time.
macro_rules! kw {
    ($($w:literal),+ $(,)?) => {
        const { Words::of(&[$($w),+]) }
    };
}

/// Entries of [`VOCABULARY`] by length and first byte (`a`..`z`, or anything else as 26):
/// most words of a value are no keyword and are turned away by one table load.
static BY_SHAPE: [[Words; 27]; LONGEST + 1] = {
    let mut table = [[Words(0); 27]; LONGEST + 1];
    let mut i = 0;
    while i < VOCABULARY.len() {
        let w = VOCABULARY[i].as_bytes();
        table[w.len()][first_class(w[0])].0 |= 1u128 << i;
        i += 1;
    }
    table
};

/// [`first_class`] of every byte, for one load at run time.
static FIRST_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = first_class(c as u8) as u8;
        c += 1;
    }
    t
};

const fn first_class(b: u8) -> usize {
    match b.to_ascii_lowercase() {
        c @ b'a'..=b'z' => (c - b'a') as usize,
        _ => 26,
    }
}

/// [`VOCABULARY`] with every byte `| 0x20`, zero-padded: the form [`word_index`] compares
/// a word's bytes in.
static FOLDED: [[u8; LONGEST]; VOCABULARY.len()] = {
    let mut table = [[0u8; LONGEST]; VOCABULARY.len()];
    let mut i = 0;
    while i < VOCABULARY.len() {
        let w = VOCABULARY[i].as_bytes();
        let mut k = 0;
        while k < w.len() {
            table[i][k] = w[k] | 0x20;
            k += 1;
        }
        i += 1;
    }
    table
};

/// The entries of [`VOCABULARY`] that are words (start with a letter), not operators.
const WORD_ENTRIES: Words = {
    let mut set = 0u128;
    let mut i = 0;
    while i < VOCABULARY.len() {
        if VOCABULARY[i].as_bytes()[0].is_ascii_alphabetic() {
            set |= 1u128 << i;
        }
        i += 1;
    }
    Words(set)
};

/// [`vocabulary_index`] of a [`Kind::Word`] token, comparing `byte | 0x20` with
/// [`FOLDED`]: the same answer, as word entries hold only lowercase letters and `_`, and
/// `| 0x20` maps a byte to a lowercase letter exactly when it is that letter in either
/// case, and to `_ | 0x20` (0x7f) only from `_` or DEL; DEL is no word byte, and only a
/// backtick word, whose first byte (`` ` ``) matches no entry, can hold it.
fn word_index(text: &[u8]) -> u8 {
    word_index_in(text, WORD_ENTRIES)
}

/// [`word_index`] restricted to the word entries of `among`.
fn word_index_in(text: &[u8], among: Words) -> u8 {
    let Some(&first) = text.first() else {
        return NOT_IN_VOCABULARY;
    };
    if text.len() > LONGEST {
        return NOT_IN_VOCABULARY;
    }
    let mut candidates = BY_SHAPE[text.len()][usize::from(FIRST_CLASS[usize::from(first)])].0
        & WORD_ENTRIES.0
        & among.0;
    while candidates != 0 {
        let i = candidates.trailing_zeros() as usize;
        if FOLDED[i].iter().zip(text).all(|(&w, &t)| w == t | 0x20) {
            return i as u8;
        }
        candidates &= candidates - 1;
    }
    NOT_IN_VOCABULARY
}

/// The [`VOCABULARY`] index of a token's text, ignoring ASCII case.
fn vocabulary_index(text: &[u8]) -> u8 {
    let Some(&first) = text.first() else {
        return NOT_IN_VOCABULARY;
    };
    if text.len() > LONGEST {
        return NOT_IN_VOCABULARY;
    }
    let mut candidates = BY_SHAPE[text.len()][first_class(first)].0;
    while candidates != 0 {
        let i = candidates.trailing_zeros();
        if VOCABULARY[i as usize].as_bytes().eq_ignore_ascii_case(text) {
            return i as u8;
        }
        candidates &= candidates - 1;
    }
    NOT_IN_VOCABULARY
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Bare,
    Single,
    Double,
}

/// Token buffer reused from one value to the next.
#[derive(Default)]
pub struct Scratch(Vec<Tok>);

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    check_with(value, &mut Scratch::default())
}

/// [`check`], tokenising into `scratch`.
pub fn check_with(value: &str, scratch: &mut Scratch) -> Option<Match> {
    if value.len() < 3 || !may_match(value.as_bytes()) {
        return None;
    }
    for ctx in [Context::Bare, Context::Single, Context::Double] {
        if ctx == Context::Single && !value.contains('\'') {
            continue;
        }
        if ctx == Context::Double && !value.contains('"') {
            continue;
        }
        let toks = &mut scratch.0;
        tokenize(value, ctx, toks);
        if let Some((rule, from, to)) = shapes(toks) {
            return Some(Match::new(rule, value, toks[from].start, toks[to].end));
        }
    }
    None
}

/// Words one of which every shape in [`shapes`] needs as a word token (its anchor):
/// rule 1 a boolean (`or`, `and`, `xor`, `div`; `||` and `&&` are operators, see
/// [`may_match`]), 2 `union`, 3 a statement after `;` ([`STATEMENT`]), 5 a function of
/// [`DANGEROUS`], `waitfor` or `into`, 6 `select` after `(`, 7 `order` or `group`. Only rule
/// 4 (comment truncation) needs no word: it needs a [`Kind::Comment`] token.
const ANCHORS: Words = Words(
    kw!(
        "or", "and", "xor", "div", "union", "select", "order", "group", "waitfor", "into"
    )
    .0 | DANGEROUS.0
        | STATEMENT.0,
);

/// Whether a byte can continue a [`Kind::Word`] in [`tokenize`] (`0xa0` aside, which
/// [`tokenize`] skips as white space when a token would start there).
fn is_word_byte(c: u8) -> bool {
    BYTE_CLASS[usize::from(c)] & RUN != 0
}

/// A necessary condition for [`shapes`] to match in any context, checked without
/// tokenising: most values that reach this checker (browser User-Agents with `(` and `;`,
/// names like O'Brien) hold no anchor of any shape.
///
/// Every shape needs an anchor token (see [`ANCHORS`]): a word of [`ANCHORS`], an `||` or
/// `&&` operator, or a comment (`#`, `--`, or an unclosed `/*`). The operators and
/// comments need their bytes in the value. A word token whose text is in [`ANCHORS`]
/// (ASCII letters and `_` only, so never a backtick word) is, in every context, a whole
/// maximal run of [`is_word_byte`] bytes, or such a run less its leading digits:
/// - it ends where the run ends: [`tokenize`] extends a word over every such byte;
/// - it starts where the run starts, or after the digits of `/*!50000`: the token before
///   it cannot end inside a run, since numbers and variables extend over every
///   alphanumeric byte (so no letter follows them directly) and words over every word
///   byte; strings, comments and operators end on ASCII punctuation, white space on a
///   white space byte (`0xa0` included, which ends a run here); only the digits of an
///   executable comment are skipped in front of a word.
///
/// Runs of other shapes (`5a`, `_x`, `$x`, non-ASCII) are no anchor either way.
///
/// An anchor word must also stand where its rule looks for it ([`value_ends_before`],
/// [`statement_starts_at`], [`select_follows`]): between two tokens [`tokenize`] skips only
/// white space and comments, so the bytes next to the word, white space skipped, are
/// those of the neighbouring token or of a comment, whatever the context. After
/// `/*!50000` the word is let through whatever its neighbours.
fn may_match(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let class = BYTE_CLASS[usize::from(c)];
        if class & RUN == 0 {
            if class & ANCHOR_PUNCT == 0 {
                i += 1;
                continue;
            }
            match c {
                b'#' => return true,
                b'-' | b'|' | b'&' if b.get(i + 1) == Some(&c) => return true,
                b'/' if b.get(i + 1) == Some(&b'*') => return true,
                _ => {}
            }
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_word_byte(b[i]) {
            i += 1;
        }
        let mut word = start;
        if c.is_ascii_digit() {
            while word < i && b[word].is_ascii_digit() {
                word += 1;
            }
        }
        let kw = word_index_in(&b[word..i], ANCHORS);
        if kw == NOT_IN_VOCABULARY {
            continue;
        }
        if word != start {
            return true; // After `/*!50000`: whatever came before, let the shapes decide.
        }
        let anchor = Words(1u128 << kw);
        // `waitfor`, `into` and the functions (rule 5) start a shape anywhere; `waitfor` is
        // a statement too, hence first.
        let placed = if anchor.0 & (kw!("waitfor", "into").0 | DANGEROUS.0) != 0 {
            true
        } else if anchor.0 & AFTER_A_VALUE.0 != 0 {
            value_ends_before(b, start)
        } else if anchor.0 & STATEMENT.0 != 0 {
            statement_starts_at(b, start)
        } else {
            // Only `union` is left.
            select_follows(b, i)
        };
        if placed {
            return true;
        }
    }
    false
}

/// Anchors that start a shape only after a token that ends a value ([`ends_value`]) or
/// the input's closing quote: the booleans of rule 1 and `order`/`group` of rule 7.
const AFTER_A_VALUE: Words = kw!("or", "and", "xor", "div", "order", "group");

/// Whether the byte before `start`, white space skipped, can end a token after which a
/// word of [`AFTER_A_VALUE`] starts a shape (with only white space and comments between,
/// which [`tokenize`] skips): a number (its bytes are alphanumeric or `.`, the first a
/// digit), `)`, a string or the input's closing quote (`'` or `"`), or a skipped
/// comment (`*/` ends in `/`, `/*!50000` in `!` or a digit).
fn value_ends_before(b: &[u8], start: usize) -> bool {
    let mut p = start;
    while p > 0 && BYTE_CLASS[usize::from(b[p - 1])] & SPACE != 0 {
        p -= 1;
    }
    let Some(&c) = p.checked_sub(1).map(|q| &b[q]) else {
        return false; // Nothing before it: no token before it in any context.
    };
    match c {
        b')' | b'\'' | b'"' | b'/' | b'!' => true,
        // A number, or digits of `/*!50000`: somewhere in the stretch of alphanumerics and
        // dots that ends here is a digit.
        _ if c.is_ascii_alphanumeric() || c == b'.' => b[..p]
            .iter()
            .rev()
            .take_while(|&&x| x.is_ascii_alphanumeric() || x == b'.')
            .any(u8::is_ascii_digit),
        _ => false,
    }
}

/// Whether a [`STATEMENT`] word at `start` can be the token after `;` (rule 3) or `(`
/// (rule 6, `select`): the byte before it, white space skipped, is that `;` or `(`, or
/// ends a comment [`tokenize`] skips (`/`, `!` or a digit of `/*!50000`).
fn statement_starts_at(b: &[u8], start: usize) -> bool {
    let mut p = start;
    while p > 0 && BYTE_CLASS[usize::from(b[p - 1])] & SPACE != 0 {
        p -= 1;
    }
    p > 0 && matches!(b[p - 1], b';' | b'(' | b'/' | b'!' | b'0'..=b'9')
}

/// Whether `union` ending at `end` can start rule 2: the next token, white space skipped,
/// is `all`, `distinct`, `select` or `(`, or a comment [`tokenize`] may skip starts there
/// (`/` or `*`).
fn select_follows(b: &[u8], end: usize) -> bool {
    let mut p = end;
    while p < b.len() && BYTE_CLASS[usize::from(b[p])] & SPACE != 0 {
        p += 1;
    }
    match b.get(p) {
        Some(b'(' | b'/' | b'*') => true,
        Some(_) => {
            let mut q = p;
            while q < b.len() && is_word_byte(b[q]) {
                q += 1;
            }
            word_index_in(&b[p..q], kw!("all", "distinct", "select")) != NOT_IN_VOCABULARY
        }
        None => false,
    }
}

fn tokenize(s: &str, ctx: Context, toks: &mut Vec<Tok>) {
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
                    n.is_ascii_whitespace() || n.is_ascii_control() || n == b'-'
                }) =>
            {
                push(toks, Kind::Comment, start, b.len());
                i = b.len();
            }
            b'#' => {
                push(toks, Kind::Comment, start, b.len());
                i = b.len();
            }
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
const SPACE: u8 = 1;
/// [`BYTE_CLASS`]: a byte that starts a word.
const WORD: u8 = 2;
/// [`BYTE_CLASS`] bit: a byte that continues a word.
const WORD_CONTINUES: u8 = 4;
/// [`BYTE_CLASS`] bit: [`is_word_byte`].
const RUN: u8 = 8;
/// [`BYTE_CLASS`] bit: a byte [`may_match`] looks at outside runs (`#-|&/`).
const ANCHOR_PUNCT: u8 = 16;

/// How [`tokenize`] treats each byte where a token may start (`SPACE`, `WORD` or neither,
/// in the low bits), and whether it continues a word (`WORD_CONTINUES`).
static BYTE_CLASS: [u8; 256] = {
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
        if matches!(b, b'#' | b'-' | b'|' | b'&' | b'/') {
            t[c] |= ANCHOR_PUNCT;
        }
        // White space first: `0xa0` is white space where a token starts, though it
        // continues a word.
        if b.is_ascii_whitespace() || b == 0x0b || b == 0xa0 {
            t[c] |= SPACE;
        } else if b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80 {
            t[c] |= WORD;
        }
        c += 1;
    }
    t
};

/// Index just past the closing quote `q` of a string starting at `from`; `''`, `""` and
/// backslash escapes stay inside.
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

fn is_boolean(t: &Tok) -> bool {
    t.is(kw!("or", "and", "xor", "div", "||", "&&"))
}

fn is_cmp(t: &Tok) -> bool {
    t.is(kw!(
        "=", "<", ">", "<=", ">=", "!=", "<>", "<=>", "like", "rlike", "regexp", "is", "in",
        "between", "sounds"
    ))
}

fn is_operand(t: &Tok) -> bool {
    matches!(
        t.kind,
        Kind::Num | Kind::Str { .. } | Kind::Word | Kind::Var | Kind::LParen
    )
}

/// A token after which the rest of the input is SQL, not data: the input's own closing
/// quote, a number, a complete string or a closing parenthesis.
fn ends_value(t: &Tok) -> bool {
    matches!(
        t.kind,
        Kind::Num | Kind::RParen | Kind::Str { closed: true, .. }
    )
}

fn is_ctx_close(t: &Tok) -> bool {
    matches!(
        t.kind,
        Kind::Str {
            ctx_close: true,
            ..
        }
    )
}

const DANGEROUS_FUNCTIONS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "load_file",
    "extractvalue",
    "updatexml",
    "utl_inaddr",
    "utl_http",
    "dbms_pipe",
    "sys_eval",
    "sys_exec",
    "xp_cmdshell",
    "randomblob",
    "exp",
    "geometrycollection",
    "polygon",
    "multipoint",
    "name_const",
    "convert",
    "cast",
];

const DANGEROUS: Words = Words::of(DANGEROUS_FUNCTIONS);

/// Functions that alone, called with a number, are a blind-injection probe.
const PROBE_FUNCTIONS: &[&str] = &["sleep", "pg_sleep", "benchmark"];

const PROBE: Words = Words::of(PROBE_FUNCTIONS);

const STATEMENTS: &[&str] = &[
    "drop", "truncate", "alter", "create", "delete", "insert", "update", "exec", "execute",
    "shutdown", "declare", "select", "waitfor", "grant", "revoke", "call", "set", "load",
    "replace", "handler",
];

const STATEMENT: Words = Words::of(STATEMENTS);

/// The words and operators a rule of [`shapes`] starts from.
const SHAPE_STARTS: Words = Words(
    kw!(
        "or", "and", "xor", "div", "||", "&&", "union", "waitfor", "into", "order", "group"
    )
    .0 | DANGEROUS.0,
);

/// Finds an injection shape; returns the rule name and the token range to quote.
fn shapes(t: &[Tok]) -> Option<(&'static str, usize, usize)> {
    let n = t.len();
    let at = |i: usize| t.get(i);
    for i in 0..n {
        let tok = &t[i];
        // Each rule below starts from its own token `tok`: 1 a boolean, 2 `union`, 3 `;`,
        // 4 the input's closing quote, 5 a dangerous function, `waitfor` or `into`, 6 `(`,
        // 7 `order` or `group`. Any other token starts none.
        if !(tok.is(SHAPE_STARTS)
            || matches!(
                tok.kind,
                Kind::Semi
                    | Kind::LParen
                    | Kind::Str {
                        ctx_close: true,
                        ..
                    }
            ))
        {
            continue;
        }
        // 1. Tautology or boolean probe: `' OR 1=1`, `1 AND 2>1`, `' OR 'a'='a`, `' OR 1--`.
        if is_boolean(tok) && i > 0 && (ends_value(&t[i - 1]) || is_ctx_close(&t[i - 1])) {
            // After the input's own quote anything may be compared; after a plain number
            // (an unquoted context) the left side must be a literal, variable or call:
            // `1 AND 2>1`, `1 AND ascii(...)>64`, not the prose "3 and y > 2".
            let left_ok = |a: &Tok| {
                is_ctx_close(&t[i - 1])
                    || matches!(
                        a.kind,
                        Kind::Num | Kind::Str { .. } | Kind::Var | Kind::LParen
                    )
                    || (a.kind == Kind::Word && at(i + 2).is_some_and(|p| p.kind == Kind::LParen))
            };
            if let (Some(a), Some(op), Some(b)) = (at(i + 1), at(i + 2), at(i + 3))
                && is_operand(a)
                && left_ok(a)
                && is_cmp(op)
                && is_operand(b)
            {
                return Some(("sqli:tautology", i - 1, i + 3));
            }
            if is_ctx_close(&t[i - 1])
                && let Some(a) = at(i + 1)
                && (matches!(a.kind, Kind::Num | Kind::Str { .. } | Kind::Var)
                    || a.is(kw!("true", "false", "null")))
                && at(i + 2).is_none_or(|e| matches!(e.kind, Kind::Comment | Kind::Semi))
            {
                return Some(("sqli:tautology", i - 1, i + 1));
            }
            // `' AND SLEEP(5)`, `1 OR (SELECT ...)`.
            if let Some(f) = at(i + 1)
                && (f.is(DANGEROUS) && at(i + 2).is_some_and(|p| p.kind == Kind::LParen)
                    || f.kind == Kind::LParen && at(i + 2).is_some_and(|s| s.is(kw!("select"))))
            {
                return Some(("sqli:boolean_function", i - 1, (i + 2).min(n - 1)));
            }
        }
        // 2. UNION [ALL|DISTINCT] SELECT with a select list.
        if tok.is(kw!("union")) {
            let mut j = i + 1;
            if at(j).is_some_and(|w| w.is(kw!("all", "distinct"))) {
                j += 1;
            }
            if at(j).is_some_and(|p| p.kind == Kind::LParen) {
                j += 1;
            }
            if at(j).is_some_and(|s| s.is(kw!("select"))) {
                let list = t[j + 1..n.min(j + 5)].iter().any(|x| {
                    matches!(
                        x.kind,
                        Kind::Num
                            | Kind::Var
                            | Kind::Comma
                            | Kind::Str { .. }
                            | Kind::Comment
                            | Kind::LParen
                    ) || x.is(kw!(
                        "null",
                        "from",
                        "all",
                        "distinct",
                        "concat",
                        "group_concat",
                        "version",
                        "user",
                        "database",
                    )) || x.is(kw!("*"))
                });
                if list || j + 1 == n {
                    return Some(("sqli:union", i, (j + 1).min(n - 1)));
                }
            }
        }
        // 3. Stacked statement: `; DROP TABLE`, `'; EXEC xp_cmdshell`.
        if tok.kind == Kind::Semi
            && i > 0
            && let Some(stmt) = at(i + 1)
            && stmt.is(STATEMENT)
            && stacked_shape(t, i + 1)
        {
            return Some(("sqli:stacked", i, (i + 2).min(n - 1)));
        }
        // 4. The input closes the string and comments out the rest: `admin'--`, `x')#`.
        if is_ctx_close(tok) {
            let mut j = i + 1;
            while at(j).is_some_and(|p| p.kind == Kind::RParen) {
                j += 1;
            }
            if j == n - 1 && t[j].kind == Kind::Comment {
                return Some(("sqli:comment_truncation", i, j));
            }
        }
        // 5. Time, file and error functions inside an expression.
        if tok.is(DANGEROUS) && at(i + 1).is_some_and(|p| p.kind == Kind::LParen) {
            let after_sql = i > 0
                && (is_ctx_close(&t[i - 1])
                    || matches!(t[i - 1].kind, Kind::Semi | Kind::LParen | Kind::Comma)
                    || (t[i - 1].kind == Kind::Op && !t[i - 1].is(kw!("/"))));
            let probe = i == 0
                && tok.is(PROBE)
                && at(i + 2).is_some_and(|a| a.kind == Kind::Num)
                && at(i + 3).is_some_and(|p| matches!(p.kind, Kind::RParen | Kind::Comma));
            if after_sql && !tok.is(kw!("convert", "cast", "exp", "polygon")) || probe {
                return Some(("sqli:function", i, i + 1));
            }
        }
        if tok.is(kw!("waitfor")) && at(i + 1).is_some_and(|d| d.is(kw!("delay", "time"))) {
            return Some(("sqli:function", i, i + 1));
        }
        if tok.is(kw!("into")) && at(i + 1).is_some_and(|d| d.is(kw!("outfile", "dumpfile"))) {
            return Some(("sqli:file_write", i, i + 1));
        }
        // 6. Sub-select: `(SELECT ... FROM`, `(SELECT @@version)` after an operator.
        if tok.kind == Kind::LParen
            && at(i + 1).is_some_and(|s| s.is(kw!("select")))
            && (i == 0
                || is_cmp(&t[i - 1])
                || is_boolean(&t[i - 1])
                || matches!(t[i - 1].kind, Kind::Op | Kind::Comma | Kind::LParen)
                || is_ctx_close(&t[i - 1]))
            && t[i + 2..n.min(i + 12)]
                .iter()
                .any(|x| x.is(kw!("from")) || x.kind == Kind::Var)
        {
            return Some(("sqli:subquery", i, i + 1));
        }
        // 7. Column-count probing: `1 ORDER BY 5--`, `' GROUP BY 2#`.
        if tok.is(kw!("order", "group"))
            && i > 0
            && (is_ctx_close(&t[i - 1]) || t[i - 1].kind == Kind::Num)
            && at(i + 1).is_some_and(|b| b.is(kw!("by")))
            && at(i + 2).is_some_and(|c| c.kind == Kind::Num)
            && at(i + 3).is_none_or(|e| matches!(e.kind, Kind::Comment | Kind::Semi))
        {
            return Some(("sqli:order_by_probe", i - 1, i + 2));
        }
    }
    None
}

/// What must follow a statement keyword after `;` for it to be a statement.
fn stacked_shape(t: &[Tok], at: usize) -> bool {
    let next = |k: usize| t.get(at + k);
    let stmt = &t[at];
    if stmt.is(kw!("drop", "truncate", "alter", "create")) {
        return next(1).is_some_and(|o| {
            o.is(kw!(
                "table",
                "database",
                "schema",
                "user",
                "view",
                "index",
                "procedure",
                "function",
                "trigger",
                "login",
            ))
        });
    }
    if stmt.is(kw!("delete")) {
        return next(1).is_some_and(|f| f.is(kw!("from")));
    }
    if stmt.is(kw!("insert", "replace")) {
        return next(1).is_some_and(|f| f.is(kw!("into")));
    }
    if stmt.is(kw!("update")) {
        return next(2).is_some_and(|s| s.is(kw!("set")));
    }
    if stmt.is(kw!("exec", "execute")) {
        return next(1).is_some_and(|x| x.kind == Kind::Word || x.kind == Kind::LParen);
    }
    if stmt.is(kw!("shutdown")) {
        return next(1).is_none_or(|x| matches!(x.kind, Kind::Comment | Kind::Semi | Kind::Word));
    }
    if stmt.is(kw!("declare", "set")) {
        return next(1).is_some_and(|v| v.kind == Kind::Var);
    }
    if stmt.is(kw!("select")) {
        return t[at + 1..t.len().min(at + 10)]
            .iter()
            .any(|x| x.is(kw!("from")) || x.kind == Kind::Var || x.is(DANGEROUS));
    }
    if stmt.is(kw!("waitfor")) {
        return next(1).is_some_and(|d| d.is(kw!("delay", "time")));
    }
    if stmt.is(kw!("grant", "revoke")) {
        return t[at + 1..].iter().any(|x| x.is(kw!("to", "from", "on")));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks_match() {
        let attacks = [
            "' OR 1=1",
            "' or '1'='1",
            "admin' --",
            "admin'#",
            "admin')-- -",
            "1 OR 1=1",
            "1' AND 1=2 UNION SELECT null, username, password FROM users--",
            "-1 UNION ALL SELECT 1,2,3",
            "1 union select @@version",
            "x' UNION SELECT table_name FROM information_schema.tables#",
            "1; DROP TABLE users",
            "'; EXEC xp_cmdshell('dir')--",
            "1' AND SLEEP(5)#",
            "1 AND BENCHMARK(5000000,MD5(1))",
            "'; WAITFOR DELAY '0:0:5'--",
            "1) OR pg_sleep(5)--",
            "sleep(5)",
            "1 AND (SELECT COUNT(*) FROM users) > 0",
            "' AND extractvalue(1,concat(0x7e,version()))--",
            "1' ORDER BY 3--",
            "1 UN/**/ION SEL/**/ECT 1,2",
            "1 UNION/**/SELECT 1,2",
            "1 /*!50000UNION*/ /*!50000SELECT*/ 1,2",
            "\" or \"\"=\"",
            "' OR 'x'='x",
            "1' || '1'='1",
            "' AND 1=CONVERT(int,@@version)--",
            "x' INTO OUTFILE '/var/www/shell.php",
            "1;SELECT pg_sleep(5)",
            "' or true--",
        ];
        let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
        // UN/**/ION with the comment inside the keyword is not valid SQL and is not an attack.
        assert_eq!(missed, [&"1 UN/**/ION SEL/**/ECT 1,2"], "missed attacks");
    }

    #[test]
    fn benign_text_does_not_match() {
        let benign = [
            "O'Brien",
            "Shaquille O'Neal and D'Angelo",
            "select your favourite colour",
            "Join the union; select a committee",
            "the union select committee meets on monday",
            "Tom & Jerry or Bugs Bunny",
            "it's 1 or 2 days",
            "rock 'n' roll",
            "Please drop by the office; update me later",
            "order by price",
            "I'd like to order by phone",
            "SELECT * FROM the menu? no thanks",
            "5 - 3 = 2",
            "why is 1=1 true?",
            "email@example.com",
            "'quoted' text here",
            "\"The Union\" — a novel",
            "sleep well",
            "We had a benchmark (2019) run",
            "coffee; and cake",
            "2024-01-01",
            "Mc'Donald's -- best fries",
            "x < 3 and y > 2",
            "don't -- really",
        ];
        for b in benign {
            assert_eq!(check(b), None, "{b}");
        }
    }

    #[test]
    fn vocabulary_fits_a_set() {
        assert!(VOCABULARY.len() <= u128::BITS as usize);
        assert_eq!(VOCABULARY.iter().map(|w| w.len()).max(), Some(LONGEST));
    }

    #[test]
    fn values_without_an_anchor_skip_the_tokenizer() {
        for v in [
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0",
            "Mozilla/5.0 (Macintosh) Safari/605.1.15",
            "O'Brien",
            "python-requests/2.31.0",
            "Never run DROP TABLE on prod; don't. Or select a backup first.",
            "select the best union jobs",
            "I'd like to order by phone",
        ] {
            assert!(!may_match(v.as_bytes()), "{v}");
        }
        for v in [
            "1 /*!50000UNION*/",
            "admin'#",
            "x'--",
            "1' || '1'='1",
            "a;DROP",
            "1. or",
            "x' order",
            "1/**/or",
            "(select",
            "; /**/ select",
            "union/**/",
            "union (",
            "union all",
            "a waitfor",
        ] {
            assert!(may_match(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn fragment_quotes_the_match() {
        let m = check("id=1' OR 1=1 -- and more").unwrap();
        assert_eq!(m.rule, "sqli:tautology");
        assert!(m.fragment.contains("OR 1=1"), "{m:?}");
    }
}
