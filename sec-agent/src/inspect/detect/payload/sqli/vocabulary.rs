//! The SQL vocabulary: every keyword and operator symbol the injection shapes look for,
//! numbered in one table, and sets of them as bits of a `u128` ([`Words`]).
//!
//! The tokenizer looks each word and operator up once ([`word_index`],
//! [`vocabulary_index`]), so the shapes then test a token against a set with a shift and a
//! mask instead of comparing strings. Sets of literals are built at compile time with
//! [`kw!`], and a word missing from [`VOCABULARY`] fails the build. The lookup is the hot
//! path of tokenising: most words of a value are no keyword and are turned away by one
//! table load ([`BY_SHAPE`]).

/// Every keyword and operator the shapes look for.
/// Words only ever match word tokens and symbols operator tokens, so one table serves
/// both.
pub(super) const VOCABULARY: &[&str] = &[
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
    "begin",
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
    "having",
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
    "not",
    "null",
    "on",
    "or",
    "order",
    "outfile",
    "pg_sleep",
    "polygon",
    "procedure",
    "rand",
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
    "then",
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
    "when",
    "where",
    "xor",
    "xp_cmdshell",
    "||",
];

/// The index of a token that is no entry of [`VOCABULARY`].
pub(super) const NOT_IN_VOCABULARY: u8 = u8::MAX;

/// The longest entry of [`VOCABULARY`].
pub(super) const LONGEST: usize = 18;

/// A set of [`VOCABULARY`] entries.
#[derive(Clone, Copy)]
pub(super) struct Words(pub(super) u128);

impl Words {
    /// The set of `list`; a word missing from [`VOCABULARY`] fails the build (in const).
    pub(super) const fn of(list: &[&str]) -> Words {
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

/// `Words` of literals, computed at compile time: `kw!("union", "select")`.
macro_rules! kw {
    ($($w:literal),+ $(,)?) => {
        const { $crate::inspect::detect::payload::sqli::vocabulary::Words::of(&[$($w),+]) }
    };
}
pub(super) use kw;

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

#[inline]
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
///
/// [`Kind::Word`]: super::lexer::Kind::Word
#[inline]
pub(super) fn word_index(text: &[u8]) -> u8 {
    word_index_in(text, WORD_ENTRIES)
}

/// [`word_index`] restricted to the word entries of `among`.
#[inline]
pub(super) fn word_index_in(text: &[u8], among: Words) -> u8 {
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
#[inline]
pub(super) fn vocabulary_index(text: &[u8]) -> u8 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_fits_a_set() {
        assert!(VOCABULARY.len() <= u128::BITS as usize);
        assert_eq!(VOCABULARY.iter().map(|w| w.len()).max(), Some(LONGEST));
    }
}
