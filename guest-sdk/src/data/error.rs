//! The error of every data call, mirroring the WIT `error` variant.

use std::fmt;

use super::{Item, document};
use crate::bindings::portico::edge::data as wit;

/// Why one item of a cancelled transaction failed.
///
/// ```
/// use portico_guest::data::CancellationReason;
/// let reason = CancellationReason {
///     code: "ConditionalCheckFailed".into(),
///     message: None,
///     item: None,
/// };
/// assert!(reason.is_failure());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancellationReason {
    /// DynamoDB's code: `None` (this item was fine), `ConditionalCheckFailed`,
    /// `ValidationError`, `TransactionConflict`, ….
    pub code: String,
    /// A message, when the code has one.
    pub message: Option<String>,
    /// The item as it was, for a failed condition that asked for it.
    pub item: Option<Item>,
}

impl CancellationReason {
    /// Whether this item caused the cancellation (its code is not `None`).
    ///
    /// ```
    /// # use portico_guest::data::CancellationReason;
    /// let fine = CancellationReason { code: "None".into(), message: None, item: None };
    /// assert!(!fine.is_failure());
    /// ```
    pub fn is_failure(&self) -> bool {
        self.code != "None"
    }

    /// Whether this item's condition did not hold.
    ///
    /// ```
    /// # use portico_guest::data::CancellationReason;
    /// let r = CancellationReason { code: "ConditionalCheckFailed".into(), message: None, item: None };
    /// assert!(r.is_condition_failure());
    /// ```
    pub fn is_condition_failure(&self) -> bool {
        self.code == "ConditionalCheckFailed"
    }
}

/// A data call's failure.
///
/// Every case but two mirrors the host's answer; [`Error::Serialization`] is a
/// conversion between Rust values and items that failed in the guest, before or after
/// the call, and [`Error::InvalidDocument`] is a malformed answer from the host.
///
/// A handler returning `Result<Response, portico_guest::Error>` can use `?` on data
/// calls: this error converts into [`crate::Error::Data`].
///
/// ```no_run
/// use portico_guest::data::{Error, Table, attr};
/// # fn f() -> Result<(), Error> {
/// let todos = Table::open("todos")?;
/// let put = todos
///     .put(&serde_json::json!({ "id": "1", "title": "milk" }))
///     .condition(attr("id").not_exists())
///     .send();
/// match put {
///     Ok(_) => {}
///     Err(Error::ConditionalCheckFailed(_)) => { /* already there */ }
///     Err(e) if e.is_retryable() => { /* try again later */ }
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The condition did not hold. Carries the item as it was when the call asked for it
    /// (`return_old_on_condition_failure`) and the item existed.
    ConditionalCheckFailed(Option<Item>),
    /// A transaction was cancelled and nothing in it applied: one reason per item.
    TransactionCanceled(Vec<CancellationReason>),
    /// The request is malformed; the message says how, in DynamoDB's words.
    Validation(String),
    /// The item would be larger than 400 KB.
    ItemTooLarge,
    /// No such table or index.
    ResourceNotFound(String),
    /// Throttled. Retry later, with backoff.
    Throttled(String),
    /// The backend is unavailable or failed. Retry later, with backoff.
    Unavailable(String),
    /// This function may not use that table (it is not listed in its manifest entry).
    AccessDenied(String),
    /// A transaction's client token was used again, within its 10 minutes, with a
    /// different request (DynamoDB's `IdempotentParameterMismatchException`). Not
    /// retryable as it is: use a new token for a new request.
    IdempotentParameterMismatch(String),
    /// The write conflicted with a transaction in progress on the same item (DynamoDB's
    /// `TransactionConflictException`). Retry later, with backoff. Only the dynamodb
    /// backend reports it: the embedded store applies writes one at a time.
    TransactionConflict(String),
    /// A Rust value could not be turned into an item, or an item into the Rust type
    /// asked for.
    Serialization(String),
    /// The host answered with a document that is not a well-formed value tree.
    InvalidDocument(String),
}

/// Transaction cancellation codes that go away when the transaction is retried.
const TRANSIENT_CODES: [&str; 4] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

impl Error {
    /// Whether retrying the same call later (with backoff) may succeed: throttling, an
    /// unavailable backend, a conflict with another transaction, or a transaction
    /// cancelled only by conflicts or throttling.
    ///
    /// ```
    /// use portico_guest::data::Error;
    /// assert!(Error::Throttled("slow down".into()).is_retryable());
    /// assert!(Error::TransactionConflict("ongoing".into()).is_retryable());
    /// assert!(!Error::Validation("bad".into()).is_retryable());
    /// assert!(!Error::IdempotentParameterMismatch("token reused".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Throttled(_) | Error::Unavailable(_) | Error::TransactionConflict(_) => true,
            Error::TransactionCanceled(reasons) => {
                let mut failures = reasons.iter().filter(|r| r.is_failure()).peekable();
                failures.peek().is_some()
                    && failures.all(|r| TRANSIENT_CODES.contains(&r.code.as_str()))
            }
            _ => false,
        }
    }

    /// Whether this is a failed condition, of a single write or of any item of a
    /// transaction.
    ///
    /// ```
    /// use portico_guest::data::Error;
    /// assert!(Error::ConditionalCheckFailed(None).is_condition_failure());
    /// ```
    pub fn is_condition_failure(&self) -> bool {
        match self {
            Error::ConditionalCheckFailed(_) => true,
            Error::TransactionCanceled(reasons) => {
                reasons.iter().any(CancellationReason::is_condition_failure)
            }
            _ => false,
        }
    }

    /// Converts the host's error; a malformed document inside becomes
    /// [`Error::InvalidDocument`].
    pub(crate) fn from_wit(e: wit::Error) -> Self {
        let converted = match e {
            wit::Error::ConditionalCheckFailed(doc) => {
                document::to_item_opt(doc).map(Error::ConditionalCheckFailed)
            }
            wit::Error::TransactionCancelled(reasons) => reasons
                .into_iter()
                .map(|r| {
                    Ok(CancellationReason {
                        code: r.code,
                        message: r.message,
                        item: document::to_item_opt(r.item)?,
                    })
                })
                .collect::<Result<_, Error>>()
                .map(Error::TransactionCanceled),
            wit::Error::Validation(m) => Ok(Error::Validation(m)),
            wit::Error::ItemTooLarge => Ok(Error::ItemTooLarge),
            wit::Error::ResourceNotFound(m) => Ok(Error::ResourceNotFound(m)),
            wit::Error::ThroughputExceeded(m) => Ok(Error::Throttled(m)),
            wit::Error::Unavailable(m) => Ok(Error::Unavailable(m)),
            wit::Error::AccessDenied(m) => Ok(Error::AccessDenied(m)),
            wit::Error::IdempotentParameterMismatch(m) => Ok(Error::IdempotentParameterMismatch(m)),
            wit::Error::TransactionConflict(m) => Ok(Error::TransactionConflict(m)),
        };
        converted.unwrap_or_else(|e| e)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Error::Validation(message.into())
    }

    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Error::Serialization(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConditionalCheckFailed(_) => f.write_str("the conditional request failed"),
            Error::TransactionCanceled(reasons) => {
                f.write_str("transaction cancelled, reasons: [")?;
                for (i, r) in reasons.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&r.code)?;
                    if let Some(message) = &r.message {
                        write!(f, " ({message})")?;
                    }
                }
                f.write_str("]")
            }
            Error::Validation(m) => write!(f, "validation error: {m}"),
            Error::ItemTooLarge => f.write_str("item size has exceeded the maximum allowed size"),
            Error::ResourceNotFound(m) => write!(f, "resource not found: {m}"),
            Error::Throttled(m) => write!(f, "throttled: {m}"),
            Error::Unavailable(m) => write!(f, "data backend unavailable: {m}"),
            Error::AccessDenied(m) => write!(f, "access denied: {m}"),
            Error::IdempotentParameterMismatch(m) => {
                write!(f, "client token reused with a different request: {m}")
            }
            Error::TransactionConflict(m) => write!(f, "transaction conflict: {m}"),
            Error::Serialization(m) => write!(f, "item conversion failed: {m}"),
            Error::InvalidDocument(m) => write!(f, "malformed document from the host: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Serialization(msg.to_string())
    }
}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Serialization(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason {
            code: code.into(),
            message: None,
            item: None,
        }
    }

    #[test]
    fn retryable_transactions() {
        let conflict =
            Error::TransactionCanceled(vec![reason("None"), reason("TransactionConflict")]);
        assert!(conflict.is_retryable());
        let mixed = Error::TransactionCanceled(vec![
            reason("ConditionalCheckFailed"),
            reason("TransactionConflict"),
        ]);
        assert!(!mixed.is_retryable());
        assert!(mixed.is_condition_failure());
        assert!(!Error::TransactionCanceled(vec![reason("None")]).is_retryable());
    }

    #[test]
    fn display_lists_reasons() {
        let e = Error::TransactionCanceled(vec![
            reason("None"),
            CancellationReason {
                message: Some("conflict".into()),
                ..reason("TransactionConflict")
            },
        ]);
        assert_eq!(
            e.to_string(),
            "transaction cancelled, reasons: [None, TransactionConflict (conflict)]"
        );
    }
}
