//! `Serialize` and `Deserialize` for [`Value`], exact in the item format.
//!
//! In other formats a value is written naturally (JSON: strings, arrays, objects;
//! numbers as decimal strings, sets as arrays) and read from anything self-describing
//! (JSON numbers become `N`).
//!
//! Reading a `Value` from the item format must keep numbers and sets apart from strings
//! and lists, which serde's data model cannot say. `Value::deserialize` therefore asks
//! for a newtype struct named [`token::VALUE`]; the item format's deserializer answers
//! with an [`ExactDeserializer`], which presents numbers and sets as one-entry maps keyed
//! by private tokens that [`ValueVisitor`] recognises.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize, forward_to_deserialize_any};

use super::de::ValueDeserializer;
use super::token;
use crate::data::bytes::{ByteBuf, Bytes};
use crate::data::{Error, Number, Value};

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::S(s) => serializer.serialize_str(s),
            Value::N(n) => n.serialize(serializer),
            Value::B(b) => Bytes(b).serialize(serializer),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Null => serializer.serialize_unit(),
            Value::M(m) => serializer.collect_map(m),
            Value::L(l) => serializer.collect_seq(l),
            Value::Ss(s) => s.serialize(serializer),
            Value::Ns(s) => s.serialize(serializer),
            Value::Bs(s) => s.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(token::VALUE, ValueVisitor)
    }
}

/// Builds a [`Value`] from whatever a deserializer presents.
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Value::try_from(v).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Value::try_from(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Value::try_from(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::S(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::S(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::B(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::B(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(element) = seq.next_element()? {
            list.push(element);
        }
        Ok(Value::L(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Value::M(BTreeMap::new()));
        };
        match first.as_str() {
            token::NUMBER => {
                let text: String = map.next_value()?;
                text.parse::<Number>()
                    .map(Value::N)
                    .map_err(de::Error::custom)
            }
            token::SS => Ok(Value::Ss(
                map.next_value::<Vec<String>>()?.into_iter().collect(),
            )),
            token::NS => {
                let texts: Vec<String> = map.next_value()?;
                let numbers = texts
                    .iter()
                    .map(|t| t.parse::<Number>())
                    .collect::<Result<_, _>>()
                    .map_err(de::Error::custom)?;
                Ok(Value::Ns(numbers))
            }
            token::BS => {
                let bufs: Vec<ByteBuf> = map.next_value()?;
                Ok(Value::Bs(bufs.into_iter().map(|b| b.0).collect()))
            }
            _ => {
                let mut entries = BTreeMap::new();
                entries.insert(first, map.next_value()?);
                while let Some((key, value)) = map.next_entry()? {
                    entries.insert(key, value);
                }
                Ok(Value::M(entries))
            }
        }
    }
}

/// The item format's answer to `Value::deserialize`: numbers and sets as one-entry
/// token maps, everything else as usual.
pub(crate) struct ExactDeserializer(pub(crate) Value);

impl<'de> Deserializer<'de> for ExactDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let strings = |items: Vec<String>| Value::L(items.into_iter().map(Value::S).collect());
        match self.0 {
            Value::N(n) => visitor.visit_map(Tagged::new(token::NUMBER, Value::S(n.into_string()))),
            Value::Ss(s) => {
                visitor.visit_map(Tagged::new(token::SS, strings(s.into_iter().collect())))
            }
            Value::Ns(s) => visitor.visit_map(Tagged::new(
                token::NS,
                strings(s.into_iter().map(Number::into_string).collect()),
            )),
            Value::Bs(s) => visitor.visit_map(Tagged::new(
                token::BS,
                Value::L(s.into_iter().map(Value::B).collect()),
            )),
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// A map of one entry: a private token and the value it tags.
struct Tagged {
    key: Option<&'static str>,
    value: Option<Value>,
}

impl Tagged {
    fn new(key: &'static str, value: Value) -> Self {
        Tagged {
            key: Some(key),
            value: Some(value),
        }
    }
}

impl<'de> MapAccess<'de> for Tagged {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        self.key
            .take()
            .map(|k| seed.deserialize(StrDeserializer::<Error>::new(k)))
            .transpose()
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(ValueDeserializer(value)),
            None => Err(Error::serialization("a tagged value was read twice")),
        }
    }
}
