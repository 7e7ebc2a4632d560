//! The pre-tokeniser filter: [`may_match`] turns away, in one pass over the bytes, the
//! values no injection shape can match in any context, so that most values never reach
//! the tokenizer.
//!
//! Most values that reach the checker (browser User-Agents with `(` and `;`, names like
//! O'Brien) hold no anchor of any shape: no boolean, `union`, statement keyword, dangerous
//! function, `||`, `&&` or comment where a rule could use it. The filter must never turn
//! away a value the shapes would match; the argument for that is the doc of the test that
//! checks it, at the end of this file.

use super::lexer::{ANCHOR_PUNCT, BYTE_CLASS, RUN, SPACE, exponent_end};
use super::vocabulary::{NOT_IN_VOCABULARY, Words, kw, word_index_in};
use super::expression::MAX_QUOTE_EXPRESSION;
use super::{DANGEROUS, STATEMENT};

/// Words one of which every shape in [`shapes`] needs as a word token (its anchor):
/// rule 1 a boolean (`or`, `and`, `xor`, `div`; `||` and `&&` are operators, see
/// [`may_match`]), 2 `union`, 3 a statement after `;` ([`STATEMENT`]), 5 a function of
/// [`DANGEROUS`], `waitfor` or `into`, 6 `select` after `(`, 7 `order` or `group`, 1d
/// `having`, 8 `rand`; rule 1c (a literal compared with itself) needs a self-compared `=` instead
/// (`self_compared`). Only rule
/// 4 (comment truncation) needs no word: it needs a [`Kind::Comment`] token; and rule 4b
/// (a quote-balanced probe), which needs two quotes in a value of at most
/// [`MAX_QUOTE_PROBE`] bytes. Of the whole-value shapes of `expression`,
/// `quote_expression` needs two quotes in at most [`MAX_QUOTE_EXPRESSION`] bytes or a
/// comment, `commented_expression` a comment, and `open_select` a value that starts with
/// `select` and ends with `where` ([`open_select_ends`]).
///
/// [`shapes`]: super::shapes
/// [`Kind::Comment`]: super::lexer::Kind::Comment
const ANCHORS: Words = Words(
    kw!(
        "or", "and", "xor", "div", "union", "select", "order", "group", "waitfor", "into",
        "having", "rand"
    )
    .0 | DANGEROUS.0
        | STATEMENT.0,
);

/// Longest value rule 4b (a quote-balanced probe) applies to, in bytes: such a probe is a
/// few operators between two quotes.
pub(super) const MAX_QUOTE_PROBE: usize = 48;

/// Whether a byte can continue a [`Kind::Word`] in [`tokenize`] (`0xa0` aside, which
/// [`tokenize`] skips as white space when a token would start there).
///
/// [`Kind::Word`]: super::lexer::Kind::Word
/// [`tokenize`]: super::lexer::tokenize
#[inline]
fn is_word_byte(c: u8) -> bool {
    BYTE_CLASS[usize::from(c)] & RUN != 0
}

/// A necessary condition for [`shapes`] to match in any context, checked without
/// tokenising: most values that reach this checker (browser User-Agents with `(` and `;`,
/// names like O'Brien) hold no anchor of any shape.
///
/// It looks for an anchor (a word of [`ANCHORS`] standing where its rule looks for it, an
/// `||` or `&&`, or a comment); why every value the shapes match has one is argued on the
/// test that checks it, `values_without_an_anchor_skip_the_tokenizer`, below.
///
/// [`shapes`]: super::shapes
#[inline]
pub(super) fn may_match(b: &[u8]) -> bool {
    // Rule 4b (a quote-balanced probe, `'-'`) needs no anchor but two quotes in a short
    // value.
    if b.len() <= MAX_QUOTE_PROBE.max(MAX_QUOTE_EXPRESSION)
        && b.iter().filter(|&&c| c == b'\'' || c == b'"').count() >= 2
    {
        return true;
    }
    // `select ... where`, a query's head (`expression::open_select`), from the first byte.
    if open_select_ends(b) {
        return true;
    }
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
                b'=' if self_compared(b, i) => return true,
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
        let mut kw = word_index_in(&b[word..i], ANCHORS);
        if kw == NOT_IN_VOCABULARY && (word != start || start > 0 && b[start - 1] == b'.') {
            // `1e0UNION`, `1.e0UNION`, `1FUNION`: a keyword after the number's exponent
            // or suffix, where `lexer::glued_keyword` ends the number (the `.` ends a run
            // here, not a number there).
            word = exponent_end(b, word, i);
            kw = word_index_in(&b[word..i], ANCHORS);
        }
        if kw == NOT_IN_VOCABULARY {
            continue;
        }
        if word != start {
            return true; // After `/*!50000`: whatever came before, let the shapes decide.
        }
        let anchor = Words(1u128 << kw);
        // `waitfor`, `into`, `having` and the functions (rules 5, 1d) start a shape
        // anywhere; `waitfor` is a statement too, hence first.
        let placed = if anchor.0 & (kw!("waitfor", "into", "having", "rand").0 | DANGEROUS.0) != 0 {
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

/// Whether `b` starts with `select` and ends with `where`, white space aside: the first
/// and last tokens of `expression::open_select`, which no comment or quote can hide, as
/// they are its first and last bytes.
#[inline]
fn open_select_ends(b: &[u8]) -> bool {
    let b = b.trim_ascii();
    b.len() > 12
        && b[..6].eq_ignore_ascii_case(b"select")
        && b[b.len() - 5..].eq_ignore_ascii_case(b"where")
}

/// Whether the `=` at `eq` compares one run of word bytes with itself, each side maybe in
/// quotes and white space (`4605=4605`, `'ab' = 'ab'`): what rule 1c (a literal compared
/// with itself) needs. Its tokens, a number or a quoted word on each side of `=` with only
/// white space between, are those runs.
#[inline]
fn self_compared(b: &[u8], eq: usize) -> bool {
    let space = |c: u8| BYTE_CLASS[usize::from(c)] & SPACE != 0;
    let mut l = eq;
    while l > 0 && space(b[l - 1]) {
        l -= 1;
    }
    if l > 0 && matches!(b[l - 1], b'\'' | b'"') {
        l -= 1;
    }
    let left_end = l;
    while l > 0 && is_word_byte(b[l - 1]) {
        l -= 1;
    }
    let mut r = eq + 1;
    while r < b.len() && space(b[r]) {
        r += 1;
    }
    if r < b.len() && matches!(b[r], b'\'' | b'"') {
        r += 1;
    }
    let right = r;
    while r < b.len() && is_word_byte(b[r]) {
        r += 1;
    }
    left_end > l && b[l..left_end].eq_ignore_ascii_case(&b[right..r])
}

/// Anchors that start a shape only after a token that ends a value ([`ends_value`]) or
/// the input's closing quote: the booleans of rule 1 and `order`/`group` of rule 7.
///
/// [`ends_value`]: super::ends_value
const AFTER_A_VALUE: Words = kw!("or", "and", "xor", "div", "order", "group");

/// Whether the byte before `start`, white space skipped, can end a token after which a
/// word of [`AFTER_A_VALUE`] starts a shape (with only white space and comments between,
/// which [`tokenize`] skips): a number (its bytes are alphanumeric or `.`, the first a
/// digit), `)`, a string or the input's closing quote (`'` or `"`), or a skipped
/// comment (`*/` ends in `/`, `/*!50000` in `!` or a digit).
///
/// [`tokenize`]: super::lexer::tokenize
#[inline]
fn value_ends_before(b: &[u8], start: usize) -> bool {
    let mut p = start;
    while p > 0 && BYTE_CLASS[usize::from(b[p - 1])] & SPACE != 0 {
        p -= 1;
    }
    let Some(&c) = p.checked_sub(1).map(|q| &b[q]) else {
        // Nothing before it: rules 1a and 7 start from a boolean or `order` there.
        return true;
    };
    match c {
        b')' | b'\'' | b'"' | b'/' | b'!' => true,
        // A number, or digits of `/*!50000`: somewhere in the stretch of alphanumerics and
        // dots that ends here is a digit; or the value's first word
        // (`expression::leading_condition`, `HOPE AND 8=3`).
        _ if c.is_ascii_alphanumeric() || c == b'.' => {
            let run = b[..p]
                .iter()
                .rev()
                .take_while(|&&x| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_'));
            let len = run.clone().count();
            run.clone().any(u8::is_ascii_digit) || b[..p - len].iter().all(|&x| BYTE_CLASS[usize::from(x)] & SPACE != 0)
        }
        _ => false,
    }
}

/// Whether a [`STATEMENT`] word at `start` can be the token after `;` (rule 3) or `(`
/// (rule 6, `select`): the byte before it, white space skipped, is that `;` or `(`, or
/// ends a comment [`tokenize`] skips (`/`, `!` or a digit of `/*!50000`).
///
/// [`tokenize`]: super::lexer::tokenize
#[inline]
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
///
/// [`tokenize`]: super::lexer::tokenize
#[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`may_match`] is only a necessary condition: it must let through every value that
    /// [`shapes`] matches in some context. Why it does:
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
    ///
    /// The values below check both sides: common values without an anchor in place are
    /// turned away, and the smallest anchors in place, in each form, are let through.
    ///
    /// [`shapes`]: super::super::shapes
    /// [`tokenize`]: super::super::lexer::tokenize
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
}
