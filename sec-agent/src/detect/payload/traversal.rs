//! Path traversal and local file inclusion: climbing out of a directory (`../../`), naming
//! a sensitive system file, or using a stream wrapper that reads or executes local files.

use super::Match;

/// Files and directories an application never legitimately takes from a client.
const SENSITIVE: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/etc/sudoers",
    "/proc/self/",
    "/proc/version",
    "/proc/1/",
    "/var/log/",
    "/root/",
    "/.ssh/",
    "id_rsa",
    ".htpasswd",
    ".htaccess",
    "win.ini",
    "boot.ini",
    "system.ini",
    "c:/windows/",
    "/windows/system32",
    "web-inf/web.xml",
    "/.aws/credentials",
    "/etc/nginx/",
    "/etc/apache2/",
];

/// Application secrets: sensitive only behind a climb (`../.env`), since the names are
/// common words otherwise.
const SECRETS_AFTER_CLIMB: &[&str] = &[
    "/.env",
    "/.git/",
    "wp-config.php",
    "config.php",
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

/// Checks a value (`in_path`: the request path itself, where browsers never send `..`).
pub fn check(value: &str, in_path: bool) -> Option<Match> {
    if value.len() < 3 {
        return None;
    }
    let unified = value.replace('\\', "/").to_ascii_lowercase();
    let climbs = unified.matches("../").count() + usize::from(unified.ends_with("/.."));
    if in_path && (unified.contains("/../") || unified.ends_with("/..")) {
        let at = unified.find("/..").unwrap_or(0);
        return Some(Match::new(
            "traversal:dot_dot_path",
            value,
            at,
            (at + 24).min(value.len()),
        ));
    }
    // A sensitive name needs path context: a climb, the start of the value (`/etc/passwd`,
    // `c:/windows/...`), or a `file:` URL; prose that mentions one does not match.
    let anchored = |at: usize| climbs > 0 || at == 0 || unified.starts_with("file:");
    if let Some((at, len)) = SENSITIVE
        .iter()
        .filter_map(|s| unified.find(s).map(|at| (at, s.len())))
        .find(|&(at, _)| anchored(at))
    {
        return Some(Match::new("traversal:sensitive_file", value, at, at + len));
    }
    if climbs > 0
        && let Some(at) = SECRETS_AFTER_CLIMB.iter().find_map(|s| unified.find(s))
    {
        return Some(Match::new("traversal:sensitive_file", value, 0, at + 16));
    }
    if climbs >= 2 {
        let at = unified.find("..").unwrap_or(0);
        return Some(Match::new(
            "traversal:dot_dot",
            value,
            at,
            (at + 24).min(value.len()),
        ));
    }
    if let Some(at) = WRAPPERS.iter().find_map(|w| unified.find(w)) {
        return Some(Match::new(
            "lfi:wrapper",
            value,
            at,
            (at + 24).min(value.len()),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ("v1.2..v1.3", false),
            ("my .env file tips", false),
            ("php is fun", false),
            ("/api/v1/users/42", true),
        ];
        for (b, in_path) in benign {
            assert_eq!(check(b, in_path), None, "{b}");
        }
    }
}
