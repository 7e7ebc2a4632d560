//! A JSON body walked as serde_json reads it: every key and every string or number
//! becomes a field the moment it is read, with no tree built in between. Members come in
//! document order, and a key given twice is inspected twice: an application's parser may
//! keep either duplicate (most keep the last, some the first), so a payload hides in
//! neither.

use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{Builder, Location};

/// Pushes the fields of the JSON document `body` into `builder`.
///
/// # Errors
/// `body` is not one JSON document (truncated, invalid, trailing bytes); the fields read
/// before the error have been pushed, and the caller discards them.
pub(super) fn walk(body: &[u8], builder: &mut Builder) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut number = String::new();
    Walk {
        builder,
        key: "",
        number: &mut number,
    }
    .deserialize(&mut de)?;
    de.end()
}

/// One value of the document, found under the object key `key` (`""` at the top level;
/// an array's items inherit the key of the array).
struct Walk<'w> {
    builder: &'w mut Builder,
    key: &'w str,
    /// A number's text, reused from one number to the next.
    number: &'w mut String,
}

impl Walk<'_> {
    fn number(self, n: Number) {
        self.number.clear();
        let _ = write!(self.number, "{n}");
        self.builder
            .push(Location::JsonValues, self.key, self.number);
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.number(v.into());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.number(v.into());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // As `serde_json::Value` does: a float that is not finite is null.
        if let Some(n) = Number::from_f64(v) {
            self.number(n);
        }
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.builder
            .push_decoded(Location::JsonValues, self.key, v.as_bytes(), false);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Walk {
            builder,
            key,
            number,
        } = self;
        while seq
            .next_element_seed(Walk {
                builder: &mut *builder,
                key,
                number: &mut *number,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Walk {
            builder, number, ..
        } = self;
        while let Some(key) = map.next_key_seed(Key)? {
            builder.push(Location::JsonKeys, "", &key);
            map.next_value_seed(Walk {
                builder: &mut *builder,
                key: &key,
                number: &mut *number,
            })?;
        }
        Ok(())
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.to_owned().into())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(v.into())
    }
}
