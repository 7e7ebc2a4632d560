//! Shapes of a whole value read as one SQL expression: between the input's quote and the
//! query's own (`aa'or column*0='0`), in parentheses with the rest commented out
//! (`( COS ( BINARY ( 'b')) )  --`), or as the select list of a query the value starts and
//! leaves at `WHERE` (`select sin(1),2 from bar where`).
//!
//! What tells such a value from prose is the grammar of an expression ([`is_expression`]):
//! operands (numbers, strings, names, variables) never stand side by side, while words do
//! in every sentence.

use super::lexer::{Kind, Tok};
use super::shapes::{matching_paren, opens_the_same_quote, truncates};
use super::vocabulary::Words;
use super::vocabulary::{NOT_IN_VOCABULARY, kw};
use super::{is_boolean, is_cmp, is_ctx_close};

/// Longest value [`quote_expression`] applies to, in bytes: the probes are short, and a
/// longer value between two quotes is mostly text.
pub(super) const MAX_QUOTE_EXPRESSION: usize = 64;

/// Whether `x` is a whole operand: a literal, a variable, or a name.
fn operand(x: &Tok) -> bool {
    matches!(x.kind, Kind::Num | Kind::Str { .. } | Kind::Var)
        || x.kind == Kind::Word && x.kw == NOT_IN_VOCABULARY
}

/// Whether `x` ends an operand: an [`operand`] or `)`.
fn ends_operand(x: &Tok) -> bool {
    operand(x) || x.kind == Kind::RParen
}

/// Whether `x` starts an operand: an [`operand`] or `(`.
fn starts_operand(x: &Tok) -> bool {
    operand(x) || x.kind == Kind::LParen
}

/// Whether `t` reads as an SQL expression: only tokens an expression holds (no `;`, no
/// comment, no unclosed string), and no operand right after another, a call (`f(`)
/// aside. Keywords (`is`, `not`, `null`, `binary`, `like`) stand anywhere.
pub(super) fn is_expression(t: &[Tok]) -> bool {
    t.iter().all(|x| {
        matches!(
            x.kind,
            Kind::Num
                | Kind::Str { closed: true, .. }
                | Kind::Word
                | Kind::Var
                | Kind::Op
                | Kind::LParen
                | Kind::RParen
                | Kind::Comma
                | Kind::Dot
        )
    }) && t.windows(2).all(|w| {
        !(ends_operand(&w[0]) && starts_operand(&w[1]))
            || w[0].kind == Kind::Word && w[1].kind == Kind::LParen
    })
}

/// Whether the token's text, white space at either end aside, holds no white space: one
/// word, as an injection's `admin'` or `'1 ` is, not a sentence.
fn one_word(t: &Tok, value: &str) -> bool {
    !value[t.start..t.end]
        .trim()
        .bytes()
        .any(|c| c.is_ascii_whitespace())
}

/// `aa'or column*0='0`, `1'*@a is null - '`, `asd' |1 != (1)#aa`, `'||utl_http.request('x')||'`:
/// the input's quote after one word, an operator at once, an expression, and either a
/// string the query's own quote closes or a comment; the whole value is an expression
/// spliced into the query's string, which prose with apostrophes (`it's`, `O'Brien`) never
/// is: after its apostrophe comes a letter.
pub(super) fn quote_expression(t: &[Tok], value: &str) -> Option<(&'static str, usize, usize)> {
    let n = t.len();
    if n < 3 || value.len() > MAX_QUOTE_EXPRESSION || !is_ctx_close(&t[0]) || !one_word(&t[0], value)
    {
        return None;
    }
    // What comes before the quote is a datum (`aa`, `1`, `-1`), not code or an
    // attribute (`x="`, `f("`).
    let head = value[..t[0].end - 1].trim_start();
    if !head
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'@'))
    {
        return None;
    }
    let op = &t[1];
    if !(op.kind == Kind::Op || is_boolean(op) || is_cmp(op) || op.is(kw!("not", "||"))) {
        return None;
    }
    let last = &t[n - 1];
    let ends = match last.kind {
        // Not a number's foot or inch mark (`4'+X+4'+WOOD`, `48"+X+48"`), which a
        // size written twice closes.
        Kind::Str { closed: false, .. } => {
            opens_the_same_quote(&t[0], last, value)
                && one_word(last, value)
                && !(t[n - 2].kind == Kind::Num && t[n - 2].end == last.start)
        }
        // A comment with no quote in it: in code, one after a quoted string is mostly
        // more code (`r'|a|b#?', Keyword),`).
        Kind::Comment => {
            truncates(last, value) && !value[last.start..].contains(['\'', '"'])
        }
        _ => false,
    };
    // At least one operator written as a symbol: words alone between two quotes
    // (`"NOT ON FACEBOOK"`, `'or else'`) are quoted text.
    let body = &t[1..n - 1];
    (ends && body.iter().any(|x| x.kind == Kind::Op) && is_expression(body))
        .then_some(("sqli:quote_expression", 0, n - 1))
}

/// `( COS ( BINARY ( 'b')) )  --`, `( ( @a ) )  --`, `( 'a' ) in ( BINARY ( 'b') )  --`,
/// `1 * 1 /*`, `@@version--`: the value from its first byte is an expression of literals,
/// calls and operators (parenthesised, or from a number or variable), and a bare `--` or
/// `/*` (nothing after it) cuts the query's rest. Prose in parentheses before a dash (`(see above) -- John`) has words side by side, or a name
/// after the dash.
pub(super) fn commented_expression(t: &[Tok], value: &str) -> Option<(&'static str, usize, usize)> {
    let n = t.len();
    // From `(`, or from a number or variable (`1 * 1 /*`, `@@version--`): what an
    // unquoted value that cuts the query off starts with.
    let opens = match t.first()?.kind {
        Kind::LParen => n >= 4,
        Kind::Num | Kind::Var => n >= 2,
        _ => false,
    };
    if !opens || t[n - 1].kind != Kind::Comment {
        return None;
    }
    let comment = value[t[n - 1].start..].trim_end();
    if comment != "--" && comment != "/*" {
        return None;
    }
    let body = &t[..n - 1];
    let literal = |x: &Tok| matches!(x.kind, Kind::Num | Kind::Str { closed: true, .. } | Kind::Var);
    let closed = match t[0].kind {
        Kind::LParen => {
            matching_paren(t, 0).is_some() && body.last().is_some_and(|x| x.kind == Kind::RParen)
        }
        // Only numbers, variables and `*` or `/` between them: a token, a list or a
        // date before a dash (`1611-IioXX--`, `1,1--`) is no expression cut short.
        _ => body
            .iter()
            .all(|x| matches!(x.kind, Kind::Num | Kind::Var) || x.is(kw!("*", "/"))),
    };
    (closed
        && body.iter().any(literal)
        && is_expression(body))
    .then_some(("sqli:expression", 0, n - 1))
}

/// `select sin(1),2 from bar where`, `select @version,(2),3 from bar where`: the value is
/// the head of a query, a select list of literals or calls and one table, left open at
/// `WHERE` for the application's condition. A statement in documentation is whole
/// (`SELECT * FROM films WHERE kind = 'Drama';`), and a sentence that starts with "select"
/// has words side by side ("select the best option from the list where ...").
pub(super) fn open_select(t: &[Tok]) -> Option<(&'static str, usize, usize)> {
    let n = t.len();
    if n < 5 || !t[0].is(kw!("select")) || !t[n - 1].is(kw!("where")) {
        return None;
    }
    let from = t.iter().position(|x| x.is(kw!("from")))?;
    // The table: a name, maybe dotted (`information_schema.tables`).
    let table = &t[from + 1..n - 1];
    let name = !table.is_empty()
        && table.len() % 2 == 1
        && table.iter().enumerate().all(|(k, x)| {
            if k % 2 == 0 {
                x.kind == Kind::Word && x.kw == NOT_IN_VOCABULARY
            } else {
                x.kind == Kind::Dot
            }
        });
    let list = &t[1..from];
    let literal = |x: &Tok| {
        matches!(x.kind, Kind::Num | Kind::Str { closed: true, .. } | Kind::Var | Kind::LParen)
    };
    (name && !list.is_empty() && list.iter().any(literal) && is_expression(list))
        .then_some(("sqli:open_select", 0, n - 1))
}

/// Whether `t[k..]` starts with a literal, maybe in one pair of parentheses (`8`, `(8)`,
/// `'a'`): where it ends.
fn literal_at(t: &[Tok], k: usize) -> Option<usize> {
    let lit = |x: &Tok| matches!(x.kind, Kind::Num | Kind::Str { closed: true, .. });
    match t.get(k)? {
        x if lit(x) => Some(k + 1),
        x if x.kind == Kind::LParen => {
            (t.get(k + 1).is_some_and(lit) && t.get(k + 2)?.kind == Kind::RParen).then_some(k + 3)
        }
        _ => None,
    }
}

/// The comparisons [`leading_condition`] takes between two literals.
const COMPARISONS: Words = kw!("=", "<", ">", "<=", ">=", "!=", "<>", "like", "between");

/// ` AND 1=0`, ` OR 1=0#`, `HOPE AND 8=3`, ` HAVING 1=0-- `, `PHPX AND 1=1 AND XX=X`: the
/// value is a boolean (or `HAVING`) then a comparison of two literals, from its first
/// word or after one word (the datum an injection appends to), to its end, a comment or
/// the next boolean: sqlmap's false-condition templates (`AND 5431=8721`) as a whole
/// value. Prose has more after the numbers (`and 5 = 3 + 2, or so`, `having 3 > 2 kids`).
pub(super) fn leading_condition(t: &[Tok], value: &str) -> Option<(&'static str, usize, usize)> {
    let k = usize::from(t.first()?.kind == Kind::Word && t[0].kw == NOT_IN_VOCABULARY);
    let b = t.get(k)?;
    if !(is_boolean(b) || b.is(kw!("having"))) {
        return None;
    }
    let left = literal_at(t, k + 1)?;
    let op = t.get(left)?;
    if !op.is(COMPARISONS) {
        return None;
    }
    let right = literal_at(t, left + 1)?;
    let ends = match t.get(right) {
        None => true,
        Some(x) if x.kind == Kind::Comment => truncates(x, value),
        Some(x) => is_boolean(x) && !op.is(kw!("between")),
    };
    ends.then_some(("sqli:tautology", k, right - 1))
}
