//! The byte-shape prefilter: which characters a value holds, so that a checker only runs
//! on values that could carry its class.

use super::{Checker, cmdi};
use crate::inspect::normalize::Location;

/// Which characters a value holds, computed once per value so that a class is only run on
/// values that could carry it: most fields (ids, words, numbers) hold none of the
/// characters any injection needs, and skipping them is what keeps the pipeline fast.
#[derive(Clone, Copy, Default)]
pub(super) struct Shape(pub(super) u64);

pub(super) const QUOTE: u64 = 1;
pub(super) const LT: u64 = 2;
pub(super) const COLON: u64 = 4;
pub(super) const SHELL: u64 = 8;
pub(super) const SLASH: u64 = 16;
pub(super) const SQL: u64 = 32;
/// A `.`: without one there is no `..` to look for.
pub(super) const DOT: u64 = 64;
/// An `_` (in `id_rsa`).
pub(super) const UNDERSCORE: u64 = 128;
/// A `{`: template, lookup and serialized-object syntax.
pub(super) const BRACE: u64 = 1 << 34;
/// A `$`: Log4j lookups and NoSQL operators (and shell expansion, under [`SHELL`]).
pub(super) const DOLLAR: u64 = 1 << 35;
/// A CR or LF: header injection.
pub(super) const NEWLINE: u64 = 1 << 36;
/// A `(` or `)`: LDAP filters.
pub(super) const PAREN: u64 = 1 << 37;
/// A `!`: `<!ENTITY`, `<!DOCTYPE`, YAML tags (`!!python/object`).
pub(super) const BANG: u64 = 1 << 38;
/// A `%`: `<%= %>` templates.
pub(super) const PERCENT: u64 = 1 << 39;
/// A byte of a non-ASCII character: the value may have a compatibility form to check too.
pub(super) const NONASCII: u64 = 1 << 40;
/// A `[`: `a[$ne]`, `__proto__[x]`, `[[${...}]]`.
pub(super) const BRACKET: u64 = 1 << 41;
/// An `=`: an attribute (`onmouseover=alert(1)`).
pub(super) const EQUALS: u64 = 1 << 42;
/// A `>`: shell redirections (with [`LT`]).
pub(super) const GT: u64 = 1 << 46;
/// A `` ` `` (also under [`QUOTE`] and [`SHELL`]): a tagged template calls without a `(`
/// (``alert`1` ``).
pub(super) const BACKTICK: u64 = 1 << 47;
/// Set by [`Shape::at`], not by a byte: the value starts like a Shellshock definition, a
/// written-out newline before a command, or (where those count) a whole command line.
pub(super) const CMDI_START: u64 = 1 << 43;
/// A space: a parameter name with one may be a command a `;` split off (see
/// [`Shape::at`]).
const SPACE: u64 = 1 << 44;
/// A `\` (also under [`SLASH`]): a JavaScript escape may stand for any character
/// (`\74svg o\156load\75...` holds neither `<` nor `(`).
pub(super) const BACKSLASH: u64 = 1 << 45;

/// The bit of an ASCII letter, either case, from bit 8 on (0 for other bytes): a value can
/// only hold a word whose every letter it holds.
pub(super) const fn letter_bit(c: u8) -> u64 {
    if c.is_ascii_alphabetic() {
        1 << (8 + (c.to_ascii_lowercase() - b'a'))
    } else {
        0
    }
}

/// The shape bits of every value that holds `word` (ignoring ASCII case, and `/` and `\`
/// alike, as the checkers do): a value whose shape lacks one of them cannot hold it.
pub(super) const fn word_shape(word: &[u8]) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < word.len() {
        bits |= BYTE_SHAPE[word[i] as usize];
        i += 1;
    }
    bits
}

/// Each of [`SQL_KEYWORDS`] as its [`word_shape`].
static SQL_KEYWORD_SHAPES: [u64; SQL_KEYWORDS.len()] = {
    let mut shapes = [0; SQL_KEYWORDS.len()];
    let mut k = 0;
    while k < SQL_KEYWORDS.len() {
        shapes[k] = word_shape(SQL_KEYWORDS[k].as_bytes());
        k += 1;
    }
    shapes
};

/// `table` with `bit` set on every byte of `bytes` (a `const` loop: no iterators in const).
pub(super) const fn mark(mut table: [u64; 256], bytes: &[u8], bit: u64) -> [u64; 256] {
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] |= bit;
        i += 1;
    }
    table
}

/// Whether `c` can start a shell separator or substitution (`` ;\n\r`|&$ `` and 0x1A): the bytes
/// whose shape has the SHELL bit.
pub(super) fn shell_byte(c: u8) -> bool {
    BYTE_SHAPE[usize::from(c)] & SHELL != 0
}

/// The [`Shape`] bits of each byte: one load and one `or` per byte.
static BYTE_SHAPE: [u64; 256] = {
    let mut t = [0u64; 256];
    t[b'`' as usize] = QUOTE | SHELL | BACKTICK;
    t[b'\'' as usize] = QUOTE;
    t[b'"' as usize] = QUOTE;
    t[b'<' as usize] = LT;
    t[b':' as usize] = COLON;
    // 0x1A (SUB, `%1a`): commix's separator, the end of input for cmd.exe; no text holds it.
    t = mark(t, b";|&\n\r$\x1a", SHELL);
    t[b'/' as usize] = SLASH;
    t[b'\\' as usize] = SLASH | BACKSLASH;
    t = mark(t, b"=>#-(@", SQL);
    t[b'.' as usize] = DOT;
    t[b'_' as usize] = UNDERSCORE;
    t[b'{' as usize] = BRACE;
    t[b'$' as usize] |= DOLLAR;
    t = mark(t, b"\r\n", NEWLINE);
    t = mark(t, b"()", PAREN);
    t[b'!' as usize] = BANG;
    t[b'%' as usize] = PERCENT;
    t[b'[' as usize] = BRACKET;
    t[b'=' as usize] |= EQUALS;
    t[b'>' as usize] |= GT;
    t[b' ' as usize] = SPACE;
    let mut c = 0;
    while c < 256 {
        t[c] |= letter_bit(c as u8);
        if c >= 0x80 {
            t[c] |= NONASCII;
        }
        c += 1;
    }
    t
};

impl Shape {
    pub(super) fn of(value: &str) -> Shape {
        let bits = value
            .bytes()
            .fold(0, |bits, b| bits | BYTE_SHAPE[usize::from(b)]);
        // Quotes, shell separators and `<` are SQL operators too.
        let sql = if bits & (QUOTE | SHELL | LT) != 0 {
            SQL
        } else {
            0
        };
        Shape(bits | sql)
    }

    /// Whether no checker can match the value: it holds none of the bytes any needs
    /// (ids, words, numbers; most values), nor the letters of a keyword-only shape
    /// (`1 UNION SELECT 1`, `constructor prototype`), nor is long enough for an encoded
    /// serialized object.
    pub(super) fn inert(self, len: usize) -> bool {
        self.0 & ACTIVE == 0
            && len < super::deserialization::MIN_ENCODED
            && !self.has_sql_keyword_letters()
            && self.0 & PROTOTYPE_LETTERS != PROTOTYPE_LETTERS
    }

    pub(super) fn has(self, bits: u64) -> bool {
        self.0 & bits != 0
    }

    /// Whether the value has the [`word_shape`] of one of [`SQL_KEYWORDS`].
    fn has_sql_keyword_letters(self) -> bool {
        SQL_KEYWORD_SHAPES
            .iter()
            .fold(false, |any, &m| any | (self.0 & m == m))
    }

    /// What the command injection check needs to know of a value in `location`.
    #[inline]
    pub(super) fn cmdi(self, location: Location) -> cmdi::Hints {
        cmdi::Hints {
            whole: whole_command_lines(location),
            name: split_name(location),
            code: self.cmdi_code(),
            redirect: self.has(LT | GT),
            command_line: self.has(CMDI_START),
        }
    }

    /// Whether the value may hold code that runs a command: calls need a `(` and a quote
    /// (or the letters of `phpinfo`, called without one), PHP's interpolation a `{`.
    #[inline]
    fn cmdi_code(self) -> bool {
        self.has(PAREN) && (self.has(QUOTE) || self.0 & PHPINFO_LETTERS == PHPINFO_LETTERS)
            || self.has(BRACE)
    }

    /// Bit `i` set: the value holds the letter `'a' + i`, in either case.
    #[inline]
    fn letters(self) -> u32 {
        (self.0 >> 8) as u32 & 0x3ff_ffff
    }

    /// [`Shape::of`] `value` in `location`, with [`CMDI_START`] when command injection runs
    /// (`cmdi`) and the value starts like one of its shapes that have no byte of their own
    /// (`whoami`, `sleep 5`, `() {`). Once per value, not once per checker: most values
    /// start with a letter or digit, and where whole command lines do not count (names,
    /// headers) that settles it.
    #[inline(always)]
    pub(super) fn at(value: &str, location: Location, cmdi: bool) -> Shape {
        let shape = Shape::of(value);
        let start = cmdi
            && match value.as_bytes().first() {
                Some(c) if c.is_ascii_digit() => false,
                Some(c) if c.is_ascii_alphabetic() => {
                    if split_name(location) {
                        shape.has(SPACE) && cmdi::may_be_split_command(value)
                    } else {
                        whole_command_lines(location)
                            && cmdi::may_be_command_line(value, shape.letters())
                    }
                }
                Some(_) => cmdi::may_match_without_separator(
                    value,
                    whole_command_lines(location),
                    shape.letters(),
                ),
                None => false,
            };
        Shape(shape.0 | if start { CMDI_START } else { 0 })
    }

    /// The rarer ways into command injection, out of line so that [`Shape::plausible`]
    /// stays small enough to inline: code, a server-side include, a reverse shell.
    #[inline(never)]
    fn cmdi_without_separator(self, value: &str) -> bool {
        self.cmdi_code()
            || self.has(LT) && find(value, "<!--#").is_some()
            || self.has(LT | GT) && self.has(SLASH) && find(value, "/dev/").is_some()
    }

    /// Bit `i` set ([`checker_bit`]): [`Checker::ALL`]`[i]` may find something in a value
    /// of this shape and `len` bytes. The byte tests of [`Shape::plausible`] without its
    /// searches, for every checker at once: a superset of the plausible ones, each of
    /// which [`Shape::plausible`] then settles.
    #[inline]
    pub(super) fn candidates(self, len: usize) -> u16 {
        let when = |bit: u16, yes: bool| bit * u16::from(yes);
        when(const { checker_bit(Checker::Sqli) }, self.has(SQL) || self.has_sql_keyword_letters())
            | when(const { checker_bit(Checker::Xss) },
                self.has(LT | COLON | PAREN | BACKSLASH | BACKTICK | EQUALS)
                    || self.has(QUOTE) && self.has(GT | BRACKET),
            )
            | when(const { checker_bit(Checker::Cmdi) },
                self.has(SHELL | CMDI_START | LT | GT | PAREN | BRACE),
            )
            | when(const { checker_bit(Checker::Traversal) }, self.has(SLASH | DOT | LETTER_X))
            | when(const { checker_bit(Checker::Ssrf) }, self.has(COLON | SLASH))
            | when(const { checker_bit(Checker::Ssti) }, self.has(BRACE | LT))
            | when(const { checker_bit(Checker::Jndi) }, self.has(DOLLAR) && self.has(BRACE))
            | when(const { checker_bit(Checker::Xxe) }, self.has(LT))
            | when(const { checker_bit(Checker::Crlf) }, self.has(NEWLINE | NONASCII))
            | when(const { checker_bit(Checker::Nosql) }, self.has(DOLLAR))
            | when(const { checker_bit(Checker::Prototype) },
                self.has(UNDERSCORE) || self.0 & PROTOTYPE_LETTERS == PROTOTYPE_LETTERS,
            )
            | when(const { checker_bit(Checker::Deserialization) },
                self.has(MARKED) || len >= super::deserialization::MIN_ENCODED,
            )
            | when(const { checker_bit(Checker::Ldap) }, self.has(PAREN))
    }

    #[inline]
    pub(super) fn plausible(self, class: Checker, value: &str) -> bool {
        match class {
            // Without quotes or operators only `1 UNION SELECT 1`-style input is left.
            Checker::Sqli => {
                self.has(SQL) || self.has_sql_keyword_letters() && has_sql_keyword(value)
            }
            // Tags, schemes, quotes to break out of, JavaScript escapes, or a call
            // (`alert(1)`, `onmouseover=alert(1)`); a call whose name is computed
            // (`top[8680439..toString(30)](1)`) holds none of a sink's letters, and a
            // name assembled from regular expressions (`a=/ev/.source+/al/.source`) no
            // call at all.
            // A quote alone breaks out into nothing: the apostrophes of prose and names
            // (`O'Brien`, `don't`) need markup, an attribute, a call or an index after them.
            Checker::Xss => {
                self.has(LT | COLON | BACKSLASH | BACKTICK)
                    || self.has(QUOTE) && self.has(GT | EQUALS | PAREN | BRACKET)
                    || self.has(PAREN)
                        && (self.has(EQUALS | BRACKET)
                            || SINK_LETTERS.iter().fold(false, |any, &m| any | (self.0 & m == m)))
                    // Without a parenthesis: names from regular expressions
                    // (`a=/ev/.source`) and `onerror=alert;throw 1`. Neither bit set
                    // alone lets base64 tokens (`/`, `=`, most letters) through.
                    || self.has(EQUALS)
                        && (self.0 & (SLASH | DOT | SOURCE_LETTERS) == SLASH | DOT | SOURCE_LETTERS
                            || self.has(SPACE) && self.0 & THROW_LETTERS == THROW_LETTERS)
            }
            // Separators and substitutions; otherwise a directive, code, or a value that
            // starts like Shellshock or a command line.
            Checker::Cmdi => {
                self.has(SHELL | CMDI_START)
                    || self.has(LT | GT | PAREN | BRACE) && self.cmdi_without_separator(value)
            }
            // A slash, a climb, or dots and slashes spelled as C hex literals (`??0x2f`).
            Checker::Traversal => {
                self.has(SLASH)
                    || self.has(DOT) && find(value, "..").is_some()
                    || self.has(LETTER_X) && spelled_slash(value)
            }
            // A scheme's colon, or a URL relative to the scheme (`//127.0.0.1/`).
            Checker::Ssrf => {
                self.has(COLON) || self.has(SLASH) && matches!(value.as_bytes(), [b'/' | b'\\', b'/' | b'\\', ..])
            }
            Checker::Ssti => self.has(BRACE) || self.has(LT) && self.has(PERCENT | BANG),
            Checker::Jndi => self.has(DOLLAR) && self.has(BRACE),
            Checker::Xxe => self.has(LT) && (self.has(BANG) || self.has(COLON)),
            // U+560A/U+560D (`嘊嘍`) end in the bytes of LF and CR when cut to 8 bits.
            Checker::Crlf => self.has(NEWLINE | NONASCII),
            Checker::Nosql => self.has(DOLLAR),
            Checker::Prototype => {
                self.has(UNDERSCORE) && find(value, "__proto__").is_some()
                    || self.0 & PROTOTYPE_LETTERS == PROTOTYPE_LETTERS
            }
            Checker::Deserialization => {
                self.has(MARKED) || value.len() >= super::deserialization::MIN_ENCODED
            }
            Checker::Ldap => self.has(PAREN),
        }
    }
}

/// The bit of `checker` in [`Shape::candidates`] and [`super::Payload`]'s set: that of
/// its index in [`Checker::ALL`].
pub(super) const fn checker_bit(checker: Checker) -> u16 {
    const { assert!(Checker::ALL.len() <= 16, "checker sets are u16") };
    let mut i = 0;
    while i < Checker::ALL.len() {
        if Checker::ALL[i] as u8 == checker as u8 {
            return 1 << i;
        }
        i += 1;
    }
    0
}

/// Whether a whole value that is a command line (`whoami`, `cat /etc/passwd`) counts in
/// `location`: in the values an application acts on, not in names (a form field called
/// `uname`), the path or headers (most fields, never a command an application runs).
fn whole_command_lines(location: Location) -> bool {
    matches!(
        location,
        Location::QsValues | Location::PostValues | Location::JsonValues | Location::Cookies
    )
}

/// Whether a value in `location` may be what a `;` split off: query strings and forms
/// take `;` for `&` (as PHP, Java servlets and the normalizer do), so `x=1;cat
/// /etc/passwd` arrives as a pair named `cat /etc/passwd` (see [`cmdi::Hints`]).
fn split_name(location: Location) -> bool {
    matches!(location, Location::QsNames | Location::PostNames)
}

/// The bytes one of which every textual serialized-object marker holds.
pub(super) const MARKED: u64 = BRACE | BANG | DOLLAR | NEWLINE | LT;

/// The bits of the bytes some checker needs; a value with none of them, and without the
/// letters of a keyword-only shape, is skipped whole (see [`Shape::inert`]).
const ACTIVE: u64 = QUOTE | LT | COLON | SHELL | SLASH | SQL | DOT | UNDERSCORE | BRACE
    | DOLLAR | NEWLINE | PAREN | BANG | PERCENT | NONASCII | BRACKET | CMDI_START;

/// The letters of the sinks a call without quotes or tags reaches (`alert(1)`,
/// `eval(location.hash)`).
const SINK_LETTERS: [u64; 4] = [
    word_shape(b"alert"),
    word_shape(b"prompt"),
    word_shape(b"confirm"),
    word_shape(b"eval"),
];

/// The letter `x`, either case.
const LETTER_X: u64 = letter_bit(b'x');

/// Whether `value` spells a slash as a C hex literal (`0x2f`, `0x5c`, any case).
#[inline(never)]
fn spelled_slash(value: &str) -> bool {
    let b = value.as_bytes();
    b.windows(4).any(|w| {
        w[0] == b'0'
            && w[1] | 0x20 == b'x'
            && matches!([w[2], w[3] | 0x20], [b'2', b'f'] | [b'5', b'c'])
    })
}

/// The letters of `phpinfo`.
const PHPINFO_LETTERS: u64 = word_shape(b"phpinfo");

/// The letters of `source` (`/ev/.source`) and of `throw` with `onerror`.
const SOURCE_LETTERS: u64 = word_shape(b"source");
const THROW_LETTERS: u64 = word_shape(b"throwonerror");

/// The letters of `constructor` and `prototype`.
const PROTOTYPE_LETTERS: u64 = word_shape(b"constructorprototype");

/// Keywords that make a value without SQL operators worth tokenising
/// (`1 UNION SELECT 1`, `1 ORDER BY 3`).
pub(super) const SQL_KEYWORDS: [&str; 4] = ["union", "select", "order", "group"];

/// Bytes that start one of [`SQL_KEYWORDS`], in either case.
static SQL_KEYWORD_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < SQL_KEYWORDS.len() {
        let b = SQL_KEYWORDS[i].as_bytes()[0];
        t[b as usize] = true;
        t[b.to_ascii_uppercase() as usize] = true;
        i += 1;
    }
    t
};

/// Whether `value` contains one of [`SQL_KEYWORDS`], ignoring case. One pass: only
/// positions whose byte starts a keyword are compared.
fn has_sql_keyword(value: &str) -> bool {
    let v = value.as_bytes();
    v.iter().enumerate().any(|(i, &b)| {
        SQL_KEYWORD_START[usize::from(b)]
            && SQL_KEYWORDS.iter().any(|w| {
                v.get(i..i + w.len())
                    .is_some_and(|win| win.eq_ignore_ascii_case(w.as_bytes()))
            })
    })
}


/// Byte offset of the first `needle` in `hay`, ignoring ASCII case.
pub(super) fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `hay` starts with `prefix`, ignoring ASCII case.
pub(super) fn starts_with_ignore_case(hay: &[u8], prefix: &[u8]) -> bool {
    hay.get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// Byte offset of the first `needle` (ASCII) in `hay`. For the short needles of the
/// checkers, a scan for the first byte beats `str::find`, which sets up a two-way
/// searcher on every call.
pub(super) fn find(hay: &str, needle: &str) -> Option<usize> {
    find_bytes(hay.as_bytes(), needle.as_bytes())
}

/// [`find`] on bytes.
pub(super) fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, tail) = needle.split_first()?;
    let mut from = 0;
    while let Some(p) = hay[from..].iter().position(|&b| b == first) {
        let at = from + p;
        if hay[at + 1..].starts_with(tail) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_has_its_letters() {
        for w in SQL_KEYWORDS {
            for v in [w.to_string(), w.to_ascii_uppercase(), format!("1 {w} x")] {
                assert!(Shape::of(&v).has_sql_keyword_letters(), "{v}");
            }
        }
        for v in ["shoes", "/products", "category", "okhttp/4.12.0"] {
            assert!(!Shape::of(v).has_sql_keyword_letters(), "{v}");
        }
    }

    /// [`Shape::candidates`] repeats the byte tests of [`Shape::plausible`]: a checker it
    /// leaves out never runs. Over many shapes and values whose searches all succeed,
    /// every plausible checker must be a candidate.
    #[test]
    fn candidates_hold_every_plausible_checker() {
        let long = "A".repeat(super::super::deserialization::MIN_ENCODED);
        let values = [
            format!("../__proto__ union select <!--# /dev/ alert x {long}"),
            "() { :;}; whoami".to_string(),
            "x".to_string(),
            String::new(),
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let singles = (0..64).map(|b| 1u64 << b);
        let sparse: Vec<u64> = (0..20_000).map(|_| next() & next() & next()).collect();
        let dense: Vec<u64> = (0..20_000).map(|_| next() | next()).collect();
        for bits in singles.chain(sparse).chain(dense).chain([0, u64::MAX]) {
            let shape = Shape(bits);
            for v in &values {
                let candidates = shape.candidates(v.len());
                for c in Checker::ALL {
                    assert!(
                        !shape.plausible(c, v) || candidates & checker_bit(c) != 0,
                        "{} plausible but not a candidate for shape {bits:#x}",
                        c.name()
                    );
                }
            }
        }
    }

    #[test]
    fn the_prefilter_lets_every_attack_shape_through() {
        let cases: &[(Checker, &[&str])] = &[
            (
                Checker::Sqli,
                &[
                    "1 union select 1",
                    "-1 UNION ALL SELECT 1,2,3",
                    "' OR 1=1",
                    "sleep(5)",
                    "1 AND 2>1",
                    "admin'#",
                    "1;DROP TABLE x",
                ],
            ),
            (
                Checker::Xss,
                &[
                    "<svg onload=alert(1)>",
                    "javascript:alert(1)",
                    "\" onmouseover=\"x",
                    "';alert(1)//",
                    "al\\u0065rt(1)",
                    "top[8680439..toString(30)](1)",
                    "\\74svg o\\156load\\75alert\\501\\51\\76",
                    "a=/ev/.source+/al/.source",
                    "onerror=alert;throw 1",
                    "throw onerror=alert,1",
                ],
            ),
            (
                Checker::Cmdi,
                &[
                    "x|id",
                    "`id`",
                    "$(whoami)",
                    "a\nwhoami",
                    "() { :; }; /bin/bash",
                    "x;id",
                    "() {",
                    "system('id')",
                    "cat /etc/passwd",
                    "\\nid",
                    "{cat,/etc/passwd}",
                    "%COMSPEC% /c dir",
                    "${@print(md5(x))}",
                    "exec(phpinfo())",
                    ".phpinfo()",
                    "x\x1aid",
                    "for /f \"tokens=*\" %i in ('cmd /c \"dir\"') do x",
                ],
            ),
            (
                Checker::Traversal,
                &[
                    "../../etc/passwd",
                    "..\\..\\win.ini",
                    "/etc/shadow",
                    "php://filter/x",
                    "??0x2f??0x2fetc0x2fpasswd",
                    ".?0X5Cboot.ini",
                ],
            ),
            (
                Checker::Ssrf,
                &["http://127.0.0.1/", "file:///etc/passwd", "gopher://x", "//127.0.0.1/"],
            ),
        ];
        for (class, attacks) in cases {
            for a in *attacks {
                assert!(
                    Shape::at(a, Location::QsValues, true).plausible(*class, a),
                    "{} would skip {a}",
                    class.name()
                );
            }
        }
        for plain in [
            "hello world",
            "12345",
            "O Brien",
            "red shoes",
            "550e8400-e29b-41d4",
        ] {
            for class in Checker::ALL {
                if class == Checker::Sqli && plain.contains('-') {
                    continue;
                }
                assert!(
                    !Shape::at(plain, Location::QsValues, true).plausible(class, plain),
                    "{} runs on {plain}",
                    class.name()
                );
            }
        }
    }
}
