//! Fuzz targets for the parsers that take untrusted input: route keys and the matcher,
//! API Gateway events (`portico invoke`), manifests, DynamoDB expressions, the data
//! interface's document arenas and admin API bodies.
//!
//! Each target takes the fuzzer's bytes and panics only when Portico breaks a stated
//! property: a parser must never panic, and where a property beyond that is cheap to
//! state (a route key prints and parses back; the matcher agrees with a naive one; a
//! manifest error points at a line of the file), the target checks it too.
//!
//! They run two ways: under libFuzzer on nightly (`scripts/fuzz.sh`, the binaries in
//! `fuzz_targets/`), and on stable in `cargo test`, where `tests/smoke.rs` runs each one
//! over its seeds in `seeds/` and a few thousand mutations of them.

#![deny(missing_docs)]

mod admin_body;
mod event;
mod expression;
mod manifest;
mod router;

pub use admin_body::admin_body;
pub use event::event;
pub use expression::expression;
pub use manifest::manifest;
pub use router::router;

/// The document-arena target, which lives beside the private WIT types it builds.
pub use portico::data::fuzzing::arena;

/// A target: it takes the fuzzer's bytes and panics when a property breaks.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its binary and of its seeds directory).
pub const TARGETS: [(&str, Target); 6] = [
    ("router", router),
    ("event", event),
    ("manifest", manifest),
    ("expression", expression),
    ("arena", arena),
    ("admin_body", admin_body),
];
