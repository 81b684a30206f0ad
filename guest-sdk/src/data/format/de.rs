//! [`Value`] → Rust values: the deserializing half of the item format.

use std::collections::btree_map;
use std::str::FromStr;

use serde::de::value::StringDeserializer;
use serde::de::{self, DeserializeSeed, Expected, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;

use super::exact::ExactDeserializer;
use super::token;
use crate::data::{Error, Number, Value};

/// Deserializes a Rust value from one attribute value.
pub(crate) struct ValueDeserializer(pub(crate) Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::S(s) => Unexpected::Str(s),
        Value::N(_) => Unexpected::Other("number (N)"),
        Value::B(b) => Unexpected::Bytes(b),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Null => Unexpected::Unit,
        Value::M(_) => Unexpected::Map,
        Value::L(_) => Unexpected::Seq,
        Value::Ss(_) => Unexpected::Other("string set (SS)"),
        Value::Ns(_) => Unexpected::Other("number set (NS)"),
        Value::Bs(_) => Unexpected::Other("binary set (BS)"),
    }
}

fn invalid(value: &Value, expected: &dyn Expected) -> Error {
    de::Error::invalid_type(unexpected(value), expected)
}

/// Parses a number's text as a Rust number type.
fn parse_number<T: FromStr>(value: &Value, ty: &str, expected: &dyn Expected) -> Result<T, Error> {
    match value {
        Value::N(n) => n
            .parse()
            .map_err(|_| Error::serialization(format!("number {n} does not fit in {ty}"))),
        other => Err(invalid(other, expected)),
    }
}

/// A number where the target takes anything: integers as integers, the rest as `f64`.
fn visit_number<'de, V: Visitor<'de>>(n: Number, visitor: V) -> Result<V::Value, Error> {
    if let Ok(u) = n.parse::<u64>() {
        return visitor.visit_u64(u);
    }
    if let Ok(i) = n.parse::<i64>() {
        return visitor.visit_i64(i);
    }
    match n.parse::<f64>() {
        Ok(f) => visitor.visit_f64(f),
        Err(_) => visitor.visit_string(n.into_string()),
    }
}

/// The elements of a list, a set, or the bytes of a binary, as values.
fn elements(value: Value) -> Result<Vec<Value>, Value> {
    match value {
        Value::L(l) => Ok(l),
        Value::Ss(s) => Ok(s.into_iter().map(Value::S).collect()),
        Value::Ns(s) => Ok(s.into_iter().map(Value::N).collect()),
        Value::Bs(s) => Ok(s.into_iter().map(Value::B).collect()),
        Value::B(b) => Ok(b.into_iter().map(Value::from).collect()),
        other => Err(other),
    }
}

macro_rules! deserialize_number {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let n: $ty = parse_number(&self.0, stringify!($ty), &visitor)?;
            visitor.$visit(n)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::S(s) => visitor.visit_string(s),
            Value::N(n) => visit_number(n, visitor),
            Value::B(b) => visitor.visit_byte_buf(b),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Null => visitor.visit_unit(),
            Value::M(m) => visitor.visit_map(MapDeserializer::new(m)),
            other => match elements(other) {
                Ok(list) => visitor.visit_seq(SeqDeserializer::new(list)),
                Err(other) => Err(invalid(&other, &visitor)),
            },
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Bool(b) => visitor.visit_bool(b),
            other => Err(invalid(&other, &visitor)),
        }
    }

    deserialize_number! {
        deserialize_i8 => i64, visit_i64;
        deserialize_i16 => i64, visit_i64;
        deserialize_i32 => i64, visit_i64;
        deserialize_i64 => i64, visit_i64;
        deserialize_i128 => i128, visit_i128;
        deserialize_u8 => u64, visit_u64;
        deserialize_u16 => u64, visit_u64;
        deserialize_u32 => u64, visit_u64;
        deserialize_u64 => u64, visit_u64;
        deserialize_u128 => u128, visit_u128;
        deserialize_f32 => f64, visit_f64;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::S(s) => visitor.visit_string(s),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::B(b) => visitor.visit_byte_buf(b),
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(ValueDeserializer(other)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match (name, self.0) {
            (token::NUMBER, Value::N(n)) => {
                visitor.visit_newtype_struct(StringDeserializer::<Error>::new(n.into_string()))
            }
            (token::VALUE, value) => visitor.visit_newtype_struct(ExactDeserializer(value)),
            (_, value) => visitor.visit_newtype_struct(ValueDeserializer(value)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match elements(self.0) {
            Ok(list) => visitor.visit_seq(SeqDeserializer::new(list)),
            Err(other) => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::M(m) => visitor.visit_map(MapDeserializer::new(m)),
            other => Err(invalid(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::S(variant) => visitor.visit_enum(EnumDeserializer {
                variant,
                value: None,
            }),
            Value::M(m) if m.len() == 1 => match m.into_iter().next() {
                Some((variant, value)) => visitor.visit_enum(EnumDeserializer {
                    variant,
                    value: Some(value),
                }),
                None => Err(Error::serialization("an enum needs a variant")),
            },
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"an enum: a string, or a map of one entry",
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// The elements of a list or set.
pub(crate) struct SeqDeserializer {
    iter: std::vec::IntoIter<Value>,
}

impl SeqDeserializer {
    pub(crate) fn new(list: Vec<Value>) -> Self {
        SeqDeserializer {
            iter: list.into_iter(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for SeqDeserializer {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.iter
            .next()
            .map(|v| seed.deserialize(ValueDeserializer(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The entries of a map.
pub(crate) struct MapDeserializer {
    iter: btree_map::IntoIter<String, Value>,
    value: Option<Value>,
}

impl MapDeserializer {
    fn new(map: std::collections::BTreeMap<String, Value>) -> Self {
        MapDeserializer {
            iter: map.into_iter(),
            value: None,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDeserializer {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(KeyDeserializer(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(ValueDeserializer(value)),
            None => Err(Error::serialization(
                "a map value was asked for before its key",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// A map key: a string, read as an integer when the target is one.
struct KeyDeserializer(String);

macro_rules! deserialize_key_number {
    ($($method:ident => $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0.parse() {
                Ok(n) => visitor.$visit(n),
                Err(_) => Err(de::Error::invalid_value(Unexpected::Str(&self.0), &visitor)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    deserialize_key_number! {
        deserialize_i8 => visit_i8;
        deserialize_i16 => visit_i16;
        deserialize_i32 => visit_i32;
        deserialize_i64 => visit_i64;
        deserialize_i128 => visit_i128;
        deserialize_u8 => visit_u8;
        deserialize_u16 => visit_u16;
        deserialize_u32 => visit_u32;
        deserialize_u64 => visit_u64;
        deserialize_u128 => visit_u128;
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

/// An enum: the variant's name and, unless a unit variant, its content.
struct EnumDeserializer {
    variant: String,
    value: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for EnumDeserializer {
    type Error = Error;
    type Variant = VariantDeserializer;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantDeserializer), Error> {
        let variant = seed.deserialize(KeyDeserializer(self.variant))?;
        Ok((variant, VariantDeserializer(self.value)))
    }
}

struct VariantDeserializer(Option<Value>);

impl VariantDeserializer {
    fn content(self, expected: &dyn Expected) -> Result<Value, Error> {
        self.0
            .ok_or_else(|| de::Error::invalid_type(Unexpected::UnitVariant, expected))
    }
}

impl<'de> de::VariantAccess<'de> for VariantDeserializer {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(invalid(&other, &"a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        let value = self.content(&"a newtype variant")?;
        seed.deserialize(ValueDeserializer(value))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        let value = self.content(&visitor)?;
        de::Deserializer::deserialize_seq(ValueDeserializer(value), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let value = self.content(&visitor)?;
        de::Deserializer::deserialize_map(ValueDeserializer(value), visitor)
    }
}
