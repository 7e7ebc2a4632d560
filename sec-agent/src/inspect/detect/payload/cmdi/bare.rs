//! A whole value that is one command line, without a separator: what reaches a shell when
//! the application runs the value itself (an `eval`, a "run command" field, a script that
//! builds `sh -c` from it). Most command lines someone writes about are not attacks, so only
//! the commands that reconnoitre, fetch and run code, or open a shell count, each with the
//! arguments that make it one: `whoami`, `uname -a`, `ipconfig /all`, `powershell -enc
//! ...`, `cat /etc/passwd`, `sleep 5`, `nc -lvp 4444 -e /bin/sh`, `perl -e '...'`,
//! `net user x /add`. A command line among other text is prose or a snippet.

use super::{
    super::{Match, traversal},
    vocabulary::{self, LONGEST_COMMAND},
    words,
};

/// What a command needs to count as a whole value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bare {
    /// Reconnaissance (`whoami`, `uname`, `ipconfig`, `netstat`, `systeminfo`, PHP's
    /// `phpinfo()`): alone or with flags (`-a`, `/all`).
    Recon,
    /// Programs that download, decode or run code (PowerShell and its cmdlets, the Windows
    /// script hosts and LOLBAS programs, `%COMSPEC%`): with an argument a shell would pass
    /// (see [`words::argument_follows`]).
    Launcher,
    /// Commands that print a whole file: with a sensitive one (see [`sensitive`]).
    Reader,
    /// Interpreters: with the flag that runs code given on the command line (`perl -e`).
    Interpreter,
    /// `sleep N`, `timeout /t N`: the time-based probe.
    Sleep,
    /// netcat listening or running a program (`-l`, `-e`): a shell on a port.
    Netcat,
    /// `dir` of a drive or a variable (`dir C:\`), `ls` with flags of an absolute path.
    Listing,
    /// Windows account, registry and shell commands with their subcommands (`net user`,
    /// `reg add`, `cmd /c`).
    Windows,
}

/// The commands of each [`Bare`] class (looked up through [`vocabulary::lookup`]).
pub(super) const CLASSES: [(Bare, &[&str]); 8] = [
    (
        Bare::Recon,
        &[
            "whoami", "uname", "ifconfig", "ipconfig", "netstat", "systeminfo", "sysinfo",
            "tasklist", "phpinfo",
        ],
    ),
    (
        Bare::Launcher,
        &[
            "powershell", "pwsh", "certutil", "bitsadmin", "wmic", "netsh", "%comspec%", "iex",
            "iwr", "irm", "invoke-expression", "invoke-webrequest", "invoke-restmethod",
            "start-process", "mshta", "rundll32", "regsvr32", "cscript", "wscript",
        ],
    ),
    // Not `head`, `tail` or `less`: people read logs with them and say so.
    (Bare::Reader, &["cat", "type", "more"]),
    (
        Bare::Interpreter,
        &["perl", "python", "python3", "ruby", "php", "node"],
    ),
    (Bare::Sleep, &["sleep", "timeout"]),
    (Bare::Netcat, &["nc", "ncat", "netcat"]),
    (Bare::Listing, &["dir", "ls"]),
    (Bare::Windows, &["net", "reg", "cmd"]),
];

/// The first command word of `b` (a value trimmed of [`junk`]) and its class;
/// `{cat,...}` gives `cat`.
fn first_command<'b>(b: &[u8], buf: &'b mut [u8; LONGEST_COMMAND]) -> Option<(&'b str, Bare)> {
    let word = match b.first()? {
        b'{' => &b[1..b.iter().position(|&c| c == b',')?],
        c if c.is_ascii_alphabetic() || matches!(c, b'%' | b'/' | b'\\') => &b[..words::word_end(b)],
        _ => return None,
    };
    // Longer than every command and path prefix: not one (and not worth copying).
    if word.len() > 2 * LONGEST_COMMAND {
        return None;
    }
    let word = words::command_word(word, buf);
    let class = vocabulary::lookup(word).bare_class()?;
    Some((word, CLASSES[class].0))
}

/// Whether `value` may be a whole command line (the cheap part of [`check`], for the
/// prefilter): its first word is a command of one of the [`Bare`] classes. Most values
/// start with a plain word, looked up as it is; the others are trimmed and normalised.
pub(super) fn may_be_command_line(value: &str, letters: u32) -> bool {
    let b = value.as_bytes();
    if b.len() > MAX_LEN {
        return false;
    }
    let start = b.iter().position(|&c| !junk(c)).unwrap_or(b.len());
    match b.get(start) {
        Some(&c) if c.is_ascii_alphabetic() => {
            letters_fit(c, letters)
                && match words::scan_word(&b[start..]) {
                    (_, Some(props)) => props.bare_class().is_some(),
                    (_, None) => slow_first_command(value),
                }
        }
        Some(b'{' | b'%' | b'/' | b'\\') => slow_first_command(value),
        _ => false,
    }
}

/// Whether the value (whose letters are `letters`, bit `i` for `'a' + i`) holds every
/// letter of some command that starts with the ASCII letter `first`: a test on the
/// prefilter's bits that rules out most words (`shoes`, `price`) before reading any byte.
#[inline]
pub(super) fn letters_fit(first: u8, letters: u32) -> bool {
    BY_FIRST_LETTER[usize::from((first | 0x20).wrapping_sub(b'a')) % 26]
        .iter()
        .take_while(|&&m| m != 0)
        .any(|&m| letters & m == m)
}

/// For each letter, the letters (bit `i`: `'a' + i`) of each [`CLASSES`] command that
/// starts with it, 0 for unused slots: a value can only start with a command whose every
/// letter it holds, which the caller's prefilter knows already.
static BY_FIRST_LETTER: [[u32; 8]; 26] = {
    let mut t = [[0u32; 8]; 26];
    let mut c = 0;
    while c < CLASSES.len() {
        let words = CLASSES[c].1;
        let mut w = 0;
        while w < words.len() {
            let b = words[w].as_bytes();
            if b[0].is_ascii_lowercase() {
                let mut mask = 0u32;
                let mut i = 0;
                while i < b.len() {
                    if b[i].is_ascii_lowercase() {
                        mask |= 1 << (b[i] - b'a');
                    }
                    i += 1;
                }
                let row = &mut t[(b[0] - b'a') as usize];
                let mut k = 0;
                while row[k] != 0 {
                    k += 1; // More than 8 commands to a letter fails the build here.
                }
                row[k] = mask;
            }
            w += 1;
        }
        c += 1;
    }
    t
};

fn slow_first_command(value: &str) -> bool {
    let mut buf = [0; LONGEST_COMMAND];
    first_command(trim(value).as_bytes(), &mut buf).is_some()
}

/// Bytes an attack list leaves around a command line: quotes it breaks out of, blanks,
/// and separators with nothing after them (`nc -lvp 4444 -e /bin/sh &`).
fn junk(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b'\'' | b'"' | b';' | b'|' | b'&'
    )
}

/// Longest value looked at: a command line, not a document.
const MAX_LEN: usize = 160;

/// `value` without [`junk`] and the `\n` escapes around it.
fn trim(value: &str) -> &str {
    strip_newline_escapes(trim_junk(value))
}

/// `s` without [`junk`] at either end.
fn trim_junk(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !junk(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !junk(c)).map_or(start, |e| e + 1);
    // Junk is ASCII: both ends are character boundaries.
    &s[start..end.max(start)]
}

/// The value as one command line, if it is one of the [`Bare`] shapes (`may_be`: what
/// [`may_be_command_line`] said of it).
pub(super) fn check(value: &str, may_be: bool) -> Option<Match> {
    if !may_be || value.len() > MAX_LEN {
        return None;
    }
    let line = trim(value);
    let b = line.as_bytes();
    let mut buf = [0; LONGEST_COMMAND];
    let (word, class) = first_command(b, &mut buf)?;
    if b.iter().any(|&c| matches!(c, b';' | b'|' | b'&' | b'\n' | b'`')) {
        return None; // Separators: see `separated`.
    }
    let args = match b[0] {
        b'{' if b.last() == Some(&b'}') => {
            let comma = b.iter().position(|&c| c == b',')?;
            &line[comma + 1..line.len() - 1]
        }
        b'{' => return None,
        _ => &line[words::word_end(b)..],
    };
    let mut tokens = args.split([' ', '\t', ',']).filter(|t| !t.is_empty());
    let flag = |t: &str| t.len() > 1 && (t.starts_with('-') || t.starts_with('/'));
    let matched = match class {
        // `uname` is a user name too, and `phpinfo` only runs as a call.
        Bare::Recon => match args.trim() {
            "" => !matches!(word, "uname" | "phpinfo"),
            "()" | "();" => word == "phpinfo",
            _ => tokens.all(flag),
        },
        Bare::Launcher => !args.trim().is_empty() && words::argument_follows(word, args, false),
        Bare::Reader => tokens
            .find(|t| !t.starts_with('-'))
            .is_some_and(|file| sensitive(file) && tokens.next().is_none()),
        Bare::Interpreter => {
            matches!(tokens.next(), Some("-e" | "-r" | "-c" | "-E")) && tokens.next().is_some()
        }
        Bare::Sleep if word == "timeout" => {
            tokens.next().is_some_and(|t| t.eq_ignore_ascii_case("/t")) && single_number(&mut tokens)
        }
        Bare::Sleep => single_number(&mut tokens),
        Bare::Netcat => tokens.any(|t| {
            t == "-e" || t == "-c" || t.starts_with('-') && t.contains('l') && t.contains('p')
        }),
        Bare::Listing if word == "dir" => tokens.next().is_some_and(|t| {
            let t = t.as_bytes();
            t.first() == Some(&b'%') || t.len() > 2 && t[0].is_ascii_alphabetic() && t[1] == b':'
        }),
        Bare::Listing => {
            let mut any_flag = false;
            let path = tokens.find(|t| {
                any_flag |= t.starts_with('-');
                !t.starts_with('-')
            });
            any_flag && path.is_some_and(|p| p.starts_with('/')) && tokens.next().is_none()
        }
        Bare::Windows if word == "cmd" => tokens
            .next()
            .is_some_and(|t| t.eq_ignore_ascii_case("/c") || t.eq_ignore_ascii_case("/k")),
        Bare::Windows => words::argument_follows(word, args, false),
    };
    matched.then(|| Match::new("cmdi:command_line", value, 0, value.len()))
}

/// `line` without the `\n` and `\r` escapes attack lists write around a command
/// (`\n/bin/ls -al\n`).
fn strip_newline_escapes(line: &str) -> &str {
    let mut l = line;
    loop {
        let t = l
            .strip_prefix("\\n")
            .or_else(|| l.strip_prefix("\\r"))
            .or_else(|| l.strip_suffix("\\n"))
            .or_else(|| l.strip_suffix("\\r"))
            .unwrap_or(l);
        let t = trim_junk(t);
        if t.len() == l.len() {
            return l;
        }
        l = t;
    }
}

/// One number of seconds and nothing after it.
fn single_number<'a>(tokens: &mut impl Iterator<Item = &'a str>) -> bool {
    tokens.next().is_some_and(|t| t.len() <= 6 && t.parse::<u32>().is_ok()) && tokens.next().is_none()
}

/// A system file an attacker reads: one of the traversal check's sensitive names, as a
/// path up to it, or a Windows system directory through its variable
/// (`%SYSTEMROOT%\repair\SAM`).
fn sensitive(file: &str) -> bool {
    let f = file.trim_matches(['\'', '"']);
    let system_variable = ["%systemroot%", "%windir%"].iter().any(|v| {
        f.as_bytes()
            .get(..v.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(v.as_bytes()))
    });
    system_variable || traversal::check(f, false).is_some()
}
