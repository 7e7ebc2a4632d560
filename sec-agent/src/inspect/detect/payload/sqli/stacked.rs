//! The stacked statement of rule 3: what must follow a statement keyword after `;` for it
//! to be a statement (`; DROP TABLE`, `; EXEC xp_cmdshell`), not prose after a semicolon
//! ("; update me later").

use super::lexer::{Kind, Tok};
use super::vocabulary::kw;
use super::{DANGEROUS, STATEMENT};

/// What must follow a statement keyword after `;` for it to be a statement.
pub(super) fn stacked_shape(t: &[Tok], at: usize, value: &str) -> bool {
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
    // `; DELETE FROM t`, `; DELETE LOW_PRIORITY FROM t` (MySQL's modifiers).
    if stmt.is(kw!("delete")) {
        return next(1).is_some_and(|f| f.is(kw!("from")))
            || next(1).is_some_and(|m| text_is(m, value, &["low_priority", "quick", "ignore"]))
                && next(2).is_some_and(|f| f.is(kw!("from")));
    }
    // `; LOAD DATA INFILE 'x'`, `; LOAD XML LOCAL INFILE "x"`: a file read into a table.
    if stmt.is(kw!("load")) {
        return next(1).is_some_and(|d| text_is(d, value, &["data", "xml"]))
            && t[at + 2..t.len().min(at + 5)]
                .iter()
                .any(|x| text_is(x, value, &["infile"]));
    }
    if stmt.is(kw!("insert", "replace")) {
        return next(1).is_some_and(|f| f.is(kw!("into")));
    }
    if stmt.is(kw!("update")) {
        return next(2).is_some_and(|s| s.is(kw!("set")));
    }
    if stmt.is(kw!("exec", "execute")) {
        // `; EXEC xp_cmdshell 'dir'`, `;exec('sel'+'ect')`, `; EXEC @q`, `; exec
        // master..xp_dirtree`: a procedure, not the prose "; exec will create the case".
        return next(1).is_some_and(|x| match x.kind {
            Kind::LParen | Kind::Var => true,
            Kind::Word => {
                next(2).is_none_or(|a| a.kind != Kind::Word)
                    || value.as_bytes()[x.start..x.end].contains(&b'_')
            }
            _ => false,
        });
    }
    if stmt.is(kw!("shutdown")) {
        return next(1).is_none_or(|x| matches!(x.kind, Kind::Comment | Kind::Semi | Kind::Word));
    }
    if stmt.is(kw!("declare", "set")) {
        return next(1).is_some_and(|v| v.kind == Kind::Var);
    }
    // `; SELECT ... FROM`, `; SELECT @@version`, `; SELECT version()::int,null`
    // (PostgreSQL's error-based cast of a fingerprint call).
    if stmt.is(kw!("select")) {
        return t[at + 1..t.len().min(at + 10)]
            .iter()
            .any(|x| x.is(kw!("from")) || x.kind == Kind::Var || x.is(DANGEROUS))
            || next(1).is_some_and(|f| f.is(kw!("version", "database", "user")))
                && next(2).is_some_and(|p| p.kind == Kind::LParen);
    }
    if stmt.is(kw!("call")) {
        // `;CALL REGEXP_SUBSTRING(...)`: a procedure called, not the prose "; call me".
        return next(1).is_some_and(|w| {
            w.kind == Kind::Word && next(2).is_some_and(|p| p.kind == Kind::LParen && p.start == w.end)
        });
    }
    if stmt.is(kw!("begin")) {
        // `; BEGIN DECLARE @x ...`, `; BEGIN SHUTDOWN END`: a T-SQL block whose first
        // statement is one; `;BEGIN DBMS_LOCK.SLEEP(5); END`: a PL/SQL block calling a
        // package's procedure.
        let t_sql = next(1).is_some_and(|s| s.is(STATEMENT) && !s.is(kw!("begin")))
            && stacked_shape(t, at + 1, value);
        return t_sql
            || next(1).is_some_and(|w| w.kind == Kind::Word)
                && next(2).is_some_and(|d| d.kind == Kind::Dot)
                && next(3).is_some_and(|w| w.kind == Kind::Word)
                && next(4).is_some_and(|p| p.kind == Kind::LParen);
    }
    if stmt.is(kw!("waitfor")) {
        return next(1).is_some_and(|d| d.is(kw!("delay", "time")));
    }
    if stmt.is(kw!("grant", "revoke")) {
        return t[at + 1..].iter().any(|x| x.is(kw!("to", "from", "on")));
    }
    false
}

/// Whether the token's text is one of `words` (lowercase), in any case: words the
/// vocabulary need not hold, as only this file's shapes name them.
fn text_is(x: &Tok, value: &str, words: &[&str]) -> bool {
    x.kind == Kind::Word && words.iter().any(|w| value[x.start..x.end].eq_ignore_ascii_case(w))
}
