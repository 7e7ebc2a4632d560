//! SQL injection: the value is tokenised as SQL three times, as if it were pasted into an
//! unquoted, a single-quoted and a double-quoted context (the idea behind libinjection's
//! contexts), and the token stream is matched against the shapes an injection must take to
//! change a query: a tautology after a closed string or a number, `UNION SELECT` with a
//! select list, a stacked statement after `;`, a string closed and the rest commented out,
//! time and file functions in an expression, a sub-select, `ORDER BY` column probing.
//!
//! Keywords alone never match: "select", "union", "or" in prose, and names like O'Brien,
//! make no injection shape.
//!
//! This file holds the entry points and the shapes; the parts they stand on:
//! - `vocabulary`: the keywords and operators the shapes name, as bit sets;
//! - `prefilter`: a pass over the bytes that turns away values without an anchor of any
//!   shape before tokenising;
//! - `lexer`: the tokenizer, one token stream per context;
//! - `shapes`: the rules over the token stream, each from its own anchor token;
//! - `expression`: the shapes of a whole value read as one expression (between two quotes,
//!   in parentheses before a comment, a query's head left open at `WHERE`).
//!
//! The functions [`check_with`] reaches in those files are `#[inline]`: each file may be its own
//! codegen unit, and without the attribute the optimiser no longer inlines them into
//! [`check_with`] as it did when all of this was one file; with it the machine code, and so
//! the instruction count per request, is the same.

mod expression;
mod lexer;
mod prefilter;
mod shapes;
mod stacked;
mod vocabulary;

use super::Match;
use lexer::{Context, Kind, Tok, tokenize};
use prefilter::may_match;
use shapes::shapes;
use vocabulary::{Words, kw};

/// Token buffer reused from one value to the next.
#[derive(Default)]
pub struct Scratch(Vec<Tok>);

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    check_with(value, &mut Scratch::default())
}

/// [`check`], tokenising into `scratch`.
pub fn check_with(value: &str, scratch: &mut Scratch) -> Option<Match> {
    if value.len() < 3 || !may_match(value.as_bytes()) || sql_script(value) {
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
        if let Some((rule, from, to)) = shapes(toks, value) {
            return Some(Match::new(rule, value, toks[from].start, toks[to].end));
        }
    }
    None
}

/// Whether `value` is SQL written out whole, lines of it, from its first word
/// (`CREATE TABLE t (...);\nALTER TABLE ...`, a documentation example): a statement the
/// value is, not one it injects into a query. An injection starts from data (`1;
/// DROP ...`, `x' UNION ...`), and sits on one line.
fn sql_script(value: &str) -> bool {
    let first = value
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    value.contains('\n')
        && [
            "select", "update", "create", "alter", "insert", "delete", "drop", "with", "grant",
        ]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
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
    "replace", "handler", "begin",
];

const STATEMENT: Words = Words::of(STATEMENTS);


#[cfg(test)]
mod tests;
