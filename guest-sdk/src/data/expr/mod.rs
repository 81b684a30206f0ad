//! Expressions with generated placeholders: [`Condition`], [`Update`], [`Path`].
//!
//! Names always travel as `#n0`, `#n1`, … and values as `:v0`, `:v1`, …, numbered in the
//! order they appear in one request (key condition, filter, projection; or update,
//! condition). A name used twice gets one placeholder. Placeholders written by hand
//! (`.name("#k", "id")`) are never reused for generated ones.

pub(crate) mod condition;
pub(crate) mod path;
pub(crate) mod placeholders;
pub(crate) mod projection;
pub(crate) mod update;

#[cfg(test)]
mod tests;
