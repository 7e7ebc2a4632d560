//! Path traversal and local file inclusion: climbing out of a directory (`../../`), naming
//! a sensitive system file, or using a stream wrapper that reads or executes local files.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

use super::Match;

/// Files and directories an application never legitimately takes from a client, from the
/// documented layouts of Unix systems (FHS), Windows, and the usual web stacks (Apache,
/// nginx, PHP, MySQL, XAMPP/LAMPP, IIS): account databases, host and service
/// configuration, kernel interfaces under `/proc`, logs, keys, and the server's own
/// configuration. Matched where the value is a path up to the name (see [`named_file`]).
const SENSITIVE: &[&str] = &[
    // Unix accounts, host and service configuration.
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/master.passwd",
    "/etc/security/",
    "/etc/sudoers",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/issue",
    "/etc/motd",
    "/etc/resolv.conf",
    "/etc/fstab",
    "/etc/mtab",
    "/etc/crontab",
    "/etc/inittab",
    "/etc/init.d/",
    "/etc/rc.d/",
    "/etc/profile",
    "/etc/bashrc",
    "/etc/os-release",
    "/etc/redhat-release",
    "/etc/debian_version",
    "/etc/lsb-release",
    "/etc/ssh/",
    "/etc/ssl/",
    "/etc/nginx/",
    "/etc/apache",
    "/etc/httpd/",
    "/etc/php",
    "/etc/mysql/",
    "/etc/my.cnf",
    "/etc/vsftpd",
    "/etc/ftp",
    "/etc/wu-ftpd/",
    "/etc/proftpd",
    "/etc/pure-ftpd",
    "/etc/samba/",
    "/etc/exports",
    "/etc/rpc",
    "/etc/syslog",
    "/etc/rsyslog",
    "/etc/logrotate",
    "/etc/ld.so",
    "/etc/network/",
    "/etc/sysconfig/",
    "/etc/x11/",
    // Kernel and process interfaces.
    "/proc/self/",
    "/proc/version",
    "/proc/cmdline",
    "/proc/mounts",
    "/proc/net/",
    "/proc/sched_debug",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/1/",
    "/dev/fd/",
    // Logs, spools, service data, home directories.
    "/var/log/",
    "/var/adm/",
    "/var/mail/",
    "/var/spool/",
    "/var/lib/mysql",
    "/var/db/",
    "/var/run/",
    "/var/lock/",
    "/var/www/",
    "/usr/local/apache",
    "/usr/local/etc/",
    "/usr/local/php",
    "/usr/local/cpanel",
    "/usr/local/zend",
    "/usr/local/pureftpd",
    "/usr/lib/php",
    "/usr/pkg/etc/",
    "/opt/lampp/",
    "/opt/xampp/",
    "/opt/apache",
    "/root/",
    "/.ssh/",
    "/.bash_history",
    "/.mysql_history",
    "/.aws/credentials",
    // Dotfiles of a home directory that hold hosts trusted, credentials or history.
    "/.netrc",
    "/.rhosts",
    "/.shosts",
    "/.forward",
    "/.profile",
    "/.bashrc",
    "/.bash_profile",
    "/.cshrc",
    "/.login",
    "/.logout",
    "/.sh_history",
    "/.xauthority",
    "/.pgpass",
    "/.git-credentials",
    "/.docker/config",
    "/.kube/config",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "authorized_keys",
    // Web servers and stacks (any OS).
    ".htpasswd",
    ".htaccess",
    "httpd.conf",
    "apache2.conf",
    "nginx.conf",
    "php.ini",
    "my.ini",
    "my.cnf",
    "web.config",
    "web-inf/web.xml",
    "access.log",
    "access_log",
    "error.log",
    "error_log",
    "/apache/logs/",
    "/apache/log/",
    "/apache2/log",
    "/apache/conf/",
    "/mysql/data/",
    "/mysql/bin/",
    // Windows.
    "win.ini",
    "boot.ini",
    "system.ini",
    "autoexec.bat",
    "c:/windows/",
    "/windows/system32",
    "/winnt/",
    "/system32/",
    "/inetpub/",
    "/xampp/",
    "/program files",
    "/programfiles",
    "/documents and settings/",
];
/// Application secrets: sensitive only behind a climb (`../.env`), since the names are
/// common words otherwise.
const SECRETS_AFTER_CLIMB: &[&str] = &[
    "/.env",
    "/.git/",
    "wp-config.php",
    "config.php",
    "config.inc",
    "settings.py",
    "database.yml",
];

/// Stream wrappers that turn a file include into reading or running arbitrary content.
const WRAPPERS: &[&str] = &[
    "php://",
    "phar://",
    "zip://",
    "expect://",
    "glob://",
    "data://",
    "compress.zlib://",
];

/// Every name above, with each `/` also as `\\` (the checks below see backslashes as
/// slashes), matched case-insensitively in one pass: most values name none of them and
/// then only the climbs (`../`) are left to look at, without building a lowercase copy.
static NAMES: LazyLock<AhoCorasick> = LazyLock::new(|| {
    // A full DFA: a table lookup per byte, the cheapest scan for a few hundred states.
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(name_variants())
        .expect("fixed patterns build")
});

/// Builds the name matcher now (about 1.5 MiB of DFA, some milliseconds), so that the
/// first request to need it, maybe an attack whose ban is timed, does not wait for it.
pub(super) fn build_matchers() {
    LazyLock::force(&NAMES);
}

/// The patterns of [`NAMES`].
fn name_variants() -> Vec<String> {
    let mut variants = Vec::new();
    for name in SENSITIVE.iter().chain(SECRETS_AFTER_CLIMB).chain(WRAPPERS) {
        let mut forms = vec![String::new()];
        for c in name.chars() {
            let alternatives: &[char] = if c == '/' { &['/', '\\'] } else { &[c] };
            forms = forms
                .iter()
                .flat_map(|f| alternatives.iter().map(move |a| format!("{f}{a}")))
                .collect();
        }
        variants.extend(forms);
    }
    variants
}

/// Whether `value` is worth searching for [`NAMES`]: a name only counts where the value
/// is a path up to it (see [`named_file`]). So the search runs behind a climb, on values
/// that start like a path (`/`, `\\`, `.`, `?`, `*`, `~`, a drive letter, `file:`), and on
/// short values that are neither prose (white space) nor URLs (`://`): not on the
/// Referer, the User-Agent or a sentence, which are most values with a `/`.
fn may_name(value: &str, shape: u64, climbs: usize) -> bool {
    let b = value.as_bytes();
    if climbs > 0
        || matches!(b.first(), Some(b'/' | b'\\' | b'.' | b'?' | b'*' | b'~'))
        || b.get(1) == Some(&b':')
    {
        return true;
    }
    // Without a `:` there is no URL and no wrapper.
    let url = if shape & super::shape::COLON == 0 {
        None
    } else {
        super::find(value, "://")
    };
    match url {
        // `file:` URLs and stream wrappers (`php://filter/...`) are paths too.
        // Most URLs are web ones (the Referer): no wrapper, no file.
        Some(at) if b[..at].eq_ignore_ascii_case(b"https") || b[..at].eq_ignore_ascii_case(b"http") => {
            false
        }
        Some(at) => {
            b.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"file:"))
                || WRAPPERS.iter().any(|w| {
                    let scheme = &w.as_bytes()[..w.len() - 3];
                    at >= scheme.len() && b[at - scheme.len()..at].eq_ignore_ascii_case(scheme)
                })
        }
        None => b.len() <= 64 && !b.contains(&b' '),
    }
}

fn is_slash(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

/// Checks a value (`in_path`: the request path itself, where browsers never send `..`).
pub fn check(value: &str, in_path: bool) -> Option<Match> {
    check_shaped(value, in_path, u64::MAX)
}

/// [`check`], given the shape bits of `value` (or more: `u64::MAX` searches every value
/// for names).
pub(super) fn check_shaped(value: &str, in_path: bool, shape: u64) -> Option<Match> {
    check_value(value, in_path, shape).or_else(|| {
        let respelled = respelled(value, shape)?;
        check_value(&respelled, in_path, u64::MAX)
            .map(|m| Match::new(m.rule, value, 0, value.len().min(24)))
    })
}

/// `value` with the dots and slashes that attack lists spell otherwise written as
/// themselves, when it holds any: C hex literals (`0x2e0x2e0x2f`, which some decoders turn
/// back into bytes), escapes whose `%` a layer dropped (`..2f..2fetc2fpasswd`), and runs of
/// slashes collapsed (`..///etc///passwd`, `..\\\\etc`), as file systems read them. No
/// path holds the first two otherwise.
fn respelled(value: &str, shape: u64) -> Option<String> {
    // Only values with an `x` can spell a hex literal.
    const X: u64 = super::shape::word_shape(b"x");
    let b = value.as_bytes();
    let hex = shape & X != 0 && (super::find(value, "0x").is_some() || super::find(value, "0X").is_some());
    let bare = shape & super::shape::DOT != 0
        && (super::shape::find_ignore_case(b, b"..2f").is_some() || super::shape::find_ignore_case(b, b"..5c").is_some());
    let doubled = shape & super::shape::SLASH != 0
        && b.windows(2).enumerate().any(|(i, w)| {
            is_slash(w[0]) && is_slash(w[1]) && (i == 0 || b[i - 1] != b':')
        });
    if !(hex || bare || doubled) {
        return None;
    }
    // The byte a spelled form at `i` stands for, and its length.
    let spelled = |i: usize| -> Option<(char, usize)> {
        let w = b.get(i..)?;
        let (digits, len) = match w {
            [b'0', x, d1, d2, ..] if hex && x.eq_ignore_ascii_case(&b'x') => ([*d1, *d2], 4),
            // Once a value climbs with `..2f`, its other `2f` are slashes too (`etc2fpasswd`).
            [d1, d2, ..] if bare && i > 0 => ([*d1, *d2], 2),
            _ => return None,
        };
        match [digits[0], digits[1].to_ascii_lowercase()] {
            [b'2', b'e'] if len == 4 => Some(('.', len)),
            [b'2', b'f'] => Some(('/', len)),
            [b'5', b'c'] => Some(('\\', len)),
            _ => None,
        }
    };
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < b.len() {
        if let Some((c, len)) = spelled(i) {
            out.push(c);
            i += len;
            continue;
        }
        let c = value[i..].chars().next().expect("in bounds");
        // A slash after a slash adds nothing to a path (but for the `//` of a URL).
        let slash = c == '/' || c == '\\';
        if !(doubled && slash && out.ends_with(['/', '\\']) && !out.ends_with(":/")) {
            out.push(c);
        }
        i += c.len_utf8();
    }
    (out != value).then_some(out)
}

fn check_value(value: &str, in_path: bool, shape: u64) -> Option<Match> {
    if value.len() < 3 {
        return None;
    }
    // Byte positions in `value` are those in its unified form (backslashes as slashes,
    // ASCII lowercase): both are byte-for-byte maps.
    let b = value.as_bytes();
    // Every climb rule needs a `..`; most values have none and skip to the names.
    let Some(first_dot_dot) = super::find(value, "..") else {
        if !may_name(value, shape, 0) {
            return None;
        }
        let named = if NAMES.is_match(value) { named_file(value, 0) } else { None };
        return named.or_else(|| system_path(value));
    };
    let dot_dot_at = |i: usize| b[i] == b'.' && b.get(i + 1) == Some(&b'.');
    let ends_with_climb = is_slash(b[b.len() - 3]) && b.ends_with(b"..");
    // `../` never overlaps itself, so counting every position counts the matches.
    let climbs = (0..b.len() - 2)
        .filter(|&i| dot_dot_at(i) && is_slash(b[i + 2]))
        .count()
        + usize::from(ends_with_climb);
    if in_path {
        // The first `/..`; it is inside a `/../` or at the end whenever either exists.
        let slash_dot_dot = (0..b.len() - 2).find(|&i| is_slash(b[i]) && dot_dot_at(i + 1));
        let inside = (0..b.len().saturating_sub(3))
            .any(|i| is_slash(b[i]) && dot_dot_at(i + 1) && is_slash(b[i + 3]));
        if inside || ends_with_climb {
            let at = slash_dot_dot.unwrap_or(0);
            return Some(Match::new(
                "traversal:dot_dot_path",
                value,
                at,
                (at + 24).min(value.len()),
            ));
        }
    }
    if may_name(value, shape, climbs)
        && NAMES.is_match(value)
        && let Some(m) = named_file(value, climbs)
    {
        return Some(m);
    }
    // Climbs alone, without a file they reach: two suffice in a bare value, but text
    // (white space: a log line, `Redirecting to... ../../../index.html`, a build command's
    // `../libtool -I../include`) needs a deeper climb than documentation writes.
    let text = b.iter().any(u8::is_ascii_whitespace);
    if climbs >= 2 && (!text || climbs >= 4) {
        let at = first_dot_dot;
        return Some(Match::new(
            "traversal:dot_dot",
            value,
            at,
            (at + 24).min(value.len()),
        ));
    }
    None
}

/// A whole value that is a path under `/etc/` or `/proc/` (`/etc/inetd.conf`,
/// `/proc/loadavg`): host configuration and kernel state, which file inclusion lists name
/// beyond the files of [`SENSITIVE`]. Path bytes only: a glob (`/etc/init.d/*`), a
/// sentence's full stop or a word after the path is text.
fn system_path(value: &str) -> Option<Match> {
    let b = value.as_bytes();
    let dir = [&b"/etc/"[..], b"/proc/"].into_iter().find(|d| {
        b.len() > d.len() && b[..d.len()].iter().zip(*d).all(|(&c, &p)| c.to_ascii_lowercase() == p || p == b'/' && c == b'\\')
    })?;
    let rest = &b[dir.len()..];
    let path_bytes = rest
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b'\\'));
    (path_bytes && rest[0].is_ascii_alphanumeric() && !rest.ends_with(b"."))
        .then(|| Match::new("traversal:sensitive_file", value, 0, value.len().min(24)))
}

/// Whether `rest`, what follows a file's name, describes it in words (`/etc/resolv.conf
/// Resolver configuration file`, a man page's list): three words or more of letters.
fn described(rest: &str) -> bool {
    rest.split_ascii_whitespace()
        .filter(|w| w.len() > 1 && w.bytes().all(|c| c.is_ascii_alphabetic()))
        .count()
        >= 3
}

/// A sensitive file, a secret behind a climb, or a stream wrapper (checked in that order;
/// a wrapper only matters when the climbs alone do not match, see [`check`]).
fn named_file(value: &str, climbs: usize) -> Option<Match> {
    let unified = value.replace('\\', "/").to_ascii_lowercase();
    // A sensitive name needs path context: a climb, a `file:` URL, or a value that is a
    // path up to the name: it starts like one (`/`, `\\`, `.`, a drive letter, the `?`
    // and `*` of wildcard tricks) and holds no white space or quote before it. Prose that
    // mentions a file (`edit /etc/hosts`) does not match.
    let path_prefix = unified
        .as_bytes()
        .first()
        .is_some_and(|&c| matches!(c, b'/' | b'.' | b'?' | b'*'))
        || unified.as_bytes().get(1..3) == Some(b":/");
    let anchored = |at: usize| {
        climbs > 0
            || unified.starts_with("file:")
            || at == 0
            || path_prefix
                && !unified.as_bytes()[..at]
                    .iter()
                    .any(|&c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'='))
    };
    if let Some((at, len)) = SENSITIVE
        .iter()
        .filter_map(|s| unified.find(s).map(|at| (at, s.len())))
        .find(|&(at, len)| anchored(at) && (climbs > 0 || !described(&unified[at + len..])))
    {
        return Some(Match::new("traversal:sensitive_file", value, at, at + len));
    }
    if climbs > 0
        && let Some(at) = SECRETS_AFTER_CLIMB.iter().find_map(|s| unified.find(s))
    {
        return Some(Match::new("traversal:sensitive_file", value, 0, at + 16));
    }
    if climbs >= 2 {
        return None; // `check` reports the climbs first.
    }
    WRAPPERS
        .iter()
        .find_map(|w| unified.find(w))
        .map(|at| Match::new("lfi:wrapper", value, at, (at + 24).min(value.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilter_lets_every_name_through() {
        use super::super::shape::Shape;
        for v in name_variants() {
            for form in [v.clone(), v.to_ascii_uppercase(), format!("x/../../{v}?q")] {
                let shape = Shape::of(&form).0;
                let climbs = usize::from(form.contains(".."));
                assert!(may_name(&form, shape, climbs), "{form}");
                assert_eq!(check_shaped(&form, false, shape), check(&form, false));
            }
        }
        for prose in ["see /etc/passwd", "https://example.com/etc/passwd"] {
            assert!(!may_name(prose, Shape::of(prose).0, 0), "{prose}");
        }
    }

    #[test]
    fn attacks_match() {
        let attacks = [
            ("../../../../etc/passwd", false),
            ("..\\..\\..\\windows\\win.ini", false),
            ("/etc/passwd", false),
            ("../config/.env", false),
            ("....//....//etc/hosts", false),
            (
                "php://filter/convert.base64-encode/resource=index.php",
                false,
            ),
            ("file:///etc/shadow", false),
            ("/static/../../app.py", true),
            ("/images/..", true),
            ("C:\\Windows\\System32\\drivers\\etc\\hosts", false),
            ("/proc/self/environ", false),
            ("..2f..2f..2fetc2fpasswd", false),
            ("..///etc///passwd", false),
            ("..\\\\\\etc\\\\\\issue", false),
            ("??0x2f??0x2fetc0x2fpasswd", false),
            ("?.0x5cetc0x5cpasswd", false),
            ("0x2e0x2e0x2fwindows0x2fsystem320x2fdrivers0x2fetc0x2fhosts", false),
            ("/etc/inetd.conf", false),
            ("/proc/loadavg", false),
            ("/.rhosts", false),
            ("../../.netrc", false),
        ];
        for (a, in_path) in attacks {
            assert!(check(a, in_path).is_some(), "missed {a}");
        }
    }

    #[test]
    fn benign_values_do_not_match() {
        let benign = [
            ("../images/logo.png", false),
            ("/docs/getting-started/", true),
            ("see the etc/passwd man page", false),
            ("what... really?", false),
            ("Redirecting to... ../../../index.html.", false),
            ("/bin/bash ../libtool --tag=RC -I../include", false),
            ("/etc/resolv.conf Resolver configuration file", false),
            ("v1.2..v1.3", false),
            ("my .env file tips", false),
            ("php is fun", false),
            ("/api/v1/users/42", true),
            ("/etc/postgresql/*/*/start.conf.", false),
            ("/etc/myapp is where it lives", false),
            ("edit ~/.bashrc and ~/.profile", false),
            ("~/.bashrc", false),
            ("https://example.com//docs//x", false),
            ("v1..2fast", false),
            ("//cdn.example.com/app.js", false),
            ("0x2e is a dot", false),
        ];
        for (b, in_path) in benign {
            assert_eq!(check(b, in_path), None, "{b}");
        }
    }
}
