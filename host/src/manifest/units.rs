//! Human-friendly quantities in the manifest: sizes (`"128MiB"`, `10485760`) and
//! durations (`"30s"`, `"250ms"`).
//!
//! A value the host cannot hold exactly is an error, never clamped: a size must fit in 64
//! bits of bytes (at most 16 EiB) and be a whole number of bytes, and a duration must fit
//! in 64 bits of milliseconds (about 584 million years), which is how limits are stored
//! and shown.

use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::{Duration, Instant};

/// A size in bytes, written as an integer or a string with a unit (`"6MB"`, `"128 MiB"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 1048576, \"512KiB\", \"6MB\" or \"128MiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
                u64::try_from(v)
                    .map(Bytes)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                parse_size(v).map(Bytes).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Units a size may carry (case-insensitive), with their factors: bytesize's spellings.
const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("k", 1_000),
    ("kb", 1_000),
    ("m", 1_000_000),
    ("mb", 1_000_000),
    ("g", 1_000_000_000),
    ("gb", 1_000_000_000),
    ("t", 1_000_000_000_000),
    ("tb", 1_000_000_000_000),
    ("p", 1_000_000_000_000_000),
    ("pb", 1_000_000_000_000_000),
    ("e", 1_000_000_000_000_000_000),
    ("eb", 1_000_000_000_000_000_000),
    ("ki", 1 << 10),
    ("kib", 1 << 10),
    ("mi", 1 << 20),
    ("mib", 1 << 20),
    ("gi", 1 << 30),
    ("gib", 1 << 30),
    ("ti", 1 << 40),
    ("tib", 1 << 40),
    ("pi", 1 << 50),
    ("pib", 1 << 50),
    ("ei", 1 << 60),
    ("eib", 1 << 60),
];

/// Most decimal places a size may have (more can never be a whole number of bytes).
const MAX_DECIMALS: usize = 18;

/// Parses a size: a decimal number (`128`, `1.5`), optional spaces, and an optional unit
/// (`B`, `KB`, `MiB`, ...; none means bytes). The result is exact: a size that does not
/// fit in a `u64` or is not a whole number of bytes is an error.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "invalid size {text:?}: write a number and a unit, e.g. 1048576, \"512KiB\", \"6MB\" or \"128MiB\""
        )
    };
    let trimmed = text.trim();
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let unit = unit.trim_start();
    let factor = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(unit))
            .map(|&(_, factor)| factor)
            .ok_or_else(|| format!("{}: unknown unit {unit:?}", invalid()))?
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(invalid());
    }
    let too_large = || {
        format!(
            "size {text:?} is too large: the largest is {} bytes (16 EiB)",
            u64::MAX
        )
    };
    // Whole part: at most u64::MAX, times a factor of at most 2^60, fits in a u128.
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse::<u64>().map_err(|_| too_large())?.into()
    };
    let mut bytes = whole * u128::from(factor);
    let fraction = fraction.trim_end_matches('0');
    if !fraction.is_empty() {
        if fraction.len() > MAX_DECIMALS {
            return Err(format!(
                "size {text:?} is not a whole number of bytes (too many decimal places)"
            ));
        }
        let digits: u128 = fraction.parse().map_err(|_| invalid())?;
        // Both below 2^60: the product fits in a u128.
        let scaled = digits * u128::from(factor);
        let denominator = 10u128.pow(u32::try_from(fraction.len()).map_err(|_| invalid())?);
        if !scaled.is_multiple_of(denominator) {
            return Err(format!("size {text:?} is not a whole number of bytes"));
        }
        bytes += scaled / denominator;
    }
    u64::try_from(bytes).map_err(|_| too_large())
}

/// A duration written like `"30s"`, `"1500ms"` or `"2m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(HumanDuration)
            .map_err(de::Error::custom)
    }
}

/// Parses a duration (`"30s"`, `"1h 30m"`, humantime's syntax). One too long to keep in
/// 64 bits of milliseconds, or to add to the clock, is an error.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration {text:?} ({e}); write e.g. \"30s\" or \"500ms\""))?;
    let fits = u64::try_from(duration.as_millis()).is_ok()
        && Instant::now().checked_add(duration).is_some();
    if !fits {
        return Err(format!(
            "duration {text:?} is too long: the longest is {} milliseconds (about 584 million years)",
            u64::MAX
        ));
    }
    Ok(duration)
}

/// Checks a timeout: longer than zero (the runtime's rule) and a whole number of
/// milliseconds, the unit limits are stored and shown in (a `"500us"` timeout would be
/// stored as zero).
pub fn check_timeout(timeout: Duration) -> Result<Duration, String> {
    let timeout = crate::runtime::Limits::check_timeout(timeout).map_err(|e| e.to_string())?;
    if !timeout.subsec_nanos().is_multiple_of(1_000_000) {
        return Err(format!(
            "must be a whole number of milliseconds (timeouts are kept in milliseconds), got {}",
            humantime::format_duration(timeout)
        ));
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        b: Bytes,
        d: Option<HumanDuration>,
    }

    #[test]
    fn sizes_and_durations_parse() {
        let t: T = toml::from_str("b = \"128MiB\"\nd = \"250ms\"").expect("valid");
        assert_eq!(t.b, Bytes(128 << 20));
        assert_eq!(t.d, Some(HumanDuration(Duration::from_millis(250))));
        let t: T = toml::from_str("b = 6000000").expect("valid");
        assert_eq!(t.b, Bytes(6_000_000));
        assert!(toml::from_str::<T>("b = -1").is_err());
        assert!(toml::from_str::<T>("b = \"lots\"").is_err());
        assert!(toml::from_str::<T>("b = 1\nd = \"soon\"").is_err());
    }

    #[test]
    fn sizes_are_exact() {
        for (text, bytes) in [
            ("0", 0),
            ("1024", 1024),
            ("6MB", 6_000_000),
            ("6mb", 6_000_000),
            ("128 MiB", 128 << 20),
            (" 1KiB ", 1024),
            ("1.5KiB", 1536),
            ("0.5k", 500),
            (".5KiB", 512),
            ("2.KiB", 2048),
            ("1.50MB", 1_500_000),
            ("15EiB", 15 << 60),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
        // Exact at the top: 2^64 - 1 fits, one more does not.
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_size("18446744073709551615B"), Ok(u64::MAX));
    }

    #[test]
    fn sizes_that_do_not_fit_are_errors() {
        for text in [
            "99999999999999999999999GiB",
            "18446744073709551616",
            "18446744073709551616B",
            "16EiB",
            "16.5EiB",
            "20EB",
            "17179869184GiB",
        ] {
            let e = parse_size(text).expect_err(text);
            assert!(e.contains("too large"), "{text}: {e}");
        }
    }

    #[test]
    fn garbage_sizes_are_errors() {
        for text in [
            "", " ", "lots", "MiB", ".", "1..5MB", "1.2.3MB", "1e3", "1 2MB", "-1MB", "+1MB",
            "1MiBs", "0x10", "1,5MB", "NaN", "inf",
        ] {
            let e = parse_size(text).expect_err(text);
            assert!(e.contains("invalid size"), "{text:?}: {e}");
        }
        for text in ["1.5B", "0.3KiB", "0.0000000000000000001EiB"] {
            let e = parse_size(text).expect_err(text);
            assert!(e.contains("not a whole number of bytes"), "{text}: {e}");
        }
    }

    #[test]
    fn durations_that_do_not_fit_are_errors() {
        // humantime's own overflow.
        let e = parse_duration("99999999999999999999999s").expect_err("overflows");
        assert!(e.contains("invalid duration"), "{e}");
        // Fits a Duration, not 64-bit milliseconds.
        let e = parse_duration("18446744073709551615s").expect_err("overflows");
        assert!(e.contains("too long"), "{e}");
        let e = parse_duration("600000000years").expect_err("overflows");
        assert!(e.contains("too long"), "{e}");
        let e = parse_duration("18446744073709552s").expect_err("one second too long");
        assert!(e.contains("too long"), "{e}");
        // The longest whole seconds that fit.
        assert_eq!(
            parse_duration("18446744073709551s"),
            Ok(Duration::from_secs(u64::MAX / 1000))
        );
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn timeouts_are_whole_milliseconds_above_zero() {
        assert_eq!(
            check_timeout(Duration::from_millis(1)),
            Ok(Duration::from_millis(1))
        );
        assert!(check_timeout(Duration::ZERO).is_err());
        let e = check_timeout(Duration::from_micros(500)).expect_err("sub-millisecond");
        assert!(e.contains("whole number of milliseconds"), "{e}");
        assert!(check_timeout(Duration::from_micros(1500)).is_err());
    }
}
