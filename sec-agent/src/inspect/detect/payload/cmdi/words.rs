//! How a shell reads a command word and what a shell argument looks like: where a
//! command starts and ends in a value, and whether what follows it is what a shell gets.

use super::vocabulary::{HASH_START, Kind, LONGEST_COMMAND, Props, hash_step, kind, lookup, lookup_hashed};

/// Subcommands of Windows `net` that list or change accounts, groups and shares.
const NET_SUBCOMMANDS: &[&str] = &[
    "user",
    "localgroup",
    "group",
    "view",
    "share",
    "use",
    "session",
    "accounts",
];

/// Subcommands of Windows `reg` that read or change the registry.
const REG_SUBCOMMANDS: &[&str] = &["add", "query", "delete", "save", "export", "import"];

/// The length of the command word `b` starts with (see [`word_end`]) and, when it is
/// plain (letters, digits, `-`, `_`, `.`, `%`), what the vocabulary says of it, found in the
/// same pass without copying or lowercasing; `None` when the word needs [`command_word`]
/// (quotes, backslashes, a path, `.exe`).
pub(super) fn scan_word(b: &[u8]) -> (usize, Option<Props>) {
    let mut h = HASH_START;
    let mut plain = true;
    let mut len = 0;
    while len < b.len() {
        let c = b[len];
        match c {
            b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'%' => h = hash_step(h, c),
            b'A'..=b'Z' => h = hash_step(h, c.to_ascii_lowercase()),
            b'$' if empty_expansion(&b[len..]) > 0 => {
                plain = false;
                len += empty_expansion(&b[len..]);
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' | b';' | b'|' | b'&' | b'(' | b')' | b'`' | b'<'
            | b'>' | b'$' | b',' | b'}' => break,
            b'\\' if matches!(b.get(len + 1), Some(b'n' | b'r')) => break,
            _ => plain = false,
        }
        len += 1;
    }
    let exe = len > 4 && b[len - 4..len].eq_ignore_ascii_case(b".exe");
    let props = match plain && !exe {
        true if len > LONGEST_COMMAND => Some(Props::default()),
        true => Some(lookup_hashed(&b[..len], h)),
        false => None,
    };
    (len, props)
}

/// What the vocabulary says of the command word `b` starts with, and its length.
pub(super) fn word_props(b: &[u8]) -> (usize, Props) {
    match scan_word(b) {
        (len, Some(props)) => (len, props),
        (len, None) => {
            let mut buf = [0; LONGEST_COMMAND];
            (len, lookup(command_word(&b[..len], &mut buf)))
        }
    }
}

/// Whether `word` alone (one token, any case) is a command or a shell keyword.
pub(super) fn is_shell_word(word: &str) -> bool {
    match scan_word(word.as_bytes()) {
        (len, Some(props)) if len == word.len() => props.is_shell_word(),
        _ => {
            let mut buf = [0; LONGEST_COMMAND];
            lookup(command_word(word.as_bytes(), &mut buf)).is_shell_word()
        }
    }
}

/// Where a command word starting at `rest[0]` ends: at white space, an operator, a
/// substitution, or a `\n` / `\r` written out (as attack lists write a newline); not at
/// an expansion that leaves nothing (`c$@at`, see [`empty_expansion`]).
pub(super) fn word_end(rest: &[u8]) -> usize {
    scan_word(rest).0
}

/// Length of the expansion at `b[0]` (a `$`) that a shell replaces with nothing inside a
/// word, as filter evasions write (`c$@at`, `w$()hoami`, `who$1ami`, commix's
/// `$@w$@h$@o$@a$@m$@i` and `${XYZ}w${XYZ}hoami`): a special parameter (`$@`, `$*`,
/// `$#`... `$1`, empty in an injected command), an empty substitution (`$()`) or a braced
/// variable of capitals, which an injected command has not set; 0 for others (`$IFS` and
/// `${IFS}` are a space, `$(id)` a command, `${PATH%%u*}` a slash).
pub(super) fn empty_expansion(b: &[u8]) -> usize {
    match b.get(1) {
        Some(b'@' | b'*' | b'#' | b'?' | b'!' | b'-' | b'0'..=b'9') => 2,
        Some(b'(') if b.get(2) == Some(&b')') => 3,
        Some(b'{') => {
            let name = b[2..]
                .iter()
                .take(16)
                .take_while(|c| c.is_ascii_uppercase())
                .count();
            let unset = name > 0 && b.get(2 + name) == Some(&b'}') && &b[2..2 + name] != b"IFS";
            if unset { name + 3 } else { 0 }
        }
        _ => 0,
    }
}

/// The command a shell runs for `word`, lowercased into `buf`: shell quoting inside a
/// word does not stop the shell (`w'h'o"am"i`, `c\at`), and the command is the last path
/// component (`/usr/bin/id`, `C:\Windows\System32\cmd.exe`) without `.exe`. Empty when
/// longer than every command, since it cannot be one.
pub(super) fn command_word<'b>(word: &[u8], buf: &'b mut [u8; LONGEST_COMMAND]) -> &'b str {
    let mut word = word;
    if word.len() > 4 && word[word.len() - 4..].eq_ignore_ascii_case(b".exe") {
        word = &word[..word.len() - 4];
    }
    // A Windows path (`C:\...`, `%SYSTEMROOT%\...`): its backslashes separate
    // directories, they quote nothing.
    let windows = word.len() > 2 && (word[0].is_ascii_alphabetic() && word[1] == b':' || word[0] == b'%');
    let (mut len, mut too_long) = (0, false);
    let mut i = 0;
    while i < word.len() {
        let b = word[i];
        i += 1;
        match b {
            b'/' => (len, too_long) = (0, false),
            b'\\' if windows => (len, too_long) = (0, false),
            // Quotes and backslashes are shell quoting, `^` cmd.exe's (`w^h^o^a^m^i`).
            b'\'' | b'"' | b'\\' | b'^' => {}
            b'$' if empty_expansion(&word[i - 1..]) > 0 => i += empty_expansion(&word[i - 1..]) - 1,
            _ if len == LONGEST_COMMAND => too_long = true,
            _ => {
                buf[len] = b.to_ascii_lowercase();
                len += 1;
            }
        }
    }
    // Only ASCII bytes were dropped or split at, so the rest is whole characters.
    match too_long {
        false => std::str::from_utf8(&buf[..len]).unwrap_or(""),
        true => "",
    }
}

/// End of a command invocation starting at byte `i` of `value` (after white space), if
/// there is one. `substitution`: inside `$(` or backticks, where a weak command needs no
/// argument; `any_path`: any program under `/bin/`, `/usr/` or `/sbin/` counts, not only
/// the known commands.
pub(super) fn command_at(
    value: &str,
    i: usize,
    substitution: bool,
    any_path: bool,
) -> Option<usize> {
    let rest = skip_blanks(value.get(i..)?);
    let offset = value.len() - rest.len();
    let r = rest.as_bytes();
    // Brace expansion: `{cat,/etc/passwd}` runs `cat /etc/passwd`.
    if r.first() == Some(&b'{') {
        let close = r.iter().take(64).position(|&c| c == b'}')?;
        // `{,ifconfig}` expands to `ifconfig`: an empty first word is skipped.
        let open = if r.get(1) == Some(&b',') { 1 } else { 0 };
        let comma = open + 1 + r[open + 1..close].iter().position(|&c| c == b',').unwrap_or(close - open - 1);
        let mut buf = [0; LONGEST_COMMAND];
        let word = command_word(&r[open + 1..comma], &mut buf);
        let found = match kind(word)? {
            Kind::Strong => true,
            // The arguments are the words after the comma; `,` stands for a space.
            Kind::Weak => substitution || argument_follows(word, &rest[comma.min(close)..close], true),
        };
        return found.then_some(offset + close + 1);
    }
    if r.first() == Some(&b'$') && empty_expansion(r) == 0 {
        return assigned_command(value, offset);
    }
    // Most words after a separator are plain (`; Linux`, `& Jerry`): looked up as they are.
    let (word_len, props) = word_props(r);
    if word_len == 0 {
        return None;
    }
    let mut buf = [0; LONGEST_COMMAND];
    let end = offset + word_len;
    let system_path =
        ["/bin/", "/usr/", "/sbin/"].iter().any(|p| rest.starts_with(p)) || glob_directory(r);
    if props.is_shell_word() && props.kind().is_none() {
        // `for` (as `f^o^r` too) is syntax, unless it is cmd.exe's loop.
        return (command_word(&r[..word_len], &mut buf) == "for")
            .then(|| windows_for(&r[word_len..]))
            .flatten()
            .map(|len| end + len);
    }
    match props.kind() {
        Some(Kind::Strong) => Some(end),
        _ if any_path && system_path => Some(end),
        Some(Kind::Weak) => {
            let word = command_word(&r[..word_len], &mut buf);
            (substitution || argument_follows(word, &rest[word_len..], false))
                .then(|| (end + 24).min(value.len()).max(end))
        }
        _ => None,
    }
}

/// The end of the `(` that opens the list of cmd.exe's `for /f` loop starting at `at`, when
/// the list is a command run for its output through a shell (`for /f "tokens=*" %i in
/// ('cmd /c "whoami"') do ...`, `('powershell ...')`): commix's Windows payloads, which
/// count as a whole value. A loop over files or numbers (`in (*.txt)`, `in ('dir /b')`)
/// does not.
pub(super) fn windows_loop_runs_shell(value: &str, at: usize) -> Option<usize> {
    let b = value.as_bytes();
    let word = word_end(&b[at..]);
    let mut buf = [0; LONGEST_COMMAND];
    if command_word(&b[at..at + word], &mut buf) != "for" {
        return None;
    }
    let mut i = at + word + windows_for(&b[at + word..])?;
    while matches!(b.get(i), Some(b' ' | b'\t' | b'^')) {
        i += 1;
    }
    if b.get(i) != Some(&b'(') {
        return None;
    }
    i += 1;
    while matches!(b.get(i), Some(b' ' | b'\t' | b'^')) {
        i += 1;
    }
    if !matches!(b.get(i), Some(b'\'' | b'`')) {
        return None;
    }
    let inner = &b[i + 1..];
    let (len, props) = word_props(inner);
    let name = command_word(&inner[..len], &mut buf);
    (matches!(name, "cmd" | "powershell" | "pwsh") || props.kind() == Some(Kind::Strong))
        .then_some(i + 1 + len)
}

/// The length of the switch and variable of cmd.exe's `for` loop (`for /f "tokens=*" %i
/// in (`, `for /l %%x in (`) after the word `for`: how commix's Windows payloads run a
/// command and read its output. A shell's `for` takes no `/` switch and no `%` variable.
/// cmd.exe's escape `^` (commix's `caret` tamper: `f^o^r /^f`) is read as nothing.
fn windows_for(after: &[u8]) -> Option<usize> {
    let mut i = 0;
    let next = |i: &mut usize| {
        while after.get(*i) == Some(&b'^') {
            *i += 1;
        }
        let c = after.get(*i).copied();
        *i += 1;
        c
    };
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut c = next(&mut i)?;
    if !blank(c) {
        return None;
    }
    while blank(c) {
        c = next(&mut i)?;
    }
    if c != b'/' || !matches!(next(&mut i)?.to_ascii_lowercase(), b'f' | b'l' | b'd' | b'r') {
        return None;
    }
    // Options (`"tokens=*"`, `/r C:\`) up to the variable: `%i` or, in a batch file, `%%i`.
    loop {
        c = next(&mut i)?;
        if c == b'%' || i > 48 {
            break;
        }
    }
    if c != b'%' {
        return None;
    }
    c = next(&mut i)?;
    if c == b'%' {
        c = next(&mut i)?;
    }
    if !c.is_ascii_alphabetic() || !blank(next(&mut i)?) {
        return None;
    }
    c = next(&mut i)?;
    while blank(c) {
        c = next(&mut i)?;
    }
    let word = [c.to_ascii_lowercase(), next(&mut i)?.to_ascii_lowercase()];
    (word == *b"in").then_some(i)
}

/// The end of a command that is a variable the value assigned before it
/// (`CMD=$'id';$CMD`, `a=nc&&$a -lvp 4444`): a command stored, then run. `offset` is where
/// the `$` is.
pub(super) fn assigned_command(value: &str, offset: usize) -> Option<usize> {
    let b = value.as_bytes();
    let braced = b.get(offset + 1) == Some(&b'{');
    let from = offset + 1 + usize::from(braced);
    let len = b[from..]
        .iter()
        .take(32)
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
        .count();
    if len == 0 || !b[from].is_ascii_alphabetic() && b[from] != b'_' {
        return None;
    }
    let name = &b[from..from + len];
    let before = &b[..offset];
    before
        .windows(len + 1)
        .enumerate()
        .any(|(k, w)| {
            &w[..len] == name
                && w[len] == b'='
                && (k == 0 || !(before[k - 1].is_ascii_alphanumeric() || before[k - 1] == b'_'))
        })
        .then_some(from + len)
}

/// Whether `r` starts with a directory written as a glob (`/???/`, `/b??/`, `/*/`): a
/// filter evasion for `/bin/` (`/???/c?t /???/p??s??`); no path someone writes has one.
fn glob_directory(r: &[u8]) -> bool {
    let Some(rest) = r.strip_prefix(b"/") else {
        return false;
    };
    let len = rest.iter().take(5).position(|&c| c == b'/');
    len.is_some_and(|len| {
        let dir = &rest[..len];
        len > 0
            && dir.iter().any(|&c| c == b'?' || c == b'*')
            && dir.iter().all(|&c| c == b'?' || c == b'*' || c.is_ascii_lowercase())
    })
}

/// `s` after spaces, tabs and `$IFS` / `${IFS}` (the shell's field separator, which
/// attackers write for a space).
pub(super) fn skip_blanks(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'$' if b[i..].starts_with(b"${IFS}") => i += 6,
            b'$' if b[i..].starts_with(b"$IFS") => i += 4,
            _ => break,
        }
    }
    // Only ASCII was skipped.
    &s[i..]
}

/// Whether what follows a weak command word is what a shell would get: the end of the value
/// or another separator (`;id`), a flag, a path, a variable, a redirection, an IP address
/// or URL, a Windows drive path or `%VARIABLE%`, a number for the time and network probes,
/// or a subcommand for `net` and `reg`. `spaced`: the arguments are separated from the
/// word already (by the comma of a brace expansion).
pub(super) fn argument_follows(word: &str, after: &str, spaced: bool) -> bool {
    // In a brace expansion a comma stands for the space (`{cat,/etc/passwd}`).
    let after = match spaced {
        true => after.strip_prefix(',').unwrap_or(after),
        false => after,
    };
    let arg = skip_blanks(after);
    let Some(&first) = arg.as_bytes().first() else {
        return after.is_empty(); // `;id` at the very end, not "; id " with trailing prose.
    };
    if matches!(
        first,
        b';' | b'|' | b'&' | b'`' | b')' | b'>' | b'<' | b'$' | b'\n' | b'\r'
    ) || arg.starts_with("\\n")
        || arg.starts_with("\\r")
    {
        return true;
    }
    if !spaced && after.len() == arg.len() {
        return false; // No white space between command and argument: part of a word.
    }
    // The first argument runs to a blank, a comma (of a brace expansion) or an operator.
    let token_len = arg
        .bytes()
        .position(|c| {
            matches!(
                c,
                b' ' | b'\t' | b',' | b';' | b'|' | b'&' | b'`' | b')' | b'\n' | b'\r' | b'<' | b'>'
            )
        })
        .unwrap_or(arg.len());
    // A `\n` written out ends it too (`<sleep 5\n`); Windows paths keep their backslashes.
    let token_len = [arg.find("\\n"), arg.find("\\r")]
        .into_iter()
        .flatten()
        .fold(token_len, usize::min);
    let token = &arg[..token_len];
    let t = token.as_bytes();
    if (t.len() > 1 && t[0] == b'-' && t[1].is_ascii_alphanumeric())
        || t.first().is_some_and(|&c| matches!(c, b'/' | b'~'))
        || token.starts_with("./")
        || token.starts_with("../")
        || token.contains("://")
        || (t.len() > 2 && t[0].is_ascii_alphabetic() && t[1] == b':' && t[2] == b'\\')
        || windows_variable(token)
        || is_ip(token)
        || redirects(arg)
    {
        return true;
    }
    match word {
        "sleep" | "ping" | "timeout" => token.parse::<u32>().is_ok(),
        "nc" | "ncat" | "netcat" | "telnet" | "socat" => {
            token.parse::<u16>().is_ok() || token.contains('.')
        }
        "dig" | "host" => token.contains('.') && !token.ends_with('.'),
        // A quoted string to print: `;echo 'vulnerable'`, `|echo "x"`.
        "echo" | "printf" => matches!(t.first(), Some(b'\'' | b'"')),
        "net" => NET_SUBCOMMANDS.iter().any(|s| s.eq_ignore_ascii_case(token)),
        "reg" => REG_SUBCOMMANDS.iter().any(|s| s.eq_ignore_ascii_case(token)),
        _ => false,
    }
}

/// `%NAME%`, a Windows environment variable (`%SYSTEMROOT%\win.ini`).
pub(super) fn windows_variable(token: &str) -> bool {
    let Some(name) = token.strip_prefix('%') else {
        return false;
    };
    // The name runs to the closing `%`: `%SYSTEMROOT%` in `%SYSTEMROOT%\repair\SAM`.
    name.find('%').is_some_and(|len| {
        len > 0
            && name.as_bytes()[..len]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
    })
}

fn is_ip(token: &str) -> bool {
    token.split('.').count() == 4 && token.split('.').all(|p| p.parse::<u8>().is_ok())
}

/// Whether the command's own text (up to the next separator) redirects to a file
/// (`echo x > shell.php`).
fn redirects(arg: &str) -> bool {
    arg.bytes()
        .take_while(|&c| !matches!(c, b';' | b'|' | b'&' | b'\n' | b'`'))
        .any(|c| c == b'>')
}
