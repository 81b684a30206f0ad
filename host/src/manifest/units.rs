//! Human-friendly quantities in the manifest: sizes (`"128MiB"`, `10485760`) and
//! durations (`"30s"`, `"250ms"`).

use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::Duration;

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
                v.parse::<bytesize::ByteSize>()
                    .map(|b| Bytes(b.as_u64()))
                    .map_err(|e| E::custom(format!("invalid size {v:?}: {e}")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration written like `"30s"`, `"1500ms"` or `"2m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|e| {
                de::Error::custom(format!(
                    "invalid duration {s:?} ({e}); write e.g. \"30s\" or \"500ms\""
                ))
            })
    }
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
}
