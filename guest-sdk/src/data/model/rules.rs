//! Field rules the derive calls: validation (`range`, `length`, `regex`), timestamps,
//! and [`Expiry`] for TTL attributes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};

use super::Error;
use crate::data::{BinarySet, Number, NumberSet, StringSet};

/// How a timestamp attribute is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeFormat {
    /// Milliseconds since the Unix epoch, a number (the default).
    EpochMillis,
    /// Seconds since the Unix epoch, a number (what DynamoDB's TTL reads).
    EpochSeconds,
    /// RFC 3339 / ISO 8601 text in UTC with milliseconds: `2026-12-04T09:30:00.000Z`.
    Iso8601,
}

fn since_epoch(now: SystemTime) -> Duration {
    // A clock before 1970 is a broken clock; 0 is as good an answer as any.
    now.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// A numeric field that can hold an epoch timestamp.
pub trait EpochField {
    /// The field's value for `n` (milliseconds or seconds since the epoch).
    fn from_epoch(n: u64) -> Self;
}

macro_rules! epoch_field {
    ($($t:ty),*) => {$(
        impl EpochField for $t {
            fn from_epoch(n: u64) -> Self {
                // Saturates: an i32 of seconds lasts until 2038, and then stays there
                // rather than wrapping.
                <$t>::try_from(n).unwrap_or(<$t>::MAX)
            }
        }
    )*};
}
epoch_field!(i32, u32, i64, u64, i128, u128);

impl<T: EpochField> EpochField for Option<T> {
    fn from_epoch(n: u64) -> Self {
        Some(T::from_epoch(n))
    }
}

/// A text field that can hold an ISO 8601 timestamp.
pub trait TextField {
    /// The field's value for `text`.
    fn from_text(text: String) -> Self;
}

impl TextField for String {
    fn from_text(text: String) -> Self {
        text
    }
}

impl<T: TextField> TextField for Option<T> {
    fn from_text(text: String) -> Self {
        Some(T::from_text(text))
    }
}

/// `now` in milliseconds since the epoch, as the field's type.
pub fn stamp_epoch_ms<T: EpochField>(now: SystemTime) -> T {
    T::from_epoch(u64::try_from(since_epoch(now).as_millis()).unwrap_or(u64::MAX))
}

/// `now` in seconds since the epoch, as the field's type.
pub fn stamp_epoch_s<T: EpochField>(now: SystemTime) -> T {
    T::from_epoch(since_epoch(now).as_secs())
}

/// `now` as RFC 3339 text with milliseconds, as the field's type.
pub fn stamp_iso8601<T: TextField>(now: SystemTime) -> T {
    T::from_text(humantime::format_rfc3339_millis(now).to_string())
}

/// `now` as an attribute value in `format`.
pub(crate) fn stamp_value(format: TimeFormat) -> crate::data::Value {
    let now = SystemTime::now();
    match format {
        TimeFormat::EpochMillis => crate::data::Value::from(stamp_epoch_ms::<u64>(now)),
        TimeFormat::EpochSeconds => crate::data::Value::from(stamp_epoch_s::<u64>(now)),
        TimeFormat::Iso8601 => crate::data::Value::from(stamp_iso8601::<String>(now)),
    }
}

/// A value `range(min, max)` can measure.
pub trait Measure {
    /// The value as a float; `None` skips the rule (an absent `Option`).
    fn measure(&self) -> Option<f64>;
}

macro_rules! measure {
    ($($t:ty),*) => {$(
        impl Measure for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless, reason = "a range rule compares in f64")]
            fn measure(&self) -> Option<f64> {
                Some(*self as f64)
            }
        }
    )*};
}
measure!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl Measure for Number {
    fn measure(&self) -> Option<f64> {
        self.parse::<f64>().ok()
    }
}

impl<T: Measure> Measure for Option<T> {
    fn measure(&self) -> Option<f64> {
        self.as_ref().and_then(Measure::measure)
    }
}

/// A value `length(min, max)` can count: characters of a string, elements of a
/// collection.
pub trait Length {
    /// The length; `None` skips the rule (an absent `Option`).
    fn length(&self) -> Option<usize>;
}

impl Length for String {
    fn length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}

impl Length for str {
    fn length(&self) -> Option<usize> {
        Some(self.chars().count())
    }
}

macro_rules! length_of_len {
    ($($t:ty),*) => {$(
        impl<E> Length for $t {
            fn length(&self) -> Option<usize> {
                Some(self.len())
            }
        }
    )*};
}
length_of_len!(Vec<E>, BTreeSet<E>, HashSet<E>);

impl<K, V> Length for BTreeMap<K, V> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

impl<K, V> Length for HashMap<K, V> {
    fn length(&self) -> Option<usize> {
        Some(self.len())
    }
}

macro_rules! length_of_set {
    ($($t:ty),*) => {$(
        impl Length for $t {
            fn length(&self) -> Option<usize> {
                Some(self.len())
            }
        }
    )*};
}
length_of_set!(StringSet, NumberSet, BinarySet);

impl<T: Length> Length for Option<T> {
    fn length(&self) -> Option<usize> {
        self.as_ref().and_then(Length::length)
    }
}

/// A value `regex` can match.
pub trait Text {
    /// The text; `None` skips the rule (an absent `Option`).
    fn text(&self) -> Option<&str>;
}

impl Text for String {
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: Text> Text for Option<T> {
    fn text(&self) -> Option<&str> {
        self.as_ref().and_then(Text::text)
    }
}

/// `range(min, max)`, both bounds inclusive.
///
/// # Errors
/// [`Error::Validation`] with rule `range`.
pub fn check_range<T: Measure + ?Sized>(
    attribute: &'static str,
    value: &T,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<(), Error> {
    let Some(n) = value.measure() else {
        return Ok(());
    };
    let fails = min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max);
    if fails {
        return Err(Error::Validation {
            attribute,
            rule: "range",
            message: format!("{n} is not within {}", bounds(min, max)),
        });
    }
    Ok(())
}

/// `length(min, max)`, both bounds inclusive.
///
/// # Errors
/// [`Error::Validation`] with rule `length`.
pub fn check_length<T: Length + ?Sized>(
    attribute: &'static str,
    value: &T,
    min: Option<usize>,
    max: Option<usize>,
) -> Result<(), Error> {
    let Some(n) = value.length() else {
        return Ok(());
    };
    let fails = min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max);
    if fails {
        return Err(Error::Validation {
            attribute,
            rule: "length",
            message: format!(
                "length {n} is not within {}",
                bounds(min.map(|m| m as f64), max.map(|m| m as f64))
            ),
        });
    }
    Ok(())
}

/// `regex = ".."`: the whole pattern must match somewhere in the text (anchor it with
/// `^…$` to match all of it).
///
/// # Errors
/// [`Error::Validation`] with rule `regex`.
pub fn check_regex<T: Text + ?Sized>(
    attribute: &'static str,
    value: &T,
    pattern: &'static str,
    regex: &regex_lite::Regex,
) -> Result<(), Error> {
    match value.text() {
        Some(text) if !regex.is_match(text) => Err(Error::Validation {
            attribute,
            rule: "regex",
            message: format!("does not match /{pattern}/"),
        }),
        _ => Ok(()),
    }
}

fn bounds(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("[{min}, {max}]"),
        (Some(min), None) => format!("[{min}, ∞)"),
        (None, Some(max)) => format!("(-∞, {max}]"),
        (None, None) => "(-∞, ∞)".to_owned(),
    }
}

/// A TTL attribute's value: when the item expires, stored as epoch seconds (what
/// DynamoDB's TTL reads). `In` is counted from the moment the item is written.
///
/// ```
/// use portico_guest::data::model::Expiry;
/// use std::time::Duration;
/// let in_a_week = Expiry::In(Duration::from_secs(7 * 24 * 3600));
/// assert!(in_a_week.at() > std::time::SystemTime::now());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// At this time.
    At(SystemTime),
    /// This long after the write.
    In(Duration),
}

impl Expiry {
    /// When the item expires.
    pub fn at(&self) -> SystemTime {
        match *self {
            Expiry::At(at) => at,
            Expiry::In(d) => SystemTime::now() + d,
        }
    }

    /// Epoch seconds, as stored.
    pub fn epoch_seconds(&self) -> u64 {
        since_epoch(self.at()).as_secs()
    }
}

impl Serialize for Expiry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.epoch_seconds())
    }
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let seconds = u64::deserialize(d)?;
        Ok(Expiry::At(UNIX_EPOCH + Duration::from_secs(seconds)))
    }
}
