//! The registry's machinery. The one list of detections is the `detections!` invocation
//! in `detect/mod.rs`: each line names a detection's enum variant, its stable numeric code
//! (stored in kernel ban entries as `BanReason::Detection(code)`, so a code is never
//! reused), its name (config section `[detections.NAME]`, events, metrics, ban origins) and
//! its module, which holds its `Config` section and its detection. Everything else that
//! enumerates detections (the module declarations, the `[detections]` struct, policies,
//! building, "is any detection on") is generated from that list, so it cannot fall out of
//! step.

use super::DetectionKind;

/// Generates the module declarations, [`DetectionKind`] and
/// [`DetectionsConfig`](super::DetectionsConfig) from the registry lines.
macro_rules! detections {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:ident in $module:ident; )*) => {
        $(pub mod $module;)*

        /// The detections, with stable names and numeric codes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum DetectionKind {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl DetectionKind {
            /// Every detection, in registry order.
            pub const ALL: &'static [DetectionKind] = &[$(DetectionKind::$variant),*];

            /// Stable name: config section, events, metrics, ban origin.
            pub fn name(self) -> &'static str {
                match self {
                    $(DetectionKind::$variant => stringify!($name),)*
                }
            }

            /// The classes its findings carry.
            pub fn classes(self) -> &'static [&'static str] {
                match self {
                    $(DetectionKind::$variant => <$module::Config as $crate::inspect::detect::Section>::CLASSES,)*
                }
            }
        }

        /// `[detections]` and one subsection per detection.
        #[derive(Debug, Clone, ::serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct DetectionsConfig {
            /// Sources tracked by the per-source detections (least recently seen evicted).
            pub max_sources: usize,
            /// Path prefixes that bypass request inspection (request floods are still
            /// counted).
            pub ignore_paths: Vec<String>,
            $(
                #[doc = concat!("`[detections.", stringify!($name), "]`.")]
                pub $name: $module::Config,
            )*
        }

        impl Default for DetectionsConfig {
            fn default() -> Self {
                DetectionsConfig {
                    max_sources: 100_000,
                    ignore_paths: Vec::new(),
                    $($name: <$module::Config>::default(),)*
                }
            }
        }

        impl DetectionsConfig {
            /// Mode and base TTL that apply to `finding`.
            pub fn policy(&self, finding: &$crate::inspect::detect::Finding) -> $crate::inspect::detect::Policy {
                use $crate::inspect::detect::Section as _;
                match finding.detection {
                    $(DetectionKind::$variant => self.$name.policy(finding.class),)*
                }
            }

            /// Whether any detection is on (else inspection does not start).
            pub fn any_enabled(&self) -> bool {
                use $crate::inspect::detect::Section as _;
                false $(|| self.$name.enabled())*
            }

            /// Builds every detection that is on, in registry order.
            ///
            /// # Errors
            /// As [`Section::build`](crate::inspect::detect::Section::build), with the section
            /// named.
            pub fn build(&self) -> ::anyhow::Result<Vec<Box<dyn $crate::inspect::detect::Detection>>> {
                use ::anyhow::Context as _;
                use $crate::inspect::detect::Section as _;
                let context = $crate::inspect::detect::BuildContext { max_sources: self.max_sources };
                let mut out: Vec<Box<dyn $crate::inspect::detect::Detection>> = Vec::new();
                $(
                    if self.$name.enabled() {
                        out.push(
                            self.$name
                                .build(&context)
                                .context(concat!("[detections.", stringify!($name), "]"))?,
                        );
                    }
                )*
                Ok(out)
            }
        }
    };
}

impl DetectionKind {
    /// Numeric code stored in ban entries.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The kind of a ban-entry code.
    pub fn from_code(code: u32) -> Option<DetectionKind> {
        DetectionKind::ALL
            .iter()
            .copied()
            .find(|k| k.code() == code)
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<DetectionKind> {
        DetectionKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DetectionKind, DetectionsConfig, Mode};

    #[test]
    fn codes_and_names_are_unique_and_classes_disjoint() {
        let mut classes: Vec<&str> = Vec::new();
        for (i, a) in DetectionKind::ALL.iter().enumerate() {
            for b in &DetectionKind::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
                assert_ne!(a.name(), b.name());
            }
            assert_eq!(DetectionKind::from_code(a.code()), Some(*a));
            assert!(!a.classes().is_empty(), "{} has no class", a.name());
            classes.extend(a.classes());
        }
        let n = classes.len();
        classes.sort_unstable();
        classes.dedup();
        assert_eq!(classes.len(), n, "a class belongs to one detection");
    }

    #[test]
    fn every_detection_is_in_the_shipped_config_and_the_readme() {
        let shipped = include_str!("../../../../config/sec-agent.toml");
        let readme = include_str!("../../../../README.md");
        for kind in DetectionKind::ALL {
            let name = kind.name();
            assert!(
                shipped.contains(&format!("\n[detections.{name}]\n")),
                "config/sec-agent.toml has no [detections.{name}] block"
            );
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}` |")))
                .unwrap_or_else(|| panic!("README's detection table has no `{name}` row"));
            for class in kind.classes() {
                assert!(
                    row.contains(&format!("`{class}`")),
                    "README row of `{name}` does not name its class `{class}`"
                );
            }
        }
    }

    #[test]
    fn all_off_builds_nothing() {
        let mut c = DetectionsConfig::default();
        assert!(c.any_enabled());
        c.payload.mode = Mode::Off;
        c.user_agent.mode = Mode::Off;
        c.user_agent.missing = Mode::Off;
        c.enumeration.mode = Mode::Off;
        c.request_flood.mode = Mode::Off;
        c.decoy_path.mode = Mode::Off;
        assert!(!c.any_enabled());
        assert!(c.build().unwrap().is_empty());
    }
}
