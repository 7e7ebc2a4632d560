//! The injection shapes: rules over the token sequence of a value, each starting from
//! its own token (a boolean, `union`, `;`, the input's closing quote, a dangerous function,
//! `(`, `order`/`group`, `rand`), and the token predicates they share.

use super::lexer::{self, Kind, Tok};
use super::vocabulary::{self, kw, Words};
use super::{
    expression, stacked, DANGEROUS, PROBE, STATEMENT, ends_value, is_boolean, is_cmp, is_ctx_close, is_operand,
    prefilter,
};

/// The words and operators a rule of [`shapes`] starts from.
const SHAPE_STARTS: Words = Words(
    kw!(
        "or", "and", "xor", "div", "||", "&&", "union", "waitfor", "into", "order", "group",
        "when", "having", "where", "not", "rand"
    )
    .0 | DANGEROUS.0,
);

/// Whether the input's closing quote `t` ends a single word (`admin'`, `1"`, `'`): what an
/// injection puts before the quote it closes. Text with spaces before a quote
/// (`BAMBOO SOAP 1 '#`, `'countdown calendar" and "disney`) is prose that happens to hold
/// quotes; only the shapes that need more than a quote and a comment or a bare string
/// still apply to it.
fn closes_a_word(t: &Tok, value: &str) -> bool {
    !value.as_bytes()[t.start..t.end]
        .iter()
        .any(u8::is_ascii_whitespace)
}

/// Whether `last`, an unclosed string, opens with the quote `close` closed and holds no
/// other (`'-'`, not `'-"8` or the escaped quotes of `x'*`): the query's own quote
/// then closes it.
pub(super) fn opens_the_same_quote(close: &Tok, last: &Tok, value: &str) -> bool {
    let b = value.as_bytes();
    let q = b[close.end - 1];
    b[last.start] == q && !b[last.start + 1..last.end].contains(&q)
}

/// Whether the comment `c` truncates the query: `--` and `/*` always, `#` when nothing
/// or no word follows it (`admin'#`, not the `#2` of `7" #2 NEEDLE`); and in either case
/// when what follows is at most a tag (`-- -`, `-- xyz`), not a sentence.
pub(super) fn truncates(c: &Tok, value: &str) -> bool {
    let text = &value.as_bytes()[c.start..c.end];
    if text.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty()).count() > 3 {
        return false;
    }
    match text.strip_prefix(b"#") {
        Some(rest) => !rest.first().is_some_and(u8::is_ascii_alphanumeric),
        None => true,
    }
}

/// Whether `a` and `b`, either side of `op` with only white space between, are one literal
/// twice, as sqlmap's `[RANDNUM]=[RANDNUM]` and `'[RANDSTR]'='[RANDSTR]'` write it: a
/// number of two or more alphanumerics, or a quoted word. Both are one run of word bytes, quotes aside, as `prefilter::self_compared`
/// looks for them.
fn self_comparison(a: &Tok, op: &Tok, b: &Tok, value: &str) -> bool {
    let inner = |t: &Tok| {
        let text = &value.as_bytes()[t.start..t.end];
        match t.kind {
            Kind::Num if text.len() >= 2 => Some(text),
            Kind::Str { closed: true, .. } if text.len() >= 3 => Some(&text[1..text.len() - 1]),
            _ => None,
        }
    };
    let spaces = |from: usize, to: usize| {
        value.as_bytes()[from..to]
            .iter()
            .all(|&c| lexer::BYTE_CLASS[usize::from(c)] & lexer::SPACE != 0)
    };
    let (Some(x), Some(y)) = (inner(a), inner(b)) else {
        return false;
    };
    a.kind == b.kind
        && spaces(a.end, op.start)
        && spaces(op.end, b.start)
        && x.eq_ignore_ascii_case(y)
        && x.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Finds an injection shape; returns the rule name and the token range to quote.
pub(super) fn shapes(t: &[Tok], value: &str) -> Option<(&'static str, usize, usize)> {
    let n = t.len();
    let at = |i: usize| t.get(i);
    if let Some(m) = expression::quote_expression(t, value)
        .or_else(|| expression::leading_condition(t, value))
        .or_else(|| expression::commented_expression(t, value))
        .or_else(|| expression::open_select(t))
    {
        return Some(m);
    }
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
        // After a number that ends a comparison (`5 > 3 and 2 < 4`) a boolean chains
        // comparisons, as prose and arithmetic do; an injection's starts from the value.
        let chained = i >= 2 && t[i - 1].kind == Kind::Num && is_cmp(&t[i - 2]);
        // 1a. A boolean and a comparison of a literal with itself (`AND 7300=7300`,
        // `OR x=x`, `or 'a'='a`): sqlmap's boolean templates, also at the value's start.
        if is_boolean(tok)
            && !chained
            && (i == 0 || ends_value(&t[i - 1]) || is_ctx_close(&t[i - 1]))
            && let (Some(a), Some(op), Some(b)) = (at(i + 1), at(i + 2), at(i + 3))
            && op.is(kw!("=", "like"))
            && matches!(a.kind, Kind::Num | Kind::Str { closed: true, .. } | Kind::Word)
            && a.kind == b.kind
            && a.kw == vocabulary::NOT_IN_VOCABULARY
            && value[a.start..a.end].eq_ignore_ascii_case(&value[b.start..b.end])
        {
            return Some(("sqli:tautology", i, i + 3));
        }
        // 1c. A literal compared with itself inside an expression (`(4605=4605)*1`,
        // `CASE WHEN 7908=7908 THEN`, `IIF(2027=2027,1,1/0)`, `ELT(3611=3611,1)`, `HAVING
        // 2059=2059`, `OR NOT 5741=5741`): sqlmap's `[RANDNUM]=[RANDNUM]`, which every one of
        // its boolean, error and time templates holds. A one-digit `1=1` is left to the rules
        // that need a value closed before it: documentation writes `WHERE 1=1`.
        if (tok.kind == Kind::LParen || tok.is(kw!("when", "having", "where", "not")))
            && let (Some(a), Some(op), Some(b)) = (at(i + 1), at(i + 2), at(i + 3))
            && op.is(kw!("="))
            && self_comparison(a, op, b, value)
            && at(i + 4).is_none_or(|e| {
                matches!(
                    e.kind,
                    Kind::RParen | Kind::Comma | Kind::Comment | Kind::Semi
                ) || e.is(kw!("then", "and", "or", "xor", "||", "&&"))
            })
        {
            return Some(("sqli:tautology", i, i + 3));
        }
        // 1d. `' HAVING 1=1--`, `' GROUP BY name HAVING 1=0#`: a group condition on two
        // numbers, in a value that closed the query's string.
        if tok.is(kw!("having"))
            && is_ctx_close(&t[0])
            && let (Some(a), Some(op), Some(b)) = (at(i + 1), at(i + 2), at(i + 3))
            && a.kind == Kind::Num
            && is_cmp(op)
            && b.kind == Kind::Num
        {
            return Some(("sqli:tautology", i, i + 3));
        }
        // 1b. A parenthesised expression with the rest commented out (`( 1 OR COS ( 'b') )
        // --`, `(1) OR (1=1)#`): the value is SQL from its first byte to the comment.
        if tok.kind == Kind::LParen
            && i == 0
            && n >= 4
            && t[n - 1].kind == Kind::Comment
            && truncates(&t[n - 1], value)
            && matching_paren(t, 0).is_some_and(|c| c + 2 >= n - 1)
            && t[1..n - 1]
                .iter()
                .any(|x| is_boolean(x) || is_cmp(x) || x.kind == Kind::Op || x.kw != vocabulary::NOT_IN_VOCABULARY)
        {
            return Some(("sqli:expression", 0, n - 1));
        }
        // 1. Tautology or boolean probe: `' OR 1=1`, `1 AND 2>1`, `' OR 'a'='a`, `' OR 1--`.
        if is_boolean(tok)
            && i > 0
            && !chained
            && (ends_value(&t[i - 1]) || is_ctx_close(&t[i - 1]))
        {
            // `') or ('1'='1`, `")) or true--`: the input's quote, then the `)` that
            // close the query's own parentheses.
            let quote = quote_before(t, i - 1);
            // After the input's own quote anything may be compared; after a plain number
            // (an unquoted context) the left side must be a literal, variable or call:
            // `1 AND 2>1`, `1 AND ascii(...)>64`, not the prose "3 and y > 2".
            let left_ok = |a: &Tok| {
                quote.is_some()
                    || matches!(
                        a.kind,
                        Kind::Num | Kind::Str { .. } | Kind::Var | Kind::LParen
                    )
                    || (a.kind == Kind::Word && at(i + 2).is_some_and(|p| p.kind == Kind::LParen))
            };
            // `IN` takes a parenthesised list: `x IN (1,2)`, not the prose `"a" in b`.
            // After the quote and parentheses, the comparison may open its own: `('1'='1`.
            let mut j = i + 1;
            let opens = |k: usize| at(k).is_some_and(|p| p.kind == Kind::LParen);
            while quote.is_some() && opens(j) && at(j + 1).is_some() && !opens(j + 1) {
                j += 1;
            }
            // `1 AND 1 NOT BETWEEN 0 AND 1` (sqlmap's between tamper), `NOT LIKE`,
            // `SOUNDS LIKE`: a comparison written in two words.
            let two = usize::from(
                at(j + 1).is_some_and(|w| w.is(kw!("not", "sounds")))
                    && at(j + 2).is_some_and(|c| c.is(kw!("like", "between", "in", "regexp", "rlike"))),
            );
            if let (Some(a), Some(op), Some(b)) = (at(j), at(j + 1 + two), at(j + 2 + two))
                && is_operand(a)
                && left_ok(a)
                && is_cmp(op)
                && is_operand(b)
                && (!op.is(kw!("in")) || b.kind == Kind::LParen)
            {
                return Some(("sqli:tautology", i - 1, j + 2 + two));
            }
            // `') or ('x')=('x`, `1 OR (1)=(1)`: each side of the comparison in its own
            // parentheses, as many on each side.
            let wrapped = (i + 1..n).take_while(|&k| t[k].kind == Kind::LParen).count();
            let op_at = i + 2 + 2 * wrapped;
            let right_opens = (op_at + 1..n)
                .take_while(|&k| t[k].kind == Kind::LParen)
                .count();
            if wrapped > 0
                && right_opens <= wrapped
                && let Some(a) = at(i + 1 + wrapped)
                && (i + 2 + wrapped..op_at).all(|k| t.get(k).is_some_and(|p| p.kind == Kind::RParen))
                && at(op_at).is_some_and(is_cmp)
                && let Some(b) = at(op_at + 1 + right_opens)
                && matches!(a.kind, Kind::Num | Kind::Str { .. })
                && matches!(b.kind, Kind::Num | Kind::Str { .. })
                && (quote.is_some() || a.kind == Kind::Num && b.kind == Kind::Num)
            {
                return Some(("sqli:tautology", i - 1, op_at + 1 + right_opens));
            }
            // `foo' and (1+2+3)=6--`, `x' or 1+1=(2)--`: after the input's quote, an
            // arithmetic comparison of literals up to a comment or the query's own quote.
            if let Some(q) = quote
                && closes_a_word(q, value)
                && arithmetic_comparison(&t[i + 1..], value)
            {
                return Some(("sqli:tautology", i - 1, n - 1));
            }
            // `1 AND ASCII(SUBSTRING((SELECT version()),1,1))>64`, `15 and
            // (ascii(substring(version(),1,1))=51)`: a call compared, maybe in parentheses,
            // the blind-extraction template of sqlmap and its kin, after a value that is
            // the whole input so far (`12)`, `20'`).
            if let Some(end) = blind_comparison(t, i, wrapped) {
                return Some(("sqli:blind_comparison", i - 1, end));
            }
            if quote.is_some_and(|q| closes_a_word(q, value))
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
            // `UNION ALL SELECTCHAR(88)+CHAR(88)`: sqlmap's CHAR() encoding glued to the
            // keyword, which MySQL reads as `SELECT CHAR(88)`.
            let glued_char = at(j).is_some_and(|w| {
                w.kind == Kind::Word
                    && value[w.start..w.end].eq_ignore_ascii_case("selectchar")
                    && at(j + 1).is_some_and(|p| p.kind == Kind::LParen)
            });
            if glued_char {
                return Some(("sqli:union", i, j));
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
            && stacked::stacked_shape(t, i + 1, value)
        {
            return Some(("sqli:stacked", i, (i + 2).min(n - 1)));
        }
        // 4. The input closes the string and comments out the rest: `admin'--`, `x')#`.
        if is_ctx_close(tok) {
            let mut j = i + 1;
            while at(j).is_some_and(|p| p.kind == Kind::RParen) {
                j += 1;
            }
            if j == n - 1
                && t[j].kind == Kind::Comment
                && (closes_a_word(tok, value) && truncates(&t[j], value))
            {
                return Some(("sqli:comment_truncation", i, j));
            }
        }
        // 4b. A quote-balanced probe: the input's quote, an operator, and a string the
        // query's own quote closes (`'-'`, `' or ''^'`, `aa'|!'aa`, `' REGEXP '`): the whole
        // value is an expression, which no text is.
        if is_ctx_close(tok)
            && i == 0
            && value.len() <= prefilter::MAX_QUOTE_PROBE
            && closes_a_word(tok, value)
            && (closes_a_word(&t[n - 1], value) && opens_the_same_quote(tok, &t[n - 1], value)
                || t[n - 1].kind == Kind::Comment
                    && n >= 3
                    && truncates(&t[n - 1], value)
                    && !is_boolean(&t[1]))
            && n <= 6
            && at(1).is_some_and(|o| o.kind == Kind::Op || is_boolean(o) || is_cmp(o) || o.is(kw!("div")))
            && matches!(
                t[n - 1].kind,
                Kind::Str { closed: false, .. } | Kind::Comment
            )
            && t[1..n - 1].iter().all(|x| !matches!(x.kind, Kind::Word) || x.kw != vocabulary::NOT_IN_VOCABULARY)
        {
            return Some(("sqli:quote_probe", 0, n - 1));
        }
        // 5. Time, file and error functions inside an expression.
        if tok.is(DANGEROUS) && at(i + 1).is_some_and(|p| p.kind == Kind::LParen) {
            let after_sql = i > 0
                && (is_ctx_close(&t[i - 1])
                    || matches!(t[i - 1].kind, Kind::Semi | Kind::LParen | Kind::Comma)
                    || (t[i - 1].kind == Kind::Op && !t[i - 1].is(kw!("/"))));
            // Alone, after a boolean, or as the sort key (`ORDER BY SLEEP(5)`).
            let sort_key = i >= 2 && t[i - 1].is(kw!("by")) && t[i - 2].is(kw!("order"));
            let probe = (i == 0 || is_boolean(&t[i - 1]) && i == 1 || sort_key)
                && tok.is(PROBE)
                && at(i + 2).is_some_and(|a| a.kind == Kind::Num)
                && at(i + 3).is_some_and(|p| matches!(p.kind, Kind::RParen | Kind::Comma));
            if after_sql && !tok.is(kw!("convert", "cast", "exp", "polygon")) || probe {
                return Some(("sqli:function", i, i + 1));
            }
        }
        // `EXEC master..xp_cmdshell 'ping x'`: MSSQL's shell procedure given a command.
        if tok.is(kw!("xp_cmdshell")) && at(i + 1).is_some_and(|a| matches!(a.kind, Kind::Str { .. })) {
            return Some(("sqli:function", i, i + 1));
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
            && t[i + 2..n.min(i + 24)]
                .iter()
                .any(|x| x.is(kw!("from", "select")) || x.kind == Kind::Var)
        {
            return Some(("sqli:subquery", i, i + 1));
        }
        // 8. `FLOOR(RAND(0)*2)`, `RAND(0)|0`: the duplicate-key error of MySQL's
        // error-based templates (`GROUP BY CONCAT(version(), FLOOR(RAND(0)*2))`), a
        // one-digit seed and the scaling written without spaces, as those templates do.
        if tok.is(kw!("rand"))
            && let Some(seed) = at(i + 2)
            && seed.kind == Kind::Num
            && seed.end - seed.start == 1
            && value.get(tok.end..seed.end + 2).is_some_and(|s| {
                let s = s.as_bytes();
                s[0] == b'(' && s[2] == b')' && matches!(s[3], b'*' | b'|')
            })
            && at(i + 5).is_some_and(|a| a.kind == Kind::Num)
        {
            return Some(("sqli:error_based", i, i + 5));
        }
        // 7. Column-count probing: `1 ORDER BY 5--`, `' GROUP BY 2#`, ` ORDER BY 23 `,
        // `1') ORDER BY 3-- x` (sqlmap's boundaries close parentheses after the value),
        // `-1 ORDER BY 1,2,3--` (a list of column numbers), `1 GROUP BY 1 HAVING ...`.
        if tok.is(kw!("order", "group"))
            && (i == 0 || closes_a_value(t, i - 1))
            && at(i + 1).is_some_and(|b| b.is(kw!("by")))
            && at(i + 2).is_some_and(|c| c.kind == Kind::Num)
        {
            let mut last = i + 2;
            while at(last + 1).is_some_and(|c| c.kind == Kind::Comma)
                && at(last + 2).is_some_and(|c| c.kind == Kind::Num)
            {
                last += 2;
            }
            let ends = at(last + 1).is_none_or(|e| matches!(e.kind, Kind::Comment | Kind::Semi));
            let having = tok.is(kw!("group"))
                && at(last + 1).is_some_and(|h| h.is(kw!("having")))
                && at(last + 2).is_some_and(is_operand)
                && at(last + 3).is_some_and(is_cmp);
            if ends || having {
                return Some(("sqli:order_by_probe", i.saturating_sub(1), last));
            }
        }
    }
    None
}

/// Whether `t` (what follows a boolean after the input's quote) is an arithmetic
/// comparison of numbers and strings, in parentheses or not, to a trailing comment or to
/// a string the query's own quote closes: `(1+2+3)=6--`, `1+1=(2) or '1`.
fn arithmetic_comparison(t: &[Tok], value: &str) -> bool {
    let Some((last, body)) = t.split_last() else {
        return false;
    };
    let ends = last.kind == Kind::Comment && truncates(last, value)
        || matches!(last.kind, Kind::Str { closed: false, .. });
    ends && body.len() >= 3
        && body.iter().any(|x| x.kind == Kind::Op && x.kw != vocabulary::NOT_IN_VOCABULARY || x.is(kw!("*", "/")))
        && body.iter().any(is_cmp)
        && body.iter().all(|x| {
            matches!(x.kind, Kind::Num | Kind::Str { closed: true, .. } | Kind::LParen | Kind::RParen | Kind::Op)
                || is_cmp(x)
                || is_boolean(x)
        })
}

/// The rule-1 blind comparison from the boolean at `t[i]`, the call after it in `wrapped`
/// parentheses: where the compared operand is. The value before the boolean must be the
/// whole input so far (`1`, `12)`) or end at the input's quote (`20'`), and the comparison
/// follows the call, before or after the `)` that wrap it.
fn blind_comparison(t: &[Tok], i: usize, wrapped: usize) -> Option<usize> {
    let mut v = i - 1;
    while v > 0 && t[v].kind == Kind::RParen {
        v -= 1;
    }
    if v != 0 && !is_ctx_close(&t[v]) {
        return None;
    }
    let f = t.get(i + 1 + wrapped)?;
    if f.kind != Kind::Word || t.get(i + 2 + wrapped)?.kind != Kind::LParen {
        return None;
    }
    let mut c = matching_paren(t, i + 2 + wrapped)? + 1;
    let mut left = wrapped;
    while left > 0 && t.get(c).is_some_and(|p| p.kind == Kind::RParen) {
        c += 1;
        left -= 1;
    }
    (t.get(c).is_some_and(is_cmp) && t.get(c + 1).is_some_and(is_operand)).then_some(c + 1)
}

/// The token before the run of `)` ending at `t[k]` (`t[k]` itself when it is no `)`):
/// where the input's value ends when it closes the query's own parentheses (`1'))`).
fn before_closing_parens(t: &[Tok], k: usize) -> &Tok {
    let mut k = k;
    while k > 0 && t[k].kind == Kind::RParen {
        k -= 1;
    }
    &t[k]
}

/// The input's closing quote at `t[k]`, or before the `)` ending at `t[k]` (`')`, `"))`).
fn quote_before(t: &[Tok], k: usize) -> Option<&Tok> {
    Some(before_closing_parens(t, k)).filter(|q| is_ctx_close(q))
}

/// Whether `t[k]` ends the value an injection starts from: the input's closing quote or a
/// number, maybe followed by the `)` that close the query's own parentheses (`1'))`).
fn closes_a_value(t: &[Tok], k: usize) -> bool {
    let end = before_closing_parens(t, k);
    is_ctx_close(end) || end.kind == Kind::Num
}

/// The index of the `)` closing the `(` at `open`, within 64 tokens.
pub(super) fn matching_paren(t: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (k, x) in t.iter().enumerate().skip(open).take(64) {
        match x.kind {
            Kind::LParen => depth += 1,
            Kind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}
