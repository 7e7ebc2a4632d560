//! Path traversal and local file inclusion: climbing out of a directory (`../../`), naming
//! a sensitive system file, or using a stream wrapper that reads or executes local files.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};

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

/// The [`word_shape`](super::word_shape) of each name (`/` and `\\` have the same): a
/// value whose shape has none of them names none (most paths and header values), and is
/// not searched for names.
static NAME_SHAPES: [u64; SENSITIVE.len() + SECRETS_AFTER_CLIMB.len() + WRAPPERS.len()] = {
    let mut shapes = [0; SENSITIVE.len() + SECRETS_AFTER_CLIMB.len() + WRAPPERS.len()];
    let lists = [SENSITIVE, SECRETS_AFTER_CLIMB, WRAPPERS];
    let (mut l, mut n) = (0, 0);
    while l < lists.len() {
        let mut i = 0;
        while i < lists[l].len() {
            shapes[n] = super::word_shape(lists[l][i].as_bytes());
            (i, n) = (i + 1, n + 1);
        }
        l += 1;
    }
    shapes
};

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

/// Whether a value of shape `shape` may hold one of [`NAMES`].
fn may_name(shape: u64) -> bool {
    // Without branches: the compiler compares several shapes at once.
    NAME_SHAPES
        .iter()
        .fold(false, |any, &m| any | (shape & m == m))
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
    if value.len() < 3 {
        return None;
    }
    // Byte positions in `value` are those in its unified form (backslashes as slashes,
    // ASCII lowercase): both are byte-for-byte maps.
    let b = value.as_bytes();
    // Every climb rule needs a `..`; most values have none and skip to the names.
    let Some(first_dot_dot) = super::find(value, "..") else {
        return if may_name(shape) && NAMES.is_match(value) {
            named_file(value, 0)
        } else {
            None
        };
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
    if may_name(shape)
        && NAMES.is_match(value)
        && let Some(m) = named_file(value, climbs)
    {
        return Some(m);
    }
    if climbs >= 2 {
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

/// A sensitive file, a secret behind a climb, or a stream wrapper (checked in that order;
/// a wrapper only matters when the climbs alone do not match, see [`check`]).
fn named_file(value: &str, climbs: usize) -> Option<Match> {
    let unified = value.replace('\\', "/").to_ascii_lowercase();
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
    fn the_name_shapes_let_every_name_through() {
        use super::super::Shape;
        for v in name_variants() {
            for form in [v.clone(), v.to_ascii_uppercase(), format!("x/../../{v}?q")] {
                let shape = Shape::of(&form).0;
                assert!(may_name(shape), "{form}");
                assert_eq!(check_shaped(&form, false, shape), check(&form, false));
            }
        }
        assert!(!may_name(Shape::of("/api/comments").0));
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
