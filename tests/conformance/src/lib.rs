//! Portico's data conformance suite: one set of cases, written once against the
//! [`Backend`](portico_data::Backend) trait and run on every backend with identical
//! expectations (results and error *kinds*, never message text).
//!
//! The cases and the entry point live in the `conformance` test target
//! (`suite/main.rs`); this library holds what they share:
//!
//! - [`harness`]: cases, their context, assertion macros that fail a case without
//!   panicking, the concurrent runner and the pass/fail report.
//! - [`tables`]: the kinds of table a case can ask for, and their schemas.
//! - [`fault`]: a [`Backend`](portico_data::Backend) wrapper that answers batch calls
//!   with part of the work left unprocessed, as DynamoDB does under throttling.
//! - [`retry`]: helpers that resubmit a batch's unprocessed part until none is left.

pub mod fault;
pub mod harness;
pub mod retry;
pub mod tables;

pub use fault::FaultInjecting;
pub use harness::{Case, CaseFn, CaseResult, Ctx, Failure, Must};
pub use retry::{RetryPolicy, batch_get_all, batch_write_all};
pub use tables::Kind;
