//! The data layer's errors: the kinds DynamoDB reports, so a function can match on them.

use crate::value::Item;

/// A data operation's failure. The kinds mirror DynamoDB's exceptions; messages follow
/// DynamoDB's wording where practical.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The condition expression evaluated to false (`ConditionalCheckFailedException`).
    #[error("The conditional request failed")]
    ConditionalCheckFailed {
        /// The item as it was, when the request asked for it
        /// (`ReturnValuesOnConditionCheckFailure = ALL_OLD`) and it existed.
        item: Option<Item>,
    },
    /// A transaction was cancelled; nothing in it was applied
    /// (`TransactionCanceledException`).
    #[error("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
        .reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", "))]
    TransactionCanceled {
        /// One reason per item of the transaction, in order.
        reasons: Vec<CancellationReason>,
    },
    /// The request is malformed (`ValidationException`).
    #[error("{0}")]
    Validation(String),
    /// The item would exceed 400 KB (DynamoDB reports it as a `ValidationException`).
    #[error("Item size has exceeded the maximum allowed size")]
    ItemTooLarge,
    /// The table or index does not exist (`ResourceNotFoundException`).
    #[error("Requested resource not found: {0}")]
    ResourceNotFound(String),
    /// The function may not use this table.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// A `TransactWriteItems` client token was used again, within its 10 minutes, with a
    /// request that differs from the first one (`IdempotentParameterMismatchException`).
    /// Not retryable as it is: use a new token for a new request.
    #[error("idempotent parameter mismatch: {0}")]
    IdempotentParameterMismatch(String),
    /// A write or transaction conflicted with another transaction in progress on the same
    /// item (`TransactionConflictException`). Retryable.
    ///
    /// Only the DynamoDB backend reports it. The embedded store cannot: every write goes
    /// through its single writer thread, which applies writes (a transaction as a whole)
    /// one after another, and reads see committed snapshots, so no two writes are ever
    /// in progress on one item at once.
    #[error("transaction conflict: {0}")]
    TransactionConflict(String),
    /// Throttled (`ProvisionedThroughputExceededException`, `ThrottlingException`,
    /// `RequestLimitExceeded`). Retryable.
    #[error("throughput exceeded: {0}")]
    Throttled(String),
    /// The backend could not be reached or failed (`InternalServerError`,
    /// `ServiceUnavailable`, I/O). Retryable.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl DataError {
    /// A validation error with this message.
    pub fn validation(message: impl Into<String>) -> Self {
        DataError::Validation(message.into())
    }

    /// The message without the kind.
    pub fn message(&self) -> String {
        match self {
            DataError::Validation(message)
            | DataError::IdempotentParameterMismatch(message)
            | DataError::TransactionConflict(message) => message.clone(),
            other => other.to_string(),
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            DataError::Throttled(_) | DataError::Unavailable(_) | DataError::TransactionConflict(_)
        )
    }

    /// The error's kind, for comparing outcomes across backends.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DataError::ConditionalCheckFailed { .. } => ErrorKind::ConditionalCheckFailed,
            DataError::TransactionCanceled { .. } => ErrorKind::TransactionCanceled,
            DataError::Validation(_) => ErrorKind::Validation,
            DataError::ItemTooLarge => ErrorKind::ItemTooLarge,
            DataError::ResourceNotFound(_) => ErrorKind::ResourceNotFound,
            DataError::AccessDenied(_) => ErrorKind::AccessDenied,
            DataError::IdempotentParameterMismatch(_) => ErrorKind::IdempotentParameterMismatch,
            DataError::TransactionConflict(_) => ErrorKind::TransactionConflict,
            DataError::Throttled(_) => ErrorKind::Throttled,
            DataError::Unavailable(_) => ErrorKind::Unavailable,
        }
    }
}

/// [`DataError`]'s variants without their data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// [`DataError::ConditionalCheckFailed`].
    ConditionalCheckFailed,
    /// [`DataError::TransactionCanceled`].
    TransactionCanceled,
    /// [`DataError::Validation`].
    Validation,
    /// [`DataError::ItemTooLarge`].
    ItemTooLarge,
    /// [`DataError::ResourceNotFound`].
    ResourceNotFound,
    /// [`DataError::AccessDenied`].
    AccessDenied,
    /// [`DataError::IdempotentParameterMismatch`].
    IdempotentParameterMismatch,
    /// [`DataError::TransactionConflict`].
    TransactionConflict,
    /// [`DataError::Throttled`].
    Throttled,
    /// [`DataError::Unavailable`].
    Unavailable,
}

/// Why one item of a cancelled transaction failed.
#[derive(Clone, Debug, PartialEq)]
pub struct CancellationReason {
    /// DynamoDB's code: `None` (this item was fine), `ConditionalCheckFailed`,
    /// `ValidationError`, `TransactionConflict`, `ItemCollectionSizeLimitExceeded`, ….
    pub code: CancellationCode,
    /// A message, when the code has one.
    pub message: Option<String>,
    /// The item as it was, for a failed condition with `ALL_OLD` requested.
    pub item: Option<Item>,
}

impl CancellationReason {
    /// The reason for an item that did not cause the cancellation.
    pub fn none() -> Self {
        Self {
            code: CancellationCode::None,
            message: None,
            item: None,
        }
    }
}

/// A cancellation reason's code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancellationCode {
    /// This item did not cause the cancellation.
    None,
    /// Its condition failed.
    ConditionalCheckFailed,
    /// It was invalid (e.g. too large, or a bad update on the existing item).
    ValidationError,
    /// Another transaction or write touched the item at the same time.
    TransactionConflict,
    /// Another code, as the backend named it.
    Other(String),
}

impl CancellationCode {
    /// DynamoDB's spelling of the code.
    pub fn as_str(&self) -> &str {
        match self {
            CancellationCode::None => "None",
            CancellationCode::ConditionalCheckFailed => "ConditionalCheckFailed",
            CancellationCode::ValidationError => "ValidationError",
            CancellationCode::TransactionConflict => "TransactionConflict",
            CancellationCode::Other(code) => code,
        }
    }

    /// Parses DynamoDB's spelling.
    pub fn from_code(code: &str) -> Self {
        match code {
            "None" => CancellationCode::None,
            "ConditionalCheckFailed" => CancellationCode::ConditionalCheckFailed,
            "ValidationError" => CancellationCode::ValidationError,
            "TransactionConflict" => CancellationCode::TransactionConflict,
            other => CancellationCode::Other(other.to_owned()),
        }
    }
}
