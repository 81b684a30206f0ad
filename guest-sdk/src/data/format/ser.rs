//! Rust values → [`Value`]: the serializing half of the item format.
//!
//! The serializer's output is `Option<Value>`: `None` means "absent" (an `Option::None`),
//! which struct fields and map entries leave out and lists and the top level write as
//! `NULL`. Sets go out as built, empty or with repeats: DynamoDB refuses those with its
//! own validation errors, which the SDK must not hide by dropping or changing them.

use std::collections::BTreeMap;

use serde::ser::{self, Impossible, Serialize};

use super::token;
use crate::data::{BinarySet, Error, Number, NumberSet, StringSet, Value};

type Out = Result<Option<Value>, Error>;

/// Serializes one Rust value into an attribute value.
pub(crate) struct ValueSerializer;

fn number(n: impl Into<Number>) -> Out {
    Ok(Some(Value::N(n.into())))
}

/// A value where something must be written: absent becomes `NULL`.
fn present(value: Option<Value>) -> Value {
    value.unwrap_or(Value::Null)
}

/// Turns the list a set type serialized into the set, members as given (an empty set
/// stays an empty set).
fn set(name: &str, inner: Option<Value>) -> Out {
    let elements = match inner {
        Some(Value::L(elements)) => elements,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(Error::serialization(format!(
                "a set must serialize as a sequence, not {}",
                other.value_type()
            )));
        }
    };
    let mismatch = |v: &Value| {
        Error::serialization(format!(
            "{} elements must all be of one type, found {}",
            name,
            v.value_type()
        ))
    };
    let value = match name {
        token::SS => Value::Ss(
            elements
                .into_iter()
                .map(|v| match v {
                    Value::S(s) => Ok(s),
                    other => Err(mismatch(&other)),
                })
                .collect::<Result<StringSet, Error>>()?,
        ),
        token::NS => Value::Ns(
            elements
                .into_iter()
                .map(|v| match v {
                    Value::N(n) => Ok(n),
                    other => Err(mismatch(&other)),
                })
                .collect::<Result<NumberSet, Error>>()?,
        ),
        _ => Value::Bs(
            elements
                .into_iter()
                .map(|v| match v {
                    Value::B(b) => Ok(b),
                    other => Err(mismatch(&other)),
                })
                .collect::<Result<BinarySet, Error>>()?,
        ),
    };
    Ok(Some(value))
}

/// `{variant: value}`: how enum variants with content are written.
fn variant(name: &str, value: Value) -> Value {
    Value::M(BTreeMap::from([(name.to_owned(), value)]))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Option<Value>;
    type Error = Error;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = SeqSerializer;
    type SerializeTupleStruct = SeqSerializer;
    type SerializeTupleVariant = SeqSerializer;
    type SerializeMap = MapSerializer;
    type SerializeStruct = MapSerializer;
    type SerializeStructVariant = MapSerializer;

    fn serialize_bool(self, v: bool) -> Out {
        Ok(Some(Value::Bool(v)))
    }

    fn serialize_i8(self, v: i8) -> Out {
        number(v)
    }

    fn serialize_i16(self, v: i16) -> Out {
        number(v)
    }

    fn serialize_i32(self, v: i32) -> Out {
        number(v)
    }

    fn serialize_i64(self, v: i64) -> Out {
        number(v)
    }

    fn serialize_i128(self, v: i128) -> Out {
        number(Number::try_from(v)?)
    }

    fn serialize_u8(self, v: u8) -> Out {
        number(v)
    }

    fn serialize_u16(self, v: u16) -> Out {
        number(v)
    }

    fn serialize_u32(self, v: u32) -> Out {
        number(v)
    }

    fn serialize_u64(self, v: u64) -> Out {
        number(v)
    }

    fn serialize_u128(self, v: u128) -> Out {
        number(Number::try_from(v)?)
    }

    fn serialize_f32(self, v: f32) -> Out {
        number(Number::try_from(v)?)
    }

    fn serialize_f64(self, v: f64) -> Out {
        number(Number::try_from(v)?)
    }

    fn serialize_char(self, v: char) -> Out {
        Ok(Some(Value::S(v.to_string())))
    }

    fn serialize_str(self, v: &str) -> Out {
        Ok(Some(Value::S(v.to_owned())))
    }

    fn serialize_bytes(self, v: &[u8]) -> Out {
        Ok(Some(Value::B(v.to_vec())))
    }

    fn serialize_none(self) -> Out {
        Ok(None)
    }

    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Out {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Out {
        Ok(Some(Value::Null))
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Out {
        Ok(Some(Value::Null))
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Out {
        Ok(Some(Value::S(variant.to_owned())))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, value: &T) -> Out {
        let inner = value.serialize(ValueSerializer)?;
        match name {
            token::NUMBER => match inner {
                Some(Value::S(text)) => number(text.parse::<Number>()?),
                _ => Err(Error::serialization("a Number must hold a decimal string")),
            },
            token::SS | token::NS | token::BS => set(name, inner),
            _ => Ok(inner),
        }
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant_name: &'static str,
        value: &T,
    ) -> Out {
        let inner = present(value.serialize(ValueSerializer)?);
        Ok(Some(variant(variant_name, inner)))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer, Error> {
        Ok(SeqSerializer::new(len, None))
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer, Error> {
        Ok(SeqSerializer::new(Some(len), None))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, Error> {
        Ok(SeqSerializer::new(Some(len), None))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, Error> {
        Ok(SeqSerializer::new(Some(len), Some(variant)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer, Error> {
        Ok(MapSerializer::new(None))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSerializer, Error> {
        Ok(MapSerializer::new(None))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<MapSerializer, Error> {
        Ok(MapSerializer::new(Some(variant)))
    }
}

/// Collects a list (`L`); inside an enum variant, `{variant: L}`.
pub(crate) struct SeqSerializer {
    elements: Vec<Value>,
    variant: Option<&'static str>,
}

impl SeqSerializer {
    fn new(len: Option<usize>, variant: Option<&'static str>) -> Self {
        SeqSerializer {
            elements: Vec::with_capacity(len.unwrap_or(0).min(1024)),
            variant,
        }
    }

    fn push<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.elements
            .push(present(value.serialize(ValueSerializer)?));
        Ok(())
    }

    fn finish(self) -> Out {
        let list = Value::L(self.elements);
        Ok(Some(match self.variant {
            Some(name) => variant(name, list),
            None => list,
        }))
    }
}

impl ser::SerializeSeq for SeqSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

/// Collects a map (`M`) from a map or a struct, leaving absent values out; inside an
/// enum variant, `{variant: M}`.
pub(crate) struct MapSerializer {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
    variant: Option<&'static str>,
}

impl MapSerializer {
    fn new(variant: Option<&'static str>) -> Self {
        MapSerializer {
            entries: BTreeMap::new(),
            key: None,
            variant,
        }
    }

    fn insert<T: ?Sized + Serialize>(&mut self, key: String, value: &T) -> Result<(), Error> {
        if let Some(value) = value.serialize(ValueSerializer)? {
            self.entries.insert(key, value);
        }
        Ok(())
    }

    fn finish(self) -> Out {
        let map = Value::M(self.entries);
        Ok(Some(match self.variant {
            Some(name) => variant(name, map),
            None => map,
        }))
    }
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::serialization("a map value came without its key"))?;
        self.insert(key, value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

impl ser::SerializeStruct for MapSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert(key.to_owned(), value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapSerializer {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.insert(key.to_owned(), value)
    }

    fn end(self) -> Out {
        self.finish()
    }
}

/// Map keys: strings, chars, integers (written in decimal), unit variants, and newtypes
/// of those.
struct KeySerializer;

fn key_error() -> Error {
    Error::serialization("map keys must be strings, integers or unit enum variants")
}

type KeyOut = Result<String, Error>;

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_bool(self, _v: bool) -> KeyOut {
        Err(key_error())
    }

    fn serialize_i8(self, v: i8) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_i16(self, v: i16) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_i32(self, v: i32) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_i64(self, v: i64) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_i128(self, v: i128) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_u8(self, v: u8) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_u16(self, v: u16) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_u32(self, v: u32) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_u64(self, v: u64) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_u128(self, v: u128) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_f32(self, _v: f32) -> KeyOut {
        Err(key_error())
    }

    fn serialize_f64(self, _v: f64) -> KeyOut {
        Err(key_error())
    }

    fn serialize_char(self, v: char) -> KeyOut {
        Ok(v.to_string())
    }

    fn serialize_str(self, v: &str) -> KeyOut {
        Ok(v.to_owned())
    }

    fn serialize_bytes(self, _v: &[u8]) -> KeyOut {
        Err(key_error())
    }

    fn serialize_none(self) -> KeyOut {
        Err(key_error())
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> KeyOut {
        Err(key_error())
    }

    fn serialize_unit(self) -> KeyOut {
        Err(key_error())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> KeyOut {
        Err(key_error())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> KeyOut {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> KeyOut {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> KeyOut {
        Err(key_error())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}
