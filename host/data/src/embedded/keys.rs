//! Order-preserving, self-delimiting byte encoding of key values.
//!
//! Byte order of the encodings equals DynamoDB's order of the values: strings and
//! binaries by their bytes, numbers by value. Each encoding ends itself, so a key is
//! the concatenation of its parts and every prefix of parts is a range prefix.
//!
//! - `S`, `B`: the bytes with `00` escaped as `00 FF`, then `00 00`.
//! - `N`: a sign class (`01` negative, `02` zero, `03` positive), then for non-zero
//!   numbers the leading digit's exponent (one byte, offset by 130) and one byte per
//!   significant digit (`d + 1`), then `00`. Negative numbers store the exponent and
//!   digits complemented and end with `FF`, so larger magnitudes sort first.

use crate::schema::KeySchema;
use crate::value::{Item, MIN_EXPONENT, Number, Value};

const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;

/// Appends the encoding of a key value (`S`, `N` or `B`). Other types are never key
/// values; they are refused by validation before they get here and encode as nothing.
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::S(text) => encode_bytes(text.as_bytes(), out),
        Value::B(bytes) => encode_bytes(bytes, out),
        Value::N(number) => encode_number(number, out),
        _ => {}
    }
}

/// Appends the escaped bytes without their terminator: the range prefix shared by every
/// string or binary that begins with `bytes`.
pub fn encode_prefix(bytes: &[u8], out: &mut Vec<u8>) {
    for &byte in bytes {
        out.push(byte);
        if byte == 0 {
            out.push(0xFF);
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    encode_prefix(bytes, out);
    out.extend_from_slice(&[0, 0]);
}

fn encode_number(number: &Number, out: &mut Vec<u8>) {
    let (digits, exponent) = number.digits_and_exponent();
    let offset = u8::try_from(exponent - MIN_EXPONENT).unwrap_or(u8::MAX);
    match number.signum() {
        std::cmp::Ordering::Equal => out.push(ZERO),
        std::cmp::Ordering::Greater => {
            out.push(POSITIVE);
            out.push(offset);
            out.extend(digits.bytes().map(|d| d - b'0' + 1));
            out.push(0x00);
        }
        std::cmp::Ordering::Less => {
            out.push(NEGATIVE);
            out.push(u8::MAX - offset);
            out.extend(digits.bytes().map(|d| 10 - (d - b'0')));
            out.push(0xFF);
        }
    }
}

/// The encoding of an item's key under `schema`: partition key, then sort key.
/// `None` when the item lacks one of the key attributes.
pub fn encode_key(schema: &KeySchema, item: &Item) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(32);
    for attr in schema.attributes() {
        encode_value(item.get(&attr.name)?, &mut out);
    }
    Some(out)
}

/// The smallest byte string greater than every string that starts with `prefix`, or
/// `None` when there is none (the prefix is all `FF`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(value, &mut out);
        out
    }

    fn num(text: &str) -> Value {
        Value::N(text.parse().expect(text))
    }

    #[test]
    fn numbers_sort_by_value() {
        let ordered = [
            "-1E+125",
            "-100",
            "-10",
            "-9.5",
            "-1.5",
            "-1",
            "-0.001",
            "-1E-130",
            "0",
            "1E-130",
            "0.001",
            "0.0011",
            "1",
            "1.5",
            "9",
            "10",
            "10.5",
            "100",
            "12345678901234567890123456789012345678",
            "9.9E+125",
        ];
        let encoded: Vec<_> = ordered.iter().map(|t| enc(&num(t))).collect();
        for pair in encoded.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
    }

    #[test]
    fn strings_sort_by_bytes_and_are_prefix_free() {
        let ordered = ["", "\0", "\0\0", "a", "a\0", "a\u{1}", "ab", "b", "é"];
        let encoded: Vec<_> = ordered.iter().map(|t| enc(&Value::s(*t))).collect();
        for pair in encoded.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
            assert!(!pair[1].starts_with(&pair[0]), "{pair:?}");
        }
    }

    #[test]
    fn composite_keys_group_by_partition() {
        let schema = crate::schema::string_keys("pk", Some("sk"));
        let key = |pk: &str, sk: &str| {
            let item: Item = [("pk".into(), Value::s(pk)), ("sk".into(), Value::s(sk))].into();
            encode_key(&schema, &item).expect("key")
        };
        let mut prefix = Vec::new();
        encode_value(&Value::s("a"), &mut prefix);
        assert!(key("a", "zzz").starts_with(&prefix));
        assert!(!key("ab", "").starts_with(&prefix));
        assert!(key("a", "zzz") < key("ab", ""));
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF]), None);
    }
}
