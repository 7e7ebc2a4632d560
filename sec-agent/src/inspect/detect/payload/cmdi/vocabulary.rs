//! The command vocabulary: which words are commands, which are shell syntax, which are
//! whole command lines by themselves, looked up in one hash table built at compile time.

use super::bare;

/// Commands that are never prose: they match with or without arguments.
pub(super) const STRONG: &[&str] = &[
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
    "sysinfo",
    "tasklist",
    "passwd",
    "useradd",
    "crontab",
    "xterm",
    "busybox",
    "mkfifo",
    "netsh",
    // `%COMSPEC%` is the path of cmd.exe.
    "%comspec%",
    // PowerShell's download-and-run cmdlets and their aliases, and the cmdlets probes use.
    "start-sleep",
    "get-content",
    "get-childitem",
    "get-process",
    "get-wmiobject",
    "new-object",
    "iex",
    "iwr",
    "irm",
    "iwmi",
    "invoke-expression",
    "invoke-webrequest",
    "invoke-restmethod",
    "start-process",
    // Windows programs that run scripts or DLLs (LOLBAS, "living off the land").
    "mshta",
    "rundll32",
    "regsvr32",
    "cscript",
    "wscript",
    // Windows commands no text writes.
    "findstr",
    "icacls",
    "schtasks",
    "taskkill",
    // PHP's configuration dump, the usual code-injection probe (`;phpinfo()`).
    "phpinfo",
];

/// Commands that are also words: they need an argument shaped like
/// [`super::words::argument_follows`].
pub(super) const WEAK: &[&str] = &[
    "cat", "ls", "id", "dir", "echo", "type", "more", "less", "head", "tail", "wget", "curl", "nc",
    "ncat", "netcat", "bash", "sh", "zsh", "dash", "ksh", "python", "python3", "perl", "ruby",
    "php", "node", "sleep", "ping", "dig", "host", "rm", "chmod", "chown", "touch", "mkdir",
    "kill", "telnet", "cmd", "find", "env", "set", "printenv", "pwd", "ps", "tftp", "ftp",
    "base64", "xxd", "awk", "sed", "grep", "tar", "nohup", "socat", "reboot", "shutdown", "exec",
    "net", "reg", "timeout", "tac", "nl", "od", "strings", "rev", "sort", "cut", "dd", "cp", "mv",
    "wc", "uniq", "stat", "which", "whereis", "locate", "ln", "xargs", "tee", "gzip", "gunzip",
    "unzip", "zip", "openssl", "ssh", "scp", "rsync", "su", "usermod", "chgrp", "lsof", "uptime",
    "hostname", "lua", "gcc", "java", "python2", "sc", "printf",
];

/// Shell words that start or continue a script (keywords and the builtins scripts open
/// with): a value that starts with one is a snippet of shell code, not data.
const SHELL_SYNTAX: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "{", "}", "(", ")", "[", "[[", "!", "local", "export", "readonly",
    "declare", "unset", "return", "exit", "shift", "trap", "source", ".", "cd", "test", "sudo",
];

/// The longest command in [`STRONG`] and [`WEAK`].
pub(super) const LONGEST_COMMAND: usize = 17;

/// How a command word counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// In [`STRONG`].
    Strong,
    /// In [`WEAK`].
    Weak,
}

/// What the vocabulary says of a word: bits of [`Props`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Props(u16);

impl Props {
    const STRONG: u16 = 1;
    const WEAK: u16 = 2;
    const SYNTAX: u16 = 4;
    /// Bits 4 to 7: the whole-command-line class (see [`bare::CLASSES`]), plus one.
    const BARE_SHIFT: u32 = 4;

    /// The word's kind as a command.
    pub(super) fn kind(self) -> Option<Kind> {
        if self.0 & Self::STRONG != 0 {
            Some(Kind::Strong)
        } else if self.0 & Self::WEAK != 0 {
            Some(Kind::Weak)
        } else {
            None
        }
    }

    /// Whether it is a command or one of [`SHELL_SYNTAX`].
    pub(super) fn is_shell_word(self) -> bool {
        self.0 & (Self::STRONG | Self::WEAK | Self::SYNTAX) != 0
    }

    /// Its index in [`bare::CLASSES`], if it is one of those commands.
    pub(super) fn bare_class(self) -> Option<usize> {
        (usize::from(self.0 >> Self::BARE_SHIFT)).checked_sub(1)
    }
}

/// Slots of [`VOCABULARY`]: a power of two, about twice the words.
const SLOTS: usize = 256;

/// Every word of [`STRONG`], [`WEAK`], [`SHELL_SYNTAX`] and [`bare::CLASSES`] with its
/// [`Props`], in an open-addressing hash table built at compile time: one hash and a
/// compare or two per lookup, where a search of the lists would compare a hundred words.
static VOCABULARY: [(&str, u16); SLOTS] = {
    let mut t = [("", 0u16); SLOTS];
    insert_all(&mut t, STRONG, Props::STRONG);
    insert_all(&mut t, WEAK, Props::WEAK);
    insert_all(&mut t, SHELL_SYNTAX, Props::SYNTAX);
    let mut c = 0;
    while c < bare::CLASSES.len() {
        insert_all(&mut t, bare::CLASSES[c].1, ((c + 1) as u16) << Props::BARE_SHIFT);
        c += 1;
    }
    t
};

/// FNV-1a (Fowler, Noll, Vo), 32 bits: its start and one step.
pub(super) const HASH_START: u32 = 0x811c_9dc5;

pub(super) const fn hash_step(h: u32, byte: u8) -> u32 {
    (h ^ byte as u32).wrapping_mul(0x0100_0193)
}

const fn hash(b: &[u8]) -> u32 {
    let mut h = HASH_START;
    let mut i = 0;
    while i < b.len() {
        h = hash_step(h, b[i]);
        i += 1;
    }
    h
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn insert_all(t: &mut [(&'static str, u16); SLOTS], words: &[&'static str], bits: u16) {
    let mut w = 0;
    while w < words.len() {
        let word = words[w];
        let mut i = hash(word.as_bytes()) as usize % SLOTS;
        loop {
            if t[i].0.is_empty() {
                t[i] = (word, bits);
                break;
            }
            if same(t[i].0.as_bytes(), word.as_bytes()) {
                t[i].1 |= bits;
                break;
            }
            i = (i + 1) % SLOTS;
        }
        w += 1;
    }
}

/// What the vocabulary says of `word` (as [`super::words::command_word`] gives it).
pub(super) fn lookup(word: &str) -> Props {
    lookup_hashed(word.as_bytes(), hash(word.as_bytes()))
}

/// [`lookup`] of `word` (compared ignoring ASCII case) whose lowercase form hashes to `h`.
pub(super) fn lookup_hashed(word: &[u8], h: u32) -> Props {
    if word.is_empty() {
        return Props::default();
    }
    let mut i = h as usize % SLOTS;
    loop {
        let (w, bits) = VOCABULARY[i];
        if w.is_empty() {
            return Props::default();
        }
        if w.as_bytes().eq_ignore_ascii_case(word) {
            return Props(bits);
        }
        i = (i + 1) % SLOTS;
    }
}

/// The kind of a command word as [`super::words::command_word`] gives it.
pub(super) fn kind(word: &str) -> Option<Kind> {
    lookup(word).kind()
}
