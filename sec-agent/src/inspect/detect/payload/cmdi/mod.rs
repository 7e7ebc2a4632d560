//! OS command injection: a value that breaks out into a shell.
//!
//! An injection starts the value with a separator or substitution (`;id`, `| cat
//! /etc/passwd`, `$(whoami)`, a newline), maybe after the quotes it breaks out of (`';id`),
//! or follows one token of data with one (`127.0.0.1; cat /etc/passwd`, `x`id``). A command
//! someone writes about is different: the whole value is a command line or a script
//! (`git switch main && git pull`, `if [ -e "$f" ]; then`), or it sits in prose or inside
//! Markdown code (`` ```bash ``, `` `ls -la` ``). So a separator counts only after data, and
//! the text before the first one decides: several words, a command, a shell keyword, an
//! assignment or a comment make the value text (see [`lead_is_text`]).
//!
//! Common English words that are also commands (`cat`, `id`, `sleep`, `curl`) only count
//! with arguments a shell would get (a path, a flag, an address, a number), so "milk; cat
//! food" is prose and "; cat /etc/passwd" is not (see [`words`]).
//!
//! Some shapes count wherever they are, since no text has them: Shellshock's function
//! definition starting a value, code that runs a command (`system('id')`), evaluation
//! probes (`$((7+7))`), reverse shells (see [`code`]); and a few command lines count as
//! whole values by themselves (`whoami`, `cat /etc/passwd`, see [`bare`]).

mod bare;
mod code;
mod markdown;
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
    /// A whole value that is a command line counts (see [`bare`]): not in parameter names,
    /// where `uname` is a name.
    pub whole: bool,
    /// The value holds a `(` and a quote, or a `{`: it may hold code (see [`code`]).
    pub code: bool,
    /// The value holds a `<` or `>`: it may redirect (a reverse shell, see [`code`]).
    pub redirect: bool,
    /// Bit `i` set: the value holds the letter `'a' + i`, in either case.
    pub letters: u32,
}

impl Hints {
    /// Every shape, wherever it can be.
    pub const ALL: Hints = Hints {
        whole: true,
        code: true,
        redirect: true,
        letters: u32::MAX,
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
    shellshock(value)
        .or_else(|| code::check(value, hints))
        .or_else(|| separated(value))
        .or_else(|| hints.whole.then(|| bare::check(value, hints.letters)).flatten())
}

/// Whether the pipeline's byte-shape prefilter should run [`check_in`] on a value without a
/// separator byte: one that starts with a Shellshock definition or may be a whole command
/// line, or may hold code that runs a command (see [`Hints`]).
#[inline]
pub(super) fn may_match_without_separator(value: &str, hints: Hints) -> bool {
    if hints.code {
        return true;
    }
    let b = value.as_bytes();
    // Most values start with a letter or digit: one look decides.
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {
            hints.whole && c.is_ascii_alphabetic() && bare::may_be_command_line(value, hints.letters)
        }
        Some(_) => {
            let data = data_start(b);
            match b.get(data) {
                Some(b'(') => shellshock_at(value).is_some(),
                Some(b'\\') if newline_escape_at(b).is_some() => true,
                Some(_) => hints.whole && bare::may_be_command_line(value, hints.letters),
                None => false,
            }
        }
        None => false,
    }
}

/// Whether a value without any byte a checker needs (letters, digits, spaces) may be a
/// whole command line (`whoami`, `sleep 5`, see [`bare`]).
#[inline]
pub(super) fn may_be_command_line(value: &str, hints: Hints) -> bool {
    bare::may_be_command_line(value, hints.letters)
}

/// Where the command after a `\n` (or `\r\n`) written out at the start of the data begins:
/// attack lists write the newline that way (`\nid|`), for a layer that unescapes it.
fn newline_escape_at(b: &[u8]) -> Option<usize> {
    let data = data_start(b);
    let rest = &b[data..];
    let len = [&b"\\n"[..], b"\\r\\n", b"\\r"]
        .iter()
        .find(|e| rest.starts_with(e))?
        .len();
    Some(data + len)
}

/// Shellshock (CVE-2014-6271): bash imports an environment variable whose value starts
/// with `() {` as a function, and runs what follows the definition. CGI puts headers and
/// parameters into the environment, so the shape matters at the start of any value; code
/// (`fn main() {`) never starts with it.
fn shellshock(value: &str) -> Option<Match> {
    let start = shellshock_at(value)?;
    Some(Match::new("cmdi:shellshock", value, start, start + 12))
}

/// Where the `() {` of [`shellshock`] starts (after blanks and quotes), if the value
/// starts with one.
fn shellshock_at(value: &str) -> Option<usize> {
    let b = value.as_bytes();
    let start = b
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\'' | b'"'))?;
    let rest = b[start..].strip_prefix(b"()")?;
    let brace = rest.iter().position(|&c| c != b' ' && c != b'\t')?;
    (rest[brace] == b'{').then_some(start)
}

/// Length of a shell separator or substitution opener at `i` (0 if none).
fn separator(b: &[u8], i: usize) -> usize {
    match b[i] {
        b';' | b'\n' | b'`' => 1,
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
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\r' | b'\'' | b'"' | b')'))
        .unwrap_or(b.len())
}

/// A command after a separator or substitution that follows data (see the module
/// documentation).
fn separated(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    let data = data_start(b);
    if let Some(at) = newline_escape_at(b)
        && let Some(end) = words::command_at(value, at, false, true)
    {
        return Some(Match::new("cmdi:command", value, data, end));
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
            (1, true, after)
        } else {
            if b[at] == b'$' && code::evaluation_probe(b, at) {
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
        let lead_end = *first.get_or_insert(at);
        if let Some(end) = words::command_at(value, at + len, substitution, true) {
            if markup_before_first || lead_is_text(&value[data..lead_end]) {
                return None; // The value starts as text: what follows is written, not injected.
            }
            let written = if at == lead_end {
                false
            } else if b[at] == b'|' && len == 1 {
                // `a|b|c`: an alternation (a regular expression, a Markdown table, a
                // list), not a pipeline, whose every element would be a command.
                is_plain_word(&value[segment..at])
            } else {
                // A newline after a line of prose or code starts another line of it.
                b[at] == b'\n' && lead_is_text(&value[line..at])
            };
            if !written {
                return Some(Match::new("cmdi:command", value, at, end));
            }
        }
        segment = at + len;
        if b[at] == b'\n' {
            line = at + 1;
        }
        i = next;
    }
    None
}

/// Whether the text before a separator is prose or shell code someone wrote, not the
/// data an injection follows: three words or more, two when one is shell syntax (a flag,
/// `$`, `[`, `=`, a quote) or the first is a command ("cd /tmp", "make -j4"); one word
/// that is a command or keyword (`fi`, `echo`), a comment or shebang (`#`), or a variable
/// assignment (`dir=`, `X="`), which is how a command substitution sits in a script.
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
        syntax |= matches!(c, b'$' | b'[' | b'=' | b'"' | b'\'');
    }
    let first = &t[..first_end];
    match words {
        0 => false, // The value starts with the separator.
        1 => first.starts_with('#') || is_assignment(first) || words::is_shell_word(first),
        _ => syntax || first.starts_with('#') || words::is_shell_word(first),
    }
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
