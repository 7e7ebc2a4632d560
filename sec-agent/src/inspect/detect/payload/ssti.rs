//! Server-side template injection: an expression in a template engine's delimiters that
//! evaluates or reaches the runtime, in the shapes of James Kettle's "Server-Side Template
//! Injection" (PortSwigger, 2015) and the engines' own syntax:
//! - Jinja2/Twig/Nunjucks/Handlebars `{{ }}` and `{% %}`, Freemarker/Velocity/EL/Thymeleaf
//!   `${ }`, `#{ }`, `*{ }`, `@{ }`, `[[ ]]`, ERB/EJS/JSP `<%= %>`, Freemarker `<#assign`,
//!   Velocity `#set(`, Perl's `@{[ ]}`;
//! - inside them, arithmetic on literals (`7*7`, the detection probe), dunder attributes
//!   (`__class__`, `__globals__`), the objects engines expose (`config`, `self`,
//!   `request`, `lipsum`, `_self.env`), class loading (`T(java.lang.Runtime)`,
//!   `getClass()`, `forName`) and process calls (`popen`, `exec`, `system`,
//!   `child_process`).
//!
//! A placeholder that only names a variable (`{{name}}`, `${price}`, `#{id}`) is what every
//! templated text holds, and is no finding.

use super::{Match, shape::find_bytes};

/// Openers of an expression, with their closers; the expression is what lies between.
const DELIMITERS: &[(&str, &str)] = &[
    ("{{", "}}"),
    ("{%", "%}"),
    ("${", "}"),
    ("#{", "}"),
    ("*{", "}"),
    ("@{", "}"),
    ("[[", "]]"),
    ("<%", "%>"),
];

/// Longest expression inspected, in bytes.
const MAX_EXPR: usize = 512;

/// Names whose presence in an expression means it reaches beyond a variable: objects the
/// engines expose, reflection, process access. Matched as whole identifiers, ignoring case.
/// Names code lines use every day (`config`, `self`, `process`, `file`) are left out: a
/// JavaScript template literal `${config.port}` or a Ruby `#{self.name}` is no attack.
const REACHING: &[&str] = &[
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "url_for",
    "get_flashed_messages",
    "getattr",
    "import",
    "popen",
    "subprocess",
    "system",
    "exec",
    "eval",
    "spawn",
    "child_process",
    "require",
    "mainmodule",
    "runtime",
    "getruntime",
    "getclass",
    "forname",
    "classloader",
    "processbuilder",
    "freemarker",
    "execute",
    "objectconstructor",
    "registerundefinedfiltercallback",
    "getfilter",
    "_self",
    "constructor",
    "passthru",
    "shell_exec",
    "file_get_contents",
    "smarty",
    "applicationscope",
    "facescontext",
];

/// Whole expressions that dump the engine's context: `{{config}}` (Flask), `{{self}}`.
const DUMPS: &[&str] = &["config", "self", "request", "settings", "_self"];

/// Statements of `{% %}` that run code with any argument; others (`if`, `for`, `set`,
/// `include`) are a finding only with a reaching name or a literal condition, since
/// documentation about templates writes them.
const STATEMENTS: &[&str] = &["import", "debug", "macro", "exec", "evaluate"];

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    for &(open, close) in DELIMITERS {
        let mut from = 0;
        while let Some(p) = find_bytes(&b[from..], open.as_bytes()) {
            let start = from + p;
            let body_start = start + open.len();
            let rest = &b[body_start..b.len().min(body_start + MAX_EXPR)];
            let body_len = find_bytes(rest, close.as_bytes()).unwrap_or(rest.len());
            let body = &rest[..body_len];
            let closed = body_len < rest.len();
            if let Some(rule) = judge(open, body, closed) {
                let end = body_start + body_len + if closed { close.len() } else { 0 };
                return Some(Match::new(rule, value, start, end));
            }
            from = body_start;
        }
    }
    // Freemarker `<#assign ex="freemarker.template.utility.Execute"?new()>`, Velocity
    // `#set($x = ...)`.
    for lead in ["<#", "#set(", "#set ("] {
        if let Some(p) = find_bytes(b, lead.as_bytes()) {
            let tail = &b[p + lead.len()..b.len().min(p + lead.len() + MAX_EXPR)];
            if reaches(tail) || dunder(tail) {
                return Some(Match::new("ssti:directive", value, p, p + lead.len()));
            }
        }
    }
    None
}

fn judge(open: &str, body: &[u8], closed: bool) -> Option<&'static str> {
    if body.is_empty() {
        return None;
    }
    if open == "{%" {
        let word = first_word(body);
        let statement = word.is_some_and(|w| is_one_of(w, STATEMENTS));
        // `{% if True %}49{% endif %}`, `{% if 1 %}`: a condition no template tests.
        let literal_if = word.is_some_and(|w| w.eq_ignore_ascii_case(b"if"))
            && identifiers(body)
                .nth(1)
                .is_some_and(|c| is_one_of(c, &["true", "1", "false", "0"]));
        return (closed && (statement || literal_if) || reaches(body) || dunder(body))
            .then_some("ssti:statement");
    }
    if open == "<%" {
        // ERB/JSP: `<%= expr %>` or a scriptlet; both run code of the page's language.
        let expr = body.strip_prefix(b"=").or_else(|| body.strip_prefix(b"-")).unwrap_or(body);
        return (closed && (arithmetic(expr) || reaches(expr) || expr.contains(&b'`')))
            .then_some("ssti:expression");
    }
    if open == "@{" && body.first() == Some(&b'[') {
        return Some("ssti:expression"); // Perl `@{[ code ]}` interpolation.
    }
    if arithmetic(body) && closed {
        return Some("ssti:probe");
    }
    let trimmed = body.trim_ascii();
    if closed
        && (open == "{{" || open == "${")
        && (is_one_of(trimmed, DUMPS)
            || trimmed.starts_with(b"config.items")
            || trimmed.starts_with(b"config.from_"))
    {
        return Some("ssti:probe");
    }
    if dunder(body) || has_call_or_member(body) {
        return Some("ssti:expression");
    }
    None
}

/// Whether the expression computes with literals: `7*7`, `7*'7'`, `1+1`, `49/7`.
fn arithmetic(body: &[u8]) -> bool {
    let t: Vec<u8> = body
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'\'' && *c != b'"')
        .collect();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_digit() {
            let mut j = i;
            while j < t.len() && t[j].is_ascii_digit() {
                j += 1;
            }
            let starts_number =
                i == 0 || !t[i - 1].is_ascii_alphanumeric() && t[i - 1] != b'_' && t[i - 1] != b'.';
            if starts_number
                && let (Some(op), Some(next)) = (t.get(j), t.get(j + 1))
                && matches!(op, b'*' | b'+' | b'-' | b'/' | b'%')
                && next.is_ascii_digit()
            {
                return true;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

/// Python's special attributes (`__class__`, `__mro__`, `__globals__`): no template of
/// data names them.
fn dunder(body: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = find_bytes(&body[from..], b"__") {
        let at = from + p + 2;
        let word = body[at..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if word > 1 && body[at + word..].starts_with(b"__") {
            return true;
        }
        from = at;
    }
    false
}

/// Whether an identifier of the expression is one of [`REACHING`].
fn reaches(body: &[u8]) -> bool {
    identifiers(body).any(|w| is_one_of(w, REACHING))
}

/// Whether a reaching name is used: called, indexed or a member taken of it
/// (`popen('id')`, `lipsum.__globals__`), or reached as a member (`x.popen`). A Rust
/// macro body (`{{ calculate! { eval $e } }}`) names `eval` without using it.
fn has_call_or_member(body: &[u8]) -> bool {
    let mut at = 0;
    for word in body.split(|c| !(c.is_ascii_alphanumeric() || *c == b'_')) {
        let start = at;
        at += word.len() + 1;
        if word.is_empty() || !is_one_of(word, REACHING) {
            continue;
        }
        let after = body.get(start + word.len()).copied();
        let before = start.checked_sub(1).map(|i| body[i]);
        if matches!(after, Some(b'(' | b'.' | b'[' | b'|' | b'\'' | b'"')) || before == Some(b'.') {
            return true;
        }
    }
    false
}

fn identifiers(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .filter(|w| !w.is_empty())
}

fn first_word(body: &[u8]) -> Option<&[u8]> {
    identifiers(body.trim_ascii_start().strip_prefix(b"-").unwrap_or(body.trim_ascii_start()))
        .next()
}

fn is_one_of(word: &[u8], list: &[&str]) -> bool {
    list.iter().any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_expressions_match() {
        for a in [
            "{{7*7}}",
            "{{7*'7'}}",
            "${7*7}",
            "#{7*7}",
            "*{7*7}",
            "<%= 7*7 %>",
            "[[${7*7}]]",
            "{{config.items()}}",
            "{{''.__class__.__mro__[1].__subclasses__()}}",
            "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{lipsum.__globals__['os'].popen('id').read()}}",
            "{% import os %}{{ os.system('id') }}",
            "{% if True %}49{% endif %}",
            "${T(java.lang.Runtime).getRuntime().exec('id')}",
            "#{require.main.constructor._load('child_process').spawn('id')}",
            "<%= system('id') %>",
            "<%= `id` %>",
            "<#assign ex=\"freemarker.template.utility.Execute\"?new()> ${ex(\"id\")}",
            "#set($x = $class.inspect(\"java.lang.Runtime\").type.getRuntime().exec(\"id\"))",
            "{{_self.env.registerUndefinedFilterCallback(\"exec\")}}",
            "@{[system 'whoami']}",
            "${request.getClass()}",
            "{{config}}",
            "{{constructor.constructor('alert(1)')()}}",
        ] {
            assert!(check(a).is_some(), "{a}");
        }
    }

    #[test]
    fn placeholders_and_prose_do_not() {
        for b in [
            "Hello {{name}}",
            "macro_rules! m {\n    (eval $e:expr) => {{\n        calculate! { eval $e }\n    }};\n}",
            "Dear {{ user.first_name }},",
            "Total: ${price}",
            "echo ${HOME}/bin",
            "#{id}",
            "{{#each items}}{{this}}{{/each}}",
            "Use {% raw %} blocks, {% if user %} tests and {% include 'x.html' %}",
            "console.log(`${config.port} ${process.env.HOME}`)",
            "puts \"Hello #{self.name} #{File.basename(path)}\"",
            "<%@ page language=\"java\" %>",
            "2024-01-01 {approx}",
            "${a + b}",
            "[[1, 2], [3, 4]]",
            "{{ }}",
        ] {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
