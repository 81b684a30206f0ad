//! Serde helpers that store `Vec<u8>` fields as binaries (`B`).
//!
//! Serde writes a plain `Vec<u8>` as a list of numbers. Mark the field with
//! `#[serde(with = "portico_guest::data::bytes")]` (or use the `serde_bytes` crate) to
//! store it as a DynamoDB binary instead.
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Blob {
//!     id: String,
//!     #[serde(with = "portico_guest::data::bytes")]
//!     data: Vec<u8>,
//! }
//! let item = portico_guest::data::to_item(&Blob { id: "b".into(), data: vec![0, 255] })?;
//! assert_eq!(item.get_b("data"), Some(&[0u8, 255][..]));
//! # Ok::<(), portico_guest::data::Error>(())
//! ```

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Writes bytes as a binary.
///
/// ```
/// #[derive(serde::Serialize)]
/// struct S { #[serde(serialize_with = "portico_guest::data::bytes::serialize")] b: Vec<u8> }
/// ```
pub fn serialize<T: AsRef<[u8]> + ?Sized, S: Serializer>(
    bytes: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes.as_ref())
}

/// Reads bytes from a binary (or, leniently, a list of byte values).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct S { #[serde(deserialize_with = "portico_guest::data::bytes::deserialize")] b: Vec<u8> }
/// ```
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    ByteBuf::deserialize(deserializer).map(|b| b.0)
}

/// Borrowed bytes that serialize as bytes.
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Owned bytes that deserialize from bytes or a sequence of `u8`.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_byte_buf(ByteBufVisitor)
    }
}

struct ByteBufVisitor;

impl<'de> Visitor<'de> for ByteBufVisitor {
    type Value = ByteBuf;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a binary")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
        Ok(ByteBuf(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
        Ok(ByteBuf(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ByteBuf, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(ByteBuf(out))
    }
}
