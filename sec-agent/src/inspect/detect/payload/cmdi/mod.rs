//! OS command injection: a value that breaks out into a shell.
//!
//! An injection starts the value with a separator or substitution (`;id`, `| cat
//! /etc/passwd`, `$(whoami)`, a newline or carriage return, the `<` and `^` of attack
//! templates), maybe after the quotes it breaks out of (`';id`), or follows one token of
//! data with one (`127.0.0.1; cat /etc/passwd`, `x`id``). A command
//! someone writes about is different: the whole value is a command line or a script
//! (`git switch main && git pull`, `if [ -e "$f" ]; then`), or it sits in prose or inside
//! Markdown code (`` ```bash ``, `` `ls -la` ``). So a separator counts only after data, and
//! the text before the first one decides: several words, a command, a shell keyword, an
//! assignment or a comment make the value text (see `lead_is_text`).
//!
//! Common English words that are also commands (`cat`, `id`, `sleep`, `curl`) only count
//! with arguments a shell would get (a path, a flag, an address, a number), so "milk; cat
//! food" is prose and "; cat /etc/passwd" is not (the `words` and `vocabulary` modules).
//!
//! Some shapes count wherever they are, since no text has them: Shellshock's function
//! definition starting a value, code that runs a command (`system('id')`), evaluation
//! probes (`$((7+7))`), reverse shells (the `code` module), a command stored in a variable
//! and run (`CMD=$'id';$CMD`); and a few command lines count as whole values by themselves
//! (`whoami`, `cat /etc/passwd`, the `bare` module).
//!
//! Known gaps, left for text's sake: a snippet that starts with a separator (a continued
//! line, `| sed ...`) reads as an injection, and an injection after several words of data
//! (`red shoes and socks; id`) or inside Markdown code (`` ```;id``` ``) reads as text.

mod bare;
mod code;
mod markdown;
mod vocabulary;
mod words;

#[cfg(test)]
mod tests;

use super::{Match, shell_byte};

/// A server-side include directive (`<!--#exec cmd="..."-->`, Apache mod_include, IIS,
/// nginx's SSI module): a page that echoes the value back runs it. No form value holds one
/// for any other reason.
pub(super) fn server_side_include(value: &str) -> Option<Match> {
    const DIRECTIVES: [&str; 7] = [
        "exec", "include", "echo", "config", "printenv", "fsize", "flastmod",
    ];
    let at = super::find(value, "<!--#")?;
    let rest = value.as_bytes().get(at + 5..)?;
    DIRECTIVES
        .iter()
        .any(|d| rest.len() >= d.len() && rest[..d.len()].eq_ignore_ascii_case(d.as_bytes()))
        .then(|| Match::new("cmdi:ssi", value, at, (at + 40).min(value.len())))
}

/// What the caller knows of a value, so that each shape is only looked for where it can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hints {
    /// A whole value that is a command line counts (the `bare` module): not in parameter names,
    /// where `uname` is a name.
    pub whole: bool,
    /// The value is a parameter name, maybe split off by a `;` (`x=1;cat /etc/passwd`
    /// arrives as a pair named `cat /etc/passwd`): a command that starts it, with an
    /// argument, counts as one after a separator.
    pub name: bool,
    /// The value holds a `(` and a quote, or a `{`: it may hold code (the `code` module).
    pub code: bool,
    /// The value holds a `<` or `>`: it may redirect (a reverse shell).
    pub redirect: bool,
    /// The value starts like a whole command line (or, in a name, like a command), where
    /// those count.
    pub command_line: bool,
}

impl Hints {
    /// Every shape, wherever it can be.
    pub const ALL: Hints = Hints {
        whole: true,
        name: false,
        code: true,
        redirect: true,
        command_line: true,
    };
}

/// Checks one decoded value, for every shape.
pub fn check(value: &str) -> Option<Match> {
    check_in(value, Hints::ALL)
}

/// Checks one decoded value, for the shapes `hints` leave possible.
pub fn check_in(value: &str, hints: Hints) -> Option<Match> {
    if value.len() < 2 {
        return None;
    }
    let data = data_start(value.as_bytes());
    shellshock(value, data)
        .or_else(|| code::check(value, hints))
        .or_else(|| {
            (hints.whole && hints.code)
                .then(|| words::windows_loop_runs_shell(value, data))
                .flatten()
                .map(|end| Match::new("cmdi:command", value, data, end))
        })
        .or_else(|| separated(value, data))
        .or_else(|| bare::check(value, hints.whole && hints.command_line))
        .or_else(|| {
            (hints.name && hints.command_line)
                .then(|| words::command_at(value, data, false, true))
                .flatten()
                .map(|end| Match::new("cmdi:command", value, data, end))
        })
}

/// Whether a parameter name (see [`Hints::name`]) that holds a space starts with a command
/// (`cat /etc/passwd`): names have no spaces otherwise.
pub(super) fn may_be_split_command(name: &str) -> bool {
    words::word_props(name.as_bytes()).1.kind().is_some()
}

/// Whether the pipeline's byte-shape prefilter should run [`check_in`] on a value without a
/// separator byte or code (see [`Hints`]): one that starts with a Shellshock definition or a
/// written-out newline or, where `whole` command lines count, may be one (`letters`: see
/// [`Hints`]).
pub(super) fn may_match_without_separator(value: &str, whole: bool, letters: u32) -> bool {
    let b = value.as_bytes();
    // Most values start with a letter or digit: one look decides.
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {
            whole && c.is_ascii_alphabetic() && bare::may_be_command_line(value, letters)
        }
        Some(_) => {
            let data = data_start(b);
            match b.get(data) {
                Some(b'(') => shellshock(value, data).is_some(),
                Some(b'\\') if newline_escape_at(b, data).is_some() => true,
                Some(b'<' | b'^') => redirect_start(value, data).is_some(),
                Some(_) => whole && bare::may_be_command_line(value, letters),
                None => false,
            }
        }
        None => false,
    }
}

/// Whether `value`, which starts with a letter, may be a whole command line (`whoami`,
/// `sleep 5`, see [`bare`]): `letters` are its letters (bit `i` for `'a' + i`), most words
/// are ruled out by them alone.
#[inline]
pub(super) fn may_be_command_line(value: &str, letters: u32) -> bool {
    value
        .as_bytes()
        .first()
        .is_some_and(|&c| bare::letters_fit(c, letters))
        && bare::may_be_command_line(value, letters)
}

/// Where the command after a `\n` (or `\r\n`) written out at the start of the data (at
/// `data`) begins: attack lists write the newline that way (`\nid|`), for a layer that
/// unescapes it.
fn newline_escape_at(b: &[u8], data: usize) -> Option<usize> {
    let rest = &b[data..];
    if rest.first() != Some(&b'\\') {
        return None;
    }
    let len = [&b"\\n"[..], b"\\r\\n", b"\\r"]
        .iter()
        .find(|e| rest.starts_with(e))?
        .len();
    Some(data + len)
}

/// Shellshock (CVE-2014-6271): bash imports an environment variable whose value starts
/// with `() {` as a function, and runs what follows the definition. CGI puts headers and
/// parameters into the environment, so the shape matters at the start of any value (at
/// `data`, after blanks and quotes); code (`fn main() {`) never starts with it.
fn shellshock(value: &str, data: usize) -> Option<Match> {
    let rest = value.as_bytes()[data..].strip_prefix(b"()")?;
    let brace = rest.iter().position(|&c| c != b' ' && c != b'\t')?;
    (rest[brace] == b'{').then(|| Match::new("cmdi:shellshock", value, data, data + 12))
}

/// Length of a shell separator or substitution opener at `i` (0 if none).
fn separator(b: &[u8], i: usize) -> usize {
    match b[i] {
        // A carriage return ends a command line for cmd.exe and for the scripts that split
        // lines on it; it stands for a newline in attack lists (`%0d`). 0x1A (SUB, `%1a`),
        // the DOS end-of-file byte, is one of commix's separators: no text holds it.
        b';' | b'\n' | b'\r' | b'`' | 0x1a => 1,
        b'|' | b'&' => {
            if b.get(i + 1) == Some(&b[i]) {
                2
            } else {
                1
            }
        }
        b'$' if b.get(i + 1) == Some(&b'(') => 2,
        _ => 0,
    }
}

/// Where data starts: after the blanks and the quotes and parenthesis an injection closes
/// first (`'`, `"`, `)`).
fn data_start(b: &[u8]) -> usize {
    b.iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\'' | b'"' | b')'))
        .unwrap_or(b.len())
}

/// The end of a command right after a `<` or `^` that starts the data (at `data`):
/// stdin redirected from nothing and cmd.exe's escape character, which attack templates
/// put before a command (`<id`, `^whoami`); not a tag (`<dir>`, `<b>`).
fn redirect_start(value: &str, data: usize) -> Option<usize> {
    let b = value.as_bytes();
    if !matches!(b.get(data), Some(b'<' | b'^')) {
        return None;
    }
    let word = words::word_end(&b[data + 1..]);
    if word == 0 || matches!(b.get(data + 1 + word), Some(b'>' | b'=')) {
        return None;
    }
    words::command_at(value, data + 1, false, true)
}

/// A command after a separator or substitution that follows data (see the module
/// documentation).
fn separated(value: &str, data: usize) -> Option<Match> {
    let b = value.as_bytes();
    if let Some(end) = newline_escape_at(b, data)
        .and_then(|at| words::command_at(value, at, false, true))
        .or_else(|| redirect_start(value, data))
    {
        return Some(Match::new("cmdi:command", value, data, end));
    }
    if b.get(data) == Some(&b'|') && markdown::table_row(b) {
        return None;
    }
    // Where the text since the previous separator and the current line start, and the
    // first separator; Markdown code seen before it.
    let (mut segment, mut line) = (data, data);
    let (mut first, mut markup_before_first) = (None, false);
    let mut i = 0;
    // Separators are rare: jump from one byte that may start one to the next.
    while let Some(p) = b[i..].iter().position(|&c| shell_byte(c)) {
        let at = i + p;
        let (len, substitution, next) = if b[at] == b'`' {
            let run = markdown::backtick_run(b, at);
            if run > 1 {
                markup_before_first |= first.is_none();
                i = markdown::skip_code(b, at, run);
                continue;
            }
            let close = markdown::closing_backtick(b, at);
            let after = close.map_or(at + 1, |c| c + 1);
            // Inline code in prose ("use `ls -la` here"), or starting a value that goes on
            // as prose ("`npm install` fails"); a substitution otherwise (`` `id` ``,
            // `` x`id` ``, `` =`id` ``).
            let prose = if at == data {
                markdown::prose_follows(b, close)
            } else {
                b[at - 1].is_ascii_whitespace()
            };
            if prose {
                markup_before_first |= first.is_none();
                i = after;
                continue;
            }
            // PHP's backtick operator runs its content: `` `$_GET[0]` `` is a web shell.
            if code::request_variable(&b[at + 1..]) {
                return Some(Match::new("cmdi:code_call", value, at, at + 16));
            }
            if code::echo_marker(b, at, 1) {
                return Some(Match::new("cmdi:evaluation", value, at, at + 24));
            }
            (1, true, after)
        } else {
            if b[at] == b'$' && (code::evaluation_probe(b, at) || code::echo_marker(b, at, 2)) {
                return Some(Match::new("cmdi:evaluation", value, at, at + 24));
            }
            match separator(b, at) {
                0 => {
                    i = at + 1;
                    continue;
                }
                n => (n, n == 2 && b[at] == b'$', at + n),
            }
        };
        // Where the first separator is: the text before it decides (see the module
        // documentation), looked at only once a command follows a separator, since most
        // separators (`;` in a User-Agent, `&` in prose) have none after them.
        // A value that starts with a separator (after the quotes it breaks out of) has
        // left its data behind: a weak command counts with any argument (`|echo x`).
        let leading = first.is_none() && at == data;
        let lead_end = *first.get_or_insert(at);
        // A command the value stored in a variable and now runs (`CMD=$'id';$CMD`) is
        // code, whatever came first.
        let command = words::skip_blanks(&value[at + len..]);
        if command.starts_with('$')
            && let Some(end) = words::assigned_command(value, value.len() - command.len())
        {
            return Some(Match::new("cmdi:command", value, at, end));
        }
        // Lines of paths (a file list) are not commands: after a newline a program counts
        // by its name (`/usr/bin/id`), not by its directory.
        let any_path = !newline(b[at]);
        if let Some(end) = words::command_at(value, at + len, substitution || leading, any_path) {
            let lead = &value[data..lead_end];
            // A `case` pattern (`purge)`, `*)`) on a line of its own starts a script's branch.
            let case_label = newline(b[lead_end]) && lead.len() > 1 && lead.trim_end().ends_with(')');
            if markup_before_first || case_label || lead_is_text(lead) {
                return None; // The value starts as text: what follows is written, not injected.
            }
            let written = if b[at] == b'|' && len == 1 {
                // `a|b|c`: an alternation (a regular expression, a Markdown table, a
                // list), not a pipeline, whose every element would be a command.
                at != lead_end && is_plain_word(&value[segment..at])
                    || alternative_follows(b, at + len)
            } else {
                // A newline after a line of prose or code starts another line of it, and
                // one after a `case` pattern a branch of a script.
                newline(b[at])
                    && (lead_is_text(&value[line..at])
                        || value[line..at].trim_end().ends_with(')') && value[line..at].len() > 1)
            };
            if !written {
                return Some(Match::new("cmdi:command", value, at, end));
            }
        }
        segment = at + len;
        if newline(b[at]) {
            line = at + 1;
        }
        i = next;
    }
    None
}

fn newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Whether the text before a separator is prose or shell code someone wrote, not the
/// data an injection follows: three words or more, two when one is shell syntax (a flag,
/// `$`, `[`, `=`, a quote, a parenthesis or brace: `f() {`) or the first is a command
/// ("cd /tmp", "make -j4"); one word
/// that is a command or keyword (`fi`, `echo`), a comment or shebang (`#`), a long option
/// (`--quiet`, a continued command line), or a variable assignment (`dir=`, `X="`), which
/// is how a command substitution sits in a script.
fn lead_is_text(lead: &str) -> bool {
    let t = lead.trim_matches([' ', '\t', '\r']);
    let b = t.as_bytes();
    // One pass: count words (up to three) and note shell syntax.
    let (mut words, mut first_end, mut syntax) = (0, b.len(), false);
    for (i, &c) in b.iter().enumerate() {
        if c == b' ' || c == b'\t' {
            if words == 1 && first_end == b.len() {
                first_end = i;
            }
            continue;
        }
        if i == 0 || matches!(b[i - 1], b' ' | b'\t') {
            words += 1;
            if words == 3 {
                return true;
            }
            syntax |= c == b'-';
        }
        syntax |= matches!(c, b'$' | b'[' | b'=' | b'"' | b'\'' | b'(' | b')' | b'{' | b'}');
    }
    let first = &t[..first_end];
    match words {
        0 => false, // The value starts with the separator.
        // `test` alone is no command (the builtin needs an expression): it is the value a
        // tool or a tester types into a field before what it injects (`test;id`).
        1 => {
            first.starts_with('#')
                || first.starts_with("--")
                || is_assignment(first)
                || words::is_shell_word(first)
                    && !first.trim_end_matches(['\'', '"']).eq_ignore_ascii_case("test")
        }
        _ => syntax || first.starts_with('#') || words::is_shell_word(first),
    }
}

/// Whether the command word at `from` (after blanks) is followed by `|` and another
/// [`is_plain_word`]: `Ln|Log|LV_Add` is an alternation, `|id|` and `|cat x|sh` are not.
fn alternative_follows(b: &[u8], from: usize) -> bool {
    let mut i = from;
    while b.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
        i += 1;
    }
    i += words::word_end(&b[i.min(b.len())..]);
    if b.get(i) != Some(&b'|') || b.get(i + 1) == Some(&b'|') {
        return false;
    }
    let rest = &b[i + 1..];
    let end = rest.iter().position(|&c| c == b'|').unwrap_or(rest.len());
    // The bytes up to the next `|` are ASCII if they are a plain word.
    std::str::from_utf8(&rest[..end]).is_ok_and(is_plain_word)
}

/// One word of letters, digits and `_` that is not a command: what an alternation lists.
fn is_plain_word(segment: &str) -> bool {
    let w = segment.trim_matches([' ', '\t']);
    !w.is_empty()
        && w.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && !words::is_shell_word(w)
}

/// `NAME=` or `NAME="` / `NAME='`: a shell variable assignment, as a script writes
/// `dir=$(pwd)` or ``dir=`pwd` ``.
fn is_assignment(word: &str) -> bool {
    let w = word.trim_end_matches(['"', '\'']);
    w.strip_suffix('=').is_some_and(|name| {
        name.bytes().next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
    })
}
