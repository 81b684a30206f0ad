//! The data capability: the WIT `data` interface, fulfilled by a [`Backend`].
//!
//! Its three moments:
//! - engine time: the bindings are linked with the rest of the world
//!   ([`crate::runtime::Runtime::new`]);
//! - app time: [`DataService::open`] opens the configured store (embedded or DynamoDB)
//!   with the manifest's tables;
//! - request time: [`DataContext`] carries the backend, the function's table grants and
//!   the invocation's counters into its `Store`.

mod convert;
mod host;
mod open;

use std::sync::Arc;
use std::time::Duration;

use portico_data::Backend;

pub use host::OpenTable;
pub use open::{OpenError, open_backend};

/// What an instance's data calls see: the store, the tables the function may use, and
/// counters for the access log.
pub struct DataContext {
    backend: Option<Arc<dyn Backend>>,
    grants: Arc<[String]>,
    function: Arc<str>,
    /// Data calls made so far.
    pub calls: u32,
    /// Time spent in data calls.
    pub time: Duration,
}

impl DataContext {
    /// The data context of one invocation of `function`, which may use `grants`.
    /// Without a backend every call fails with `unavailable`.
    pub fn new(
        backend: Option<Arc<dyn Backend>>,
        grants: Arc<[String]>,
        function: Arc<str>,
    ) -> Self {
        Self {
            backend,
            grants,
            function,
            calls: 0,
            time: Duration::ZERO,
        }
    }

    /// Whether the function may use `table`.
    fn granted(&self, table: &str) -> bool {
        self.grants.iter().any(|t| t == table)
    }

    /// The access-denied error for `table`. It reads the same whether or not the table
    /// exists, so a function learns nothing about tables it may not use.
    fn denied(&self, table: &str) -> portico_data::DataError {
        portico_data::DataError::AccessDenied(format!(
            "function `{}` may not use table `{table}` (add it to the function's `tables` in the manifest)",
            self.function
        ))
    }
}
