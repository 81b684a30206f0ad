//! DynamoDB numbers: up to 38 significant digits, magnitude 1E-130 to 9.99…E+125.
//!
//! `rust_decimal` holds 28 digits, so numbers are kept as a normalised
//! [`BigDecimal`]: arbitrary precision for arithmetic, checked against DynamoDB's
//! limits whenever a number is made.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use bigdecimal::num_bigint::Sign;
use bigdecimal::{BigDecimal, Zero};

use crate::error::DataError;

/// Most significant digits a DynamoDB number may have.
pub const MAX_DIGITS: u64 = 38;
/// Largest decimal exponent of a number's leading digit (9.99…E+125).
pub const MAX_EXPONENT: i64 = 125;
/// Smallest decimal exponent of a number's leading digit (1E-130).
pub const MIN_EXPONENT: i64 = -130;

/// A DynamoDB number: exact, within DynamoDB's precision and range.
///
/// Two numbers that differ only in notation (`"1.50"`, `"1.5"`, `"15E-1"`) are equal and
/// print the same way (`1.5`), as DynamoDB returns them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number(BigDecimal);

impl Number {
    /// Checks and wraps an arbitrary-precision decimal.
    ///
    /// # Errors
    /// A validation error when the value has more than 38 significant digits or lies
    /// outside DynamoDB's range.
    pub fn new(value: &BigDecimal) -> Result<Self, DataError> {
        let value = value.normalized();
        if value.is_zero() {
            return Ok(Self(BigDecimal::from(0)));
        }
        if value.digits() > MAX_DIGITS {
            return Err(DataError::validation(
                "Attempting to store more than 38 significant digits in a Number",
            ));
        }
        let exponent = adjusted_exponent(&value);
        if exponent > MAX_EXPONENT {
            return Err(DataError::validation(
                "Number overflow. Attempting to store a number with magnitude larger than supported range",
            ));
        }
        if exponent < MIN_EXPONENT {
            return Err(DataError::validation(
                "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            ));
        }
        Ok(Self(value))
    }

    /// The number as an arbitrary-precision decimal.
    pub fn as_decimal(&self) -> &BigDecimal {
        &self.0
    }

    /// `self + other`, checked against DynamoDB's limits.
    ///
    /// # Errors
    /// A validation error when the exact result does not fit a DynamoDB number.
    pub fn checked_add(&self, other: &Number) -> Result<Number, DataError> {
        Number::new(&(&self.0 + &other.0))
    }

    /// `self - other`, checked against DynamoDB's limits.
    ///
    /// # Errors
    /// A validation error when the exact result does not fit a DynamoDB number.
    pub fn checked_sub(&self, other: &Number) -> Result<Number, DataError> {
        Number::new(&(&self.0 - &other.0))
    }

    /// Whether the number is negative, zero or positive.
    pub fn signum(&self) -> Ordering {
        match self.0.sign() {
            Sign::Minus => Ordering::Less,
            Sign::NoSign => Ordering::Equal,
            Sign::Plus => Ordering::Greater,
        }
    }

    /// The significant digits (no leading or trailing zeros; empty for zero) and the
    /// decimal exponent of the leading digit: `123.4` is `("1234", 2)`.
    pub fn digits_and_exponent(&self) -> (String, i64) {
        if self.0.is_zero() {
            return (String::new(), 0);
        }
        let (int, _) = self.0.as_bigint_and_exponent();
        let digits = int.magnitude().to_string();
        let digits = digits.trim_end_matches('0').to_owned();
        (digits, adjusted_exponent(&self.0))
    }

    /// How many bytes DynamoDB counts for this number in an item's size: about one byte
    /// per two significant digits, plus one.
    pub fn stored_size(&self) -> usize {
        let (digits, _) = self.digits_and_exponent();
        digits.len().div_ceil(2) + 1
    }
}

/// The decimal exponent of the leading digit of a non-zero, normalised decimal.
fn adjusted_exponent(value: &BigDecimal) -> i64 {
    let (_, scale) = value.as_bigint_and_exponent();
    let digits = i64::try_from(value.digits()).unwrap_or(i64::MAX);
    digits - 1 - scale
}

impl FromStr for Number {
    type Err = DataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let well_formed = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
            && text.bytes().any(|b| b.is_ascii_digit());
        let parsed = if well_formed {
            BigDecimal::from_str(text).ok()
        } else {
            None
        };
        match parsed {
            Some(value) => Number::new(&value),
            None => Err(DataError::validation(format!(
                "A value provided cannot be converted into a number: {text:?}"
            ))),
        }
    }
}

impl fmt::Display for Number {
    /// Plain notation, as DynamoDB returns numbers: `100`, `0.001`, `-1.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_plain_string())
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl From<i64> for Number {
    fn from(value: i64) -> Self {
        // Any i64 has at most 19 digits and fits DynamoDB's range.
        Self(BigDecimal::from(value).normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        text.parse().expect(text)
    }

    #[test]
    fn thirty_eight_digits_round_trip_exactly() {
        let text = "12345678901234567890123456789012345678";
        assert_eq!(n(text).to_string(), text);
        let text = "-0.12345678901234567890123456789012345678";
        assert_eq!(n(text).to_string(), text);
    }

    #[test]
    fn thirty_nine_digits_are_refused() {
        assert!(
            "123456789012345678901234567890123456789"
                .parse::<Number>()
                .is_err()
        );
        // Trailing zeros are not significant.
        assert!(
            "1234567890123456789012345678901234567800"
                .parse::<Number>()
                .is_ok()
        );
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
    }

    #[test]
    fn notation_is_normalised() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("1e2").to_string(), "100");
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(n("15E-1"), n("1.5"));
    }

    #[test]
    fn garbage_is_refused() {
        for text in ["", "abc", "1.2.3", "NaN", "inf", " 1", "0x10", "--1", "e5"] {
            assert!(text.parse::<Number>().is_err(), "{text:?}");
        }
    }

    #[test]
    fn digits_and_exponent() {
        assert_eq!(n("123.4").digits_and_exponent(), ("1234".into(), 2));
        assert_eq!(n("0.005").digits_and_exponent(), ("5".into(), -3));
        assert_eq!(n("1000").digits_and_exponent(), ("1".into(), 3));
    }

    #[test]
    fn arithmetic_is_exact_and_checked() {
        let big = n("99999999999999999999999999999999999999");
        assert!(big.checked_add(&n("1")).is_ok()); // 1E+38: one significant digit
        assert!(big.checked_add(&n("0.1")).is_err()); // 39 digits
        assert_eq!(
            n("0.1").checked_add(&n("0.2")).map(|x| x.to_string()).ok(),
            Some("0.3".into())
        );
    }
}
