//! Deserializers for config values that several sections share (durations, capacities).
//! A leaf module: each stage and each detection defines its own config section next to its
//! code, and all of them parse values the same way, with the same messages.

use std::time::Duration;

use serde::{Deserialize, Deserializer, de};

/// A humantime duration (`"5s"`, `"15m"`, `"1h30m"`), longer than zero.
///
/// # Errors
/// Not a duration, or zero; the message quotes the value.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let value = humantime::parse_duration(&s)
        .map_err(|e| de::Error::custom(format!("`{s}` is not a duration like \"5s\": {e}")))?;
    if value.is_zero() {
        return Err(de::Error::custom("must be longer than 0s"));
    }
    Ok(value)
}

/// A table or map capacity in entries: at least 1.
///
/// # Errors
/// Zero.
pub fn capacity<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n == 0 {
        return Err(de::Error::custom("capacity must be at least 1"));
    }
    Ok(n)
}
