//! Compact deserialisation for the response types `rasura-codegen` generates for operations.
//!
//! A `#[derive(Deserialize)]` expands to a visitor, a field enum with its own `Deserialize`, and
//! sequence and map paths: about a hundred lines per struct, which is most of what a crate pays
//! to compile generated operations. The generated impls instead call [`ResponseFields`]: one
//! generic routine reads the object's known keys into JSON values, and each field is then read
//! from its value. GraphQL responses are small, so the extra step costs little at run time.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// The known fields of one JSON object, read and waiting to be converted.
#[derive(Debug)]
pub struct ResponseFields {
    names: &'static [&'static str],
    values: Vec<Option<Value>>,
}

/// Finds a key's index among the names without allocating.
struct KeyIndex(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyIndex {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIndex {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|n| *n == key))
    }
}

struct ObjectVisitor(&'static [&'static str]);

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Vec<Option<Value>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.0.len()];
        while let Some(found) = map.next_key_seed(KeyIndex(self.0))? {
            match found {
                Some(i) => values[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

impl ResponseFields {
    /// Reads an object, keeping the values of `names` (wire names) and skipping other keys.
    pub fn read<'de, D: Deserializer<'de>>(
        deserializer: D,
        names: &'static [&'static str],
    ) -> Result<ResponseFields, D::Error> {
        let values = deserializer.deserialize_map(ObjectVisitor(names))?;
        Ok(ResponseFields { names, values })
    }

    /// Field `i`, which must be present.
    pub fn required<E: de::Error, T: Deserialize<'static>>(&mut self, i: usize) -> Result<T, E> {
        match self.values[i].take() {
            Some(v) => T::deserialize(v)
                .map_err(|e| E::custom(format_args!("field `{}`: {e}", self.names[i]))),
            None => Err(E::missing_field(self.names[i])),
        }
    }

    /// Field `i`, or the default (`None`) when it is absent.
    pub fn optional<E: de::Error, T: Deserialize<'static> + Default>(
        &mut self,
        i: usize,
    ) -> Result<T, E> {
        match self.values[i].take() {
            Some(v) => T::deserialize(v)
                .map_err(|e| E::custom(format_args!("field `{}`: {e}", self.names[i]))),
            None => Ok(T::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct User {
        id: String,
        name: Option<String>,
        files: Vec<u32>,
    }

    impl<'de> Deserialize<'de> for User {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let mut f = ResponseFields::read(d, &["id", "name", "files"])?;
            Ok(User {
                id: f.required::<D::Error, _>(0)?,
                name: f.optional::<D::Error, _>(1)?,
                files: f.required::<D::Error, _>(2)?,
            })
        }
    }

    #[test]
    fn reads_known_fields_skips_others_and_reports_missing_ones() {
        let u: User =
            serde_json::from_str(r#"{"files":[1,2],"extra":{"a":[1]},"id":"u1"}"#).unwrap();
        assert_eq!(
            u,
            User {
                id: "u1".into(),
                name: None,
                files: vec![1, 2]
            }
        );
        let err = serde_json::from_str::<User>(r#"{"files":[]}"#).unwrap_err();
        assert!(err.to_string().contains("missing field `id`"), "{err}");
        let err = serde_json::from_str::<User>(r#"{"id":1,"files":[]}"#).unwrap_err();
        assert!(
            err.to_string().contains("field `id`: invalid type"),
            "{err}"
        );
        assert!(serde_json::from_str::<User>("[]").is_err());
        let from_value: User =
            serde_json::from_value(serde_json::json!({"id": "x", "files": []})).unwrap();
        assert_eq!(from_value.id, "x");
    }
}
