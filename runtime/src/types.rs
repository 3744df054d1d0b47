//! Rust types for Hasura's scalars, used by the code `rasura-codegen` generates (and by hand).
//!
//! Hasura names most scalars after their Postgres type (docs/protocol.md §6.2). Their JSON encodings
//! vary: `bigint`, `numeric` and `float8` are numbers, or strings under
//! `HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES`; arrays are Postgres literals (`"{a,b}"`) in GraphQL
//! results and JSON arrays in event payloads. The types here accept every encoding Hasura (or
//! Postgres, for event rows) produces, and write the one Hasura accepts as input.
//!
//! | Hasura scalar | Rust |
//! |---|---|
//! | `uuid` | [`Uuid`] |
//! | `timestamptz` | [`Timestamptz`] (UTC date-time; any offset is accepted) |
//! | `timestamp` / `date` / `time` | [`Timestamp`] / [`Date`] / [`Time`] |
//! | `numeric` | [`Numeric`] (exact decimal) |
//! | `bigint` / `float8` | [`BigInt`] / [`Float8`] |
//! | `smallint` | `i16` |
//! | `json` / `jsonb` | [`Json`] |
//! | `citext`, `bpchar`, `text`, … | `String` |
//! | `_text`, `_int4`, … | [`PgArray`] |
//!
//! Nullable fields of input objects use [`Nullable`], which tells "leave it" from "set it to
//! null".

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

pub use chrono;
pub use rust_decimal;
pub use rust_decimal::Decimal;
pub use serde_json;
pub use uuid;
pub use uuid::Uuid;

/// `timestamptz`: a date-time with a time zone, normalised to UTC.
pub type Timestamptz = chrono::DateTime<chrono::Utc>;
/// `timestamp`: a date-time without a time zone (`2018-09-05T07:14:21.601701`).
pub type Timestamp = chrono::NaiveDateTime;
/// `date`: a calendar date (`2024-02-29`).
pub type Date = chrono::NaiveDate;
/// `time`: a time of day without a time zone (`10:00:00.5`).
pub type Time = chrono::NaiveTime;
/// `json` / `jsonb`: any JSON value.
pub type Json = serde_json::Value;

/// Formats a number as raw JSON digits (exact, without going through `f64`).
fn raw_number<S: Serializer>(digits: String, serializer: S) -> Result<S::Ok, S::Error> {
    let raw =
        serde_json::value::RawValue::from_string(digits).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// `numeric`: an exact decimal. Reads a JSON number or a string; writes a JSON number with its
/// exact digits.
///
/// JSON numbers are read through `f64` by `serde_json`, so more than about 15 significant digits
/// only survive when Hasura sends them as strings (`HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Numeric(pub Decimal);

impl fmt::Display for Numeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Numeric {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Decimal::from_str_exact(s)
            .or_else(|_| Decimal::from_scientific(s))
            .map(Numeric)
    }
}

impl From<Decimal> for Numeric {
    fn from(d: Decimal) -> Self {
        Numeric(d)
    }
}

impl From<i64> for Numeric {
    fn from(n: i64) -> Self {
        Numeric(Decimal::from(n))
    }
}

impl Serialize for Numeric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        raw_number(self.0.normalize().to_string(), serializer)
    }
}

impl<'de> Deserialize<'de> for Numeric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumericVisitor;
        impl Visitor<'_> for NumericVisitor {
            type Value = Numeric;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a numeric value (a JSON number or a decimal string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Numeric, E> {
                Ok(Numeric(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Numeric, E> {
                Ok(Numeric(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Numeric, E> {
                // The shortest text that round-trips the `f64`: `0.1`, not `0.1000000000000000055`.
                v.to_string()
                    .parse()
                    .map_err(|_| E::custom(format!("{v} is not a finite decimal")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Numeric, E> {
                v.parse()
                    .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
            }
        }
        deserializer.deserialize_any(NumericVisitor)
    }
}

/// `bigint` (and `bigserial`): a 64-bit integer. Reads a JSON number or a string; writes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct BigInt(pub i64);

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<i64> for BigInt {
    fn from(n: i64) -> Self {
        BigInt(n)
    }
}

impl From<BigInt> for i64 {
    fn from(n: BigInt) -> Self {
        n.0
    }
}

impl Serialize for BigInt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for BigInt {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BigIntVisitor;
        impl Visitor<'_> for BigIntVisitor {
            type Value = BigInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 64-bit integer (a JSON number or a string)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BigInt, E> {
                Ok(BigInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BigInt, E> {
                i64::try_from(v)
                    .map(BigInt)
                    .map_err(|_| E::custom(format!("{v} does not fit a bigint")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<BigInt, E> {
                // 9007199254740993 arrives as a float only if it was written as one (`1e3`).
                if v.fract() == 0.0 && v.abs() < 9.2e18 {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(BigInt(v as i64))
                } else {
                    Err(E::custom(format!("{v} is not an integer")))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BigInt, E> {
                v.trim()
                    .parse()
                    .map(BigInt)
                    .map_err(|_| E::custom(format!("`{v}` is not a 64-bit integer")))
            }
        }
        deserializer.deserialize_any(BigIntVisitor)
    }
}

/// `float8` (double precision): reads a JSON number or a string (including `NaN`, `Infinity`,
/// `-Infinity`); writes a number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Float8(pub f64);

impl fmt::Display for Float8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<f64> for Float8 {
    fn from(n: f64) -> Self {
        Float8(n)
    }
}

impl From<Float8> for f64 {
    fn from(n: Float8) -> Self {
        n.0
    }
}

impl Serialize for Float8 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f64(self.0)
        } else {
            // JSON has no NaN or infinity; Postgres reads these spellings.
            let text = if self.0.is_nan() {
                "NaN"
            } else if self.0 > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            serializer.serialize_str(text)
        }
    }
}

impl<'de> Deserialize<'de> for Float8 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Float8Visitor;
        impl Visitor<'_> for Float8Visitor {
            type Value = Float8;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a float8 (a JSON number or a string)")
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Float8, E> {
                Ok(Float8(v as f64))
            }
            #[allow(clippy::cast_precision_loss)]
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Float8, E> {
                Ok(Float8(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Float8, E> {
                Ok(Float8(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Float8, E> {
                match v.trim() {
                    "Infinity" | "infinity" => Ok(Float8(f64::INFINITY)),
                    "-Infinity" | "-infinity" => Ok(Float8(f64::NEG_INFINITY)),
                    t => t
                        .parse()
                        .map(Float8)
                        .map_err(|_| E::custom(format!("`{v}` is not a float8"))),
                }
            }
        }
        deserializer.deserialize_any(Float8Visitor)
    }
}

/// A nullable input field: absent (leave the column alone), `null` (set it to null) or a value.
///
/// Generated input objects mark these fields `#[serde(default, skip_serializing_if =
/// "Nullable::is_absent")]`, so `Nullable::Absent` is not sent at all: an update built with
/// `..Default::default()` never sets a column to null by accident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Nullable<T> {
    /// Not sent.
    #[default]
    Absent,
    /// Sent as `null`.
    Null,
    /// Sent as the value.
    Value(T),
}

impl<T> Nullable<T> {
    /// Whether the field is left out.
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }

    /// The value, if there is one.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if there is one.
    pub fn into_option(self) -> Option<T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(v: T) -> Self {
        Nullable::Value(v)
    }
}

impl<T> From<Option<T>> for Nullable<T> {
    /// `None` is an explicit `null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Nullable::Null, Nullable::Value)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Nullable::Value(v) => serializer.serialize_some(v),
            Nullable::Absent | Nullable::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    /// A present `null` is `Null`; a missing field is `Absent` (with `#[serde(default)]`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Nullable::from)
    }
}

/// A Postgres array (`_text`, `_int4`, `_uuid`, …). Reads a JSON array (event payloads) or a
/// Postgres array literal such as `"{a,\"b c\",NULL}"` (GraphQL results); writes the literal,
/// which Hasura accepts as input for array columns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PgArray<T>(pub Vec<T>);

impl<T> From<Vec<T>> for PgArray<T> {
    fn from(v: Vec<T>) -> Self {
        PgArray(v)
    }
}

impl<T> std::ops::Deref for PgArray<T> {
    type Target = Vec<T>;
    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

/// Splits a one-dimensional Postgres array literal into its elements (`None` for `NULL`).
fn parse_pg_array(literal: &str) -> Result<Vec<Option<String>>, String> {
    let inner = literal
        .trim()
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| format!("`{literal}` is not a Postgres array literal"))?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut item = String::new();
        let quoted = chars.next_if_eq(&'"').is_some();
        if quoted {
            loop {
                match chars.next() {
                    Some('\\') => item.push(chars.next().ok_or("unterminated escape")?),
                    Some('"') => break,
                    Some(c) => item.push(c),
                    None => return Err(format!("unterminated quote in `{literal}`")),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '{' {
                    return Err("multi-dimensional arrays are not supported".into());
                }
                item.push(c);
            }
            item = item.trim_end().to_owned();
        }
        items.push(if !quoted && item.eq_ignore_ascii_case("NULL") {
            None
        } else {
            Some(item)
        });
        match chars.next() {
            Some(',') => continue,
            None => return Ok(items),
            Some(c) => return Err(format!("unexpected `{c}` in `{literal}`")),
        }
    }
}

/// One element of an array literal: text that deserialises as a string, a number or a bool.
struct PgText<'a>(Option<&'a str>);

macro_rules! pg_text_parse {
    ($($method:ident $visit:ident $ty:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Some(s) => match s.parse::<$ty>() {
                    Ok(v) => visitor.$visit(v),
                    Err(_) => visitor.visit_str(s),
                },
                None => visitor.visit_none(),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for PgText<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Some(s) => visitor.visit_str(s),
            None => visitor.visit_none(),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Some(_) => visitor.visit_some(self),
            None => visitor.visit_none(),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Some("t" | "true") => visitor.visit_bool(true),
            Some("f" | "false") => visitor.visit_bool(false),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    pg_text_parse!(
        deserialize_i8 visit_i64 i64, deserialize_i16 visit_i64 i64,
        deserialize_i32 visit_i64 i64, deserialize_i64 visit_i64 i64,
        deserialize_u8 visit_u64 u64, deserialize_u16 visit_u64 u64,
        deserialize_u32 visit_u64 u64, deserialize_u64 visit_u64 u64,
        deserialize_f32 visit_f64 f64, deserialize_f64 visit_f64 f64
    );

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map
        struct enum identifier ignored_any
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PgArray<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArrayVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrayVisitor<T> {
            type Value = PgArray<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array or a Postgres array literal such as \"{a,b}\"")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PgArray<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(PgArray(items))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PgArray<T>, E> {
                parse_pg_array(v)
                    .map_err(E::custom)?
                    .iter()
                    .map(|item| T::deserialize(PgText(item.as_deref())))
                    .collect::<Result<Vec<T>, _>>()
                    .map(PgArray)
                    .map_err(|e| E::custom(format!("in array `{v}`: {e}")))
            }
        }
        deserializer.deserialize_any(ArrayVisitor(std::marker::PhantomData))
    }
}

impl<T: Serialize> Serialize for PgArray<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut literal = String::from("{");
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            let text = match serde_json::to_value(item).map_err(serde::ser::Error::custom)? {
                serde_json::Value::Null => {
                    literal.push_str("NULL");
                    continue;
                }
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            literal.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        serializer.serialize_str(&literal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_reads_numbers_and_strings_and_writes_exact_digits() {
        let n: Numeric = serde_json::from_value(json!(12.5)).unwrap();
        assert_eq!(n.to_string(), "12.5");
        let n: Numeric = serde_json::from_value(json!("123456789012345678901234.5")).unwrap();
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            "123456789012345678901234.5"
        );
        let n: Numeric = serde_json::from_str("0.1").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "0.1");
        let n: Numeric = serde_json::from_str("\"1e3\"").unwrap();
        assert_eq!(n, Numeric::from(1000));
        assert!(serde_json::from_str::<Numeric>("\"abc\"").is_err());
        assert!(serde_json::from_str::<Numeric>("true").is_err());
    }

    #[test]
    fn bigint_reads_numbers_and_strings() {
        assert_eq!(
            serde_json::from_str::<BigInt>("9007199254740993").unwrap(),
            BigInt(9_007_199_254_740_993)
        );
        assert_eq!(
            serde_json::from_str::<BigInt>("\"9223372036854775807\"").unwrap(),
            BigInt(i64::MAX)
        );
        assert_eq!(serde_json::to_string(&BigInt(-3)).unwrap(), "-3");
        assert!(serde_json::from_str::<BigInt>("\"1.5\"").is_err());
        assert!(serde_json::from_str::<BigInt>("1.5").is_err());
        assert!(serde_json::from_str::<BigInt>("18446744073709551615").is_err());
    }

    #[test]
    fn float8_reads_numbers_strings_and_infinities() {
        assert_eq!(
            serde_json::from_str::<Float8>("1.25").unwrap(),
            Float8(1.25)
        );
        assert_eq!(
            serde_json::from_str::<Float8>("\"2.5\"").unwrap(),
            Float8(2.5)
        );
        assert_eq!(serde_json::from_str::<Float8>("3").unwrap(), Float8(3.0));
        assert!(
            serde_json::from_str::<Float8>("\"NaN\"")
                .unwrap()
                .0
                .is_nan()
        );
        assert_eq!(
            serde_json::from_str::<Float8>("\"-Infinity\"").unwrap(),
            Float8(f64::NEG_INFINITY)
        );
        assert_eq!(
            serde_json::to_string(&Float8(f64::INFINITY)).unwrap(),
            "\"Infinity\""
        );
    }

    #[test]
    fn nullable_tells_absent_from_null() {
        #[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
        struct SetInput {
            #[serde(default, skip_serializing_if = "Nullable::is_absent")]
            name: Nullable<String>,
            #[serde(default, skip_serializing_if = "Nullable::is_absent")]
            phone: Nullable<String>,
        }
        let input = SetInput {
            name: "x".to_owned().into(),
            phone: Nullable::Null,
        };
        assert_eq!(
            serde_json::to_value(&input).unwrap(),
            json!({"name": "x", "phone": null})
        );
        assert_eq!(
            serde_json::to_value(SetInput::default()).unwrap(),
            json!({})
        );
        let back: SetInput = serde_json::from_value(json!({"phone": null})).unwrap();
        assert_eq!(back.name, Nullable::Absent);
        assert_eq!(back.phone, Nullable::Null);
    }

    #[test]
    fn pg_array_reads_json_arrays_and_literals() {
        let a: PgArray<String> = serde_json::from_value(json!(["a", "b"])).unwrap();
        assert_eq!(a.0, ["a", "b"]);
        let a: PgArray<String> = serde_json::from_value(json!(r#"{a,"b c","d\"e",  f }"#)).unwrap();
        assert_eq!(a.0, ["a", "b c", "d\"e", "f"]);
        let a: PgArray<i32> = serde_json::from_value(json!("{1,2,3}")).unwrap();
        assert_eq!(a.0, [1, 2, 3]);
        let a: PgArray<Option<String>> =
            serde_json::from_value(json!("{x,NULL,\"NULL\"}")).unwrap();
        assert_eq!(a.0, [Some("x".into()), None, Some("NULL".into())]);
        let a: PgArray<bool> = serde_json::from_value(json!("{t,f}")).unwrap();
        assert_eq!(a.0, [true, false]);
        let a: PgArray<Uuid> =
            serde_json::from_value(json!("{67e55044-10b1-426f-9247-bb680e5fe0c8}")).unwrap();
        assert_eq!(a.0.len(), 1);
        let a: PgArray<String> = serde_json::from_value(json!("{}")).unwrap();
        assert!(a.0.is_empty());
        assert!(serde_json::from_value::<PgArray<i32>>(json!("{1,x}")).is_err());
        assert!(serde_json::from_value::<PgArray<String>>(json!("a,b")).is_err());
        assert!(serde_json::from_value::<PgArray<String>>(json!("{{a}}")).is_err());
    }

    #[test]
    fn pg_array_writes_a_literal() {
        let a = PgArray(vec!["a".to_owned(), "b \"c\"".to_owned()]);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!(r#"{"a","b \"c\""}"#)
        );
        let a = PgArray(vec![Some(1), None]);
        assert_eq!(serde_json::to_value(&a).unwrap(), json!(r#"{"1",NULL}"#));
        let back: PgArray<Option<i32>> =
            serde_json::from_value(serde_json::to_value(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn date_times_read_hasura_and_postgres_encodings() {
        let t: Timestamptz = serde_json::from_str("\"2020-01-01T10:00:00.123+00:00\"").unwrap();
        assert_eq!(t.timestamp_millis(), 1_577_872_800_123);
        let t2: Timestamptz = serde_json::from_str("\"2020-01-01T12:00:00.123+02:00\"").unwrap();
        assert_eq!(t, t2);
        let n: Timestamp = serde_json::from_str("\"2018-09-05T07:14:21.601701\"").unwrap();
        assert_eq!(n.and_utc().timestamp(), 1_536_131_661);
        let d: Date = serde_json::from_str("\"2024-02-29\"").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        let time: Time = serde_json::from_str("\"10:00:00.5\"").unwrap();
        assert_eq!(time.to_string(), "10:00:00.500");
    }
}
