//! [`Number`]: DynamoDB's exact decimal numbers, kept as text.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::Error;
use super::format::token;

/// Most significant digits a number may have.
pub const MAX_DIGITS: usize = 38;
/// Largest decimal exponent of a number's leading digit (9.99…E+125).
const MAX_EXPONENT: i64 = 125;
/// Smallest decimal exponent of a number's leading digit (1E-130).
const MIN_EXPONENT: i64 = -130;

/// A DynamoDB number (`N`): an exact decimal of up to 38 significant digits, between
/// 1E-130 and 9.99…E+125 in magnitude, kept as a decimal string.
///
/// Making a number checks its syntax and DynamoDB's limits, and writes it the way
/// DynamoDB returns it (plain notation, no superfluous zeros): `"1.50"`, `"15E-1"` and
/// `"+1.5"` all become `1.5`. Equality and order are numeric.
///
/// A struct field of type `Number` stores and loads the exact digits: use it where an
/// `f64` would lose precision (money, 38-digit identifiers).
///
/// ```
/// use portico_guest::data::Number;
/// let n: Number = "12345678901234567890123456789012345678".parse()?;
/// assert_eq!(n.to_string(), "12345678901234567890123456789012345678");
/// assert_eq!(Number::from(42).parse::<i64>()?, 42);
/// assert_eq!(Number::try_from(0.1)?.as_str(), "0.1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    /// Canonical plain notation.
    text: String,
    /// Sign (false for zero).
    negative: bool,
    /// Significant digits without leading or trailing zeros; empty for zero.
    digits: String,
    /// Decimal exponent of the leading digit (0 for zero).
    exponent: i64,
}

impl Number {
    /// The number in DynamoDB's notation, e.g. `-0.25` or `100`.
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// assert_eq!("1e2".parse::<Number>()?.as_str(), "100");
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The decimal string, owned.
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// let text: String = Number::from(7).into_string();
    /// assert_eq!(text, "7");
    /// ```
    pub fn into_string(self) -> String {
        self.text
    }

    /// Parses the number as another type: `i64`, `u32`, `f64`, a decimal crate's type….
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// let n: Number = "2.5".parse()?;
    /// assert_eq!(n.parse::<f64>()?, 2.5);
    /// assert!(n.parse::<i64>().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse<T: FromStr>(&self) -> Result<T, T::Err> {
        self.text.parse()
    }

    /// Whether the number has no fractional part.
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// assert!("1.0".parse::<Number>()?.is_integer());
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn is_integer(&self) -> bool {
        self.digits.len() as i64 <= self.exponent + 1
    }

    /// Whether the number is zero.
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// assert!("-0.00".parse::<Number>()?.is_zero());
    /// # Ok::<(), portico_guest::data::Error>(())
    /// ```
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether the number is below zero.
    ///
    /// ```
    /// # use portico_guest::data::Number;
    /// assert!(Number::from(-3).is_negative());
    /// ```
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Builds a number from its parts, checking DynamoDB's limits.
    fn from_parts(negative: bool, digits: &str, exponent: i64) -> Result<Self, Error> {
        let digits = digits.trim_start_matches('0').trim_end_matches('0');
        let leading = exponent;
        if digits.is_empty() {
            return Ok(zero());
        }
        if digits.len() > MAX_DIGITS {
            return Err(Error::validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        if leading > MAX_EXPONENT {
            return Err(Error::validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ));
        }
        if leading < MIN_EXPONENT {
            return Err(Error::validation(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ));
        }
        Ok(Number {
            text: plain(negative, digits, leading),
            negative,
            digits: digits.to_owned(),
            exponent: leading,
        })
    }
}

/// Writes significant digits with the leading digit's exponent in plain notation.
fn plain(negative: bool, digits: &str, exponent: i64) -> String {
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
        return out;
    }
    // `exponent` is at most MAX_EXPONENT here, so the cast is exact.
    let int_len = exponent as usize + 1;
    if digits.len() <= int_len {
        out.push_str(digits);
        for _ in digits.len()..int_len {
            out.push('0');
        }
    } else {
        let (int, frac) = digits.split_at(int_len);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// The parts of a decimal literal: `[+-]digits[.digits][(e|E)[+-]digits]`.
fn parse_literal(text: &str) -> Option<(bool, String, i64)> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let exponent = match exponent {
        None => 0,
        Some(e) => {
            let (sign, digits) = match e.as_bytes().first()? {
                b'-' => (-1, &e[1..]),
                b'+' => (1, &e[1..]),
                _ => (1, e),
            };
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            // Saturate: anything this large is out of range unless the mantissa is zero.
            let magnitude = digits
                .parse::<i64>()
                .unwrap_or(i64::MAX / 4)
                .min(i64::MAX / 4);
            sign * magnitude
        }
    };
    let mut all = String::with_capacity(int.len() + frac.len());
    all.push_str(int);
    all.push_str(frac);
    let leading_zeros = all.bytes().take_while(|&b| b == b'0').count() as i64;
    // The leading significant digit's exponent.
    let leading = int.len() as i64 - 1 - leading_zeros + exponent;
    Some((negative, all, leading))
}

impl FromStr for Number {
    type Err = Error;

    /// Parses a decimal literal (`12`, `-0.5`, `1.5E+3`), checking DynamoDB's limits.
    fn from_str(text: &str) -> Result<Self, Error> {
        match parse_literal(text) {
            Some((negative, digits, exponent)) => Number::from_parts(negative, &digits, exponent),
            None => Err(Error::validation(format!(
                "A value provided cannot be converted into a number: {text:?}"
            ))),
        }
    }
}

impl TryFrom<&str> for Number {
    type Error = Error;

    fn try_from(text: &str) -> Result<Self, Error> {
        text.parse()
    }
}

impl TryFrom<String> for Number {
    type Error = Error;

    fn try_from(text: String) -> Result<Self, Error> {
        text.parse()
    }
}

/// An integer, which always fits: at most 20 digits.
fn integer(negative: bool, magnitude: u64) -> Number {
    if magnitude == 0 {
        return zero();
    }
    let all = magnitude.to_string();
    let exponent = all.len() as i64 - 1;
    let digits = all.trim_end_matches('0').to_owned();
    let text = if negative { format!("-{all}") } else { all };
    Number {
        text,
        negative,
        digits,
        exponent,
    }
}

fn zero() -> Number {
    Number {
        text: "0".into(),
        negative: false,
        digits: String::new(),
        exponent: 0,
    }
}

macro_rules! from_signed {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            /// Integers of 64 bits or less always fit a DynamoDB number.
            fn from(value: $t) -> Self {
                integer(value < 0, value.unsigned_abs() as u64)
            }
        }
    )*};
}

macro_rules! from_unsigned {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            /// Integers of 64 bits or less always fit a DynamoDB number.
            fn from(value: $t) -> Self {
                integer(false, value as u64)
            }
        }
    )*};
}

from_signed!(i8, i16, i32, i64, isize);
from_unsigned!(u8, u16, u32, u64, usize);

impl TryFrom<i128> for Number {
    type Error = Error;

    /// Fails beyond 38 significant digits.
    fn try_from(value: i128) -> Result<Self, Error> {
        value.to_string().parse()
    }
}

impl TryFrom<u128> for Number {
    type Error = Error;

    /// Fails beyond 38 significant digits.
    fn try_from(value: u128) -> Result<Self, Error> {
        value.to_string().parse()
    }
}

impl TryFrom<f64> for Number {
    type Error = Error;

    /// The shortest decimal that reads back as the same `f64` (`0.1` stays `0.1`).
    /// Fails on NaN, infinities and magnitudes outside DynamoDB's range.
    fn try_from(value: f64) -> Result<Self, Error> {
        if !value.is_finite() {
            return Err(Error::serialization(format!(
                "{value} cannot be stored: DynamoDB numbers are finite"
            )));
        }
        format!("{value:e}").parse()
    }
}

impl TryFrom<f32> for Number {
    type Error = Error;

    /// The shortest decimal that reads back as the same `f32` (`0.1f32` is `0.1`).
    /// Fails on NaN and infinities.
    fn try_from(value: f32) -> Result<Self, Error> {
        if !value.is_finite() {
            return Err(Error::serialization(format!(
                "{value} cannot be stored: DynamoDB numbers are finite"
            )));
        }
        format!("{value:e}").parse()
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({})", self.text)
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    /// Numeric order.
    fn cmp(&self, other: &Self) -> Ordering {
        let sign = |n: &Number| match (n.negative, n.is_zero()) {
            (true, _) => -1,
            (false, true) => 0,
            (false, false) => 1,
        };
        let by_sign = sign(self).cmp(&sign(other));
        if by_sign != Ordering::Equal || self.is_zero() {
            return by_sign;
        }
        // Same sign, both non-zero: compare magnitudes. Digit strings have no trailing
        // zeros, so with equal exponents the lexicographic order is the numeric one.
        let magnitude = self
            .exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits.cmp(&other.digits));
        if self.negative {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

impl Serialize for Number {
    /// In Portico's item format, an `N`; in other formats (JSON), the decimal string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(token::NUMBER, self.as_str())
    }
}

impl<'de> Deserialize<'de> for Number {
    /// From an `N` exactly; from other formats, from a decimal string or a number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(token::NUMBER, NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a decimal string")
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Number, D::Error> {
        d.deserialize_any(NumberVisitor)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Number::try_from(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        match text.parse() {
            Ok(n) => n,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn thirty_eight_digits_are_exact() {
        for text in [
            "12345678901234567890123456789012345678",
            "-0.12345678901234567890123456789012345678",
            "99999999999999999999999999999999999999",
        ] {
            assert_eq!(n(text).as_str(), text);
        }
        assert!(
            "123456789012345678901234567890123456789"
                .parse::<Number>()
                .is_err()
        );
        // Trailing zeros are not significant.
        assert_eq!(
            n("1234567890123456789012345678901234567800").as_str(),
            "1234567890123456789012345678901234567800"
        );
    }

    #[test]
    fn notation_is_normalised() {
        assert_eq!(n("1.50").as_str(), "1.5");
        assert_eq!(n("1e2").as_str(), "100");
        assert_eq!(n("15E-1").as_str(), "1.5");
        assert_eq!(n("+007.0100").as_str(), "7.01");
        assert_eq!(n("-0").as_str(), "0");
        assert_eq!(n("0e999999999999999999999").as_str(), "0");
        assert_eq!(n(".5").as_str(), "0.5");
        assert_eq!(n("5.").as_str(), "5");
        assert_eq!(n("0.00012").as_str(), "0.00012");
        assert_eq!(n("1.5"), n("15e-1"));
    }

    #[test]
    fn range_limits() {
        assert!("1E-130".parse::<Number>().is_ok());
        assert!("1E-131".parse::<Number>().is_err());
        assert!(
            "9.9999999999999999999999999999999999999E+125"
                .parse::<Number>()
                .is_ok()
        );
        assert!("1E+126".parse::<Number>().is_err());
        assert!("1E+99999999999999999999999".parse::<Number>().is_err());
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "", "-", "+", ".", "abc", "1.2.3", "NaN", "inf", " 1", "1 ", "0x10", "--1", "e5", "1e",
            "1e+", "1_000", "١",
        ] {
            assert!(text.parse::<Number>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn from_rust_numbers() {
        assert_eq!(Number::from(i64::MIN).as_str(), "-9223372036854775808");
        assert_eq!(Number::from(u64::MAX).as_str(), "18446744073709551615");
        assert_eq!(Number::from(0u8).as_str(), "0");
        assert_eq!(Number::from(-120i8).as_str(), "-120");
        assert!(Number::try_from(u128::MAX).is_err()); // 39 digits
        assert_eq!(
            Number::try_from(0.1f64).map(Number::into_string),
            Ok("0.1".into())
        );
        assert_eq!(
            Number::try_from(0.1f32).map(Number::into_string),
            Ok("0.1".into())
        );
        assert_eq!(
            Number::try_from(-2.5e-7).map(Number::into_string),
            Ok("-0.00000025".into())
        );
        assert_eq!(
            Number::try_from(-0.0).map(Number::into_string),
            Ok("0".into())
        );
        assert!(Number::try_from(f64::NAN).is_err());
        assert!(Number::try_from(f64::INFINITY).is_err());
        assert!(Number::try_from(1e300).is_err());
    }

    #[test]
    fn numeric_order() {
        let mut v = [
            n("10"),
            n("-1.5"),
            n("0"),
            n("9.99"),
            n("-10"),
            n("0.001"),
            n("-0.5"),
        ];
        v.sort();
        let texts: Vec<_> = v.iter().map(Number::as_str).collect();
        assert_eq!(texts, ["-10", "-1.5", "-0.5", "0", "0.001", "9.99", "10"]);
        assert!(n("1.5") > n("1"));
        assert!(n("-1.5") < n("-1"));
    }

    #[test]
    fn predicates() {
        assert!(n("100").is_integer());
        assert!(!n("0.5").is_integer());
        assert!(n("0").is_integer());
        assert!(n("-3").is_negative());
        assert!(!n("-0").is_negative());
    }
}
