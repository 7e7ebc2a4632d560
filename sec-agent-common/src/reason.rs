/// Origin of a ban, stored as a `u32` code in [`crate::BanEntry::reason`].
///
/// Codes are part of the map ABI. Detection kinds start at 16 so new origins can be added
/// below them; an unknown code read from a map (a newer agent wrote it) is kept as is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BanReason {
    /// Added by an operator (`sec-agent ban add`).
    Manual,
    /// Imported from a list or another tool.
    Imported,
    /// Issued by a detection; the value is the detection's kind number.
    Detection(u32),
    /// A code this build does not know.
    Unknown(u32),
}

impl BanReason {
    const MANUAL: u32 = 1;
    const IMPORTED: u32 = 2;
    const DETECTION_BASE: u32 = 16;

    /// The map code.
    pub const fn code(self) -> u32 {
        match self {
            BanReason::Manual => Self::MANUAL,
            BanReason::Imported => Self::IMPORTED,
            BanReason::Detection(kind) => Self::DETECTION_BASE + kind,
            BanReason::Unknown(code) => code,
        }
    }

    /// Decodes a map code.
    pub const fn from_code(code: u32) -> Self {
        match code {
            Self::MANUAL => BanReason::Manual,
            Self::IMPORTED => BanReason::Imported,
            c if c >= Self::DETECTION_BASE => BanReason::Detection(c - Self::DETECTION_BASE),
            c => BanReason::Unknown(c),
        }
    }
}
