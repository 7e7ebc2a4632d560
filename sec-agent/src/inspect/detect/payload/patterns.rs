//! The operator's own payload patterns, loaded from files: one pattern per line, `#` starts
//! a comment. Literal patterns are matched case-insensitively with Aho-Corasick (one pass
//! for all of them); regular expressions with a `RegexSet` (one pass for all of them).

use std::path::Path;

use aho_corasick::AhoCorasick;
use anyhow::{Context as _, Result};
use regex::RegexSet;

use super::Match;

/// Compiled operator patterns (empty by default).
#[derive(Default)]
pub struct Patterns {
    literals: Option<AhoCorasick>,
    regexes: Option<RegexSet>,
}

impl Patterns {
    /// Loads literal and regex pattern files.
    ///
    /// # Errors
    /// An unreadable file, or an invalid regex (named with its file and line).
    pub fn load(
        literal_files: &[impl AsRef<Path>],
        regex_files: &[impl AsRef<Path>],
    ) -> Result<Patterns> {
        let literals = read_lines(literal_files)?;
        let regexes = read_lines(regex_files)?;
        for (file, line, re) in &regexes {
            regex::Regex::new(re).with_context(|| format!("{file}:{line}: invalid regex"))?;
        }
        Ok(Patterns {
            literals: (!literals.is_empty()).then(|| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(literals.iter().map(|(_, _, l)| l))
                    .expect("literal patterns always build")
            }),
            regexes: (!regexes.is_empty())
                .then(|| RegexSet::new(regexes.iter().map(|(_, _, r)| r)))
                .transpose()
                .context("compiling regex patterns")?,
        })
    }

    /// Whether there is no pattern at all.
    pub fn is_empty(&self) -> bool {
        self.literals.is_none() && self.regexes.is_none()
    }

    /// The first operator pattern found in `value`.
    pub fn check(&self, value: &str) -> Option<Match> {
        if let Some(ac) = &self.literals
            && let Some(m) = ac.find(value)
        {
            return Some(Match::new("custom:literal", value, m.start(), m.end()));
        }
        if let Some(set) = &self.regexes
            && set.is_match(value)
        {
            return Some(Match::new("custom:regex", value, 0, value.len()));
        }
        None
    }
}

fn read_lines(files: &[impl AsRef<Path>]) -> Result<Vec<(String, usize, String)>> {
    let mut out = Vec::new();
    for f in files {
        let path = f.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading pattern file {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if !line.is_empty() && !line.starts_with('#') {
                out.push((path.display().to_string(), i + 1, line.to_string()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_regex_files() {
        let dir = std::env::temp_dir().join(format!("sa-patterns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lit = dir.join("lit.txt");
        let re = dir.join("re.txt");
        std::fs::write(&lit, "# comment\nEVIL-TOKEN\n\n").unwrap();
        std::fs::write(&re, "^x-[0-9]{4}$\n").unwrap();
        let p = Patterns::load(&[&lit], &[&re]).unwrap();
        assert_eq!(
            p.check("has evil-token inside").unwrap().fragment,
            "evil-token"
        );
        assert_eq!(p.check("x-1234").unwrap().rule, "custom:regex");
        assert!(p.check("benign").is_none());
        std::fs::write(&re, "ok\n(unclosed\n").unwrap();
        let err = Patterns::load(&[&lit], &[&re]).err().unwrap();
        assert!(format!("{err:#}").contains("re.txt:2"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
