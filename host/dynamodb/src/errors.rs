//! Errors: SDK failures mapped onto [`DataError`] kinds, and [`ConnectError`] for
//! setting up the backend.

use std::time::Duration;

use aws_sdk_dynamodb::Error as ServiceError;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason as SdkCancellationReason;
use portico_data::{CancellationCode, CancellationReason, DataError};

use crate::convert::optional_item;

/// Why [`DynamoDbBackend::connect`](crate::DynamoDbBackend::connect) failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The configuration cannot be used as it is.
    #[error("invalid DynamoDB configuration: {0}")]
    InvalidConfig(String),
    /// No AWS region was configured or found in the environment.
    #[error(
        "no AWS region for DynamoDB: set `region` in the dynamodb configuration, or AWS_REGION \
         (or a region in the AWS profile) in the environment"
    )]
    NoRegion,
    /// A declared table does not exist and the backend may not create it.
    #[error(
        "DynamoDB table `{table}` does not exist: create it, or set `create_missing_tables = true` \
         in the dynamodb configuration to let Portico create it"
    )]
    TableMissing {
        /// The table's name.
        table: String,
    },
    /// A table exists with another primary key than declared.
    #[error(
        "DynamoDB table `{table}` has the key schema {actual}, but it is declared with {expected}"
    )]
    KeySchemaMismatch {
        /// The table's name.
        table: String,
        /// The declared key, e.g. `pk (S), sk (N)`.
        expected: String,
        /// The table's key as DynamoDB describes it.
        actual: String,
    },
    /// A declared secondary index does not exist on the table.
    #[error(
        "DynamoDB table `{table}` has no {kind} secondary index `{index}`: Portico does not add \
         indexes to existing tables; add it to the table or remove it from the declaration"
    )]
    IndexMissing {
        /// The table's name.
        table: String,
        /// The index's name.
        index: String,
        /// `global` or `local`.
        kind: &'static str,
    },
    /// A declared secondary index exists with another key or projection.
    #[error("DynamoDB index `{index}` of table `{table}` does not match its declaration: {detail}")]
    IndexMismatch {
        /// The table's name.
        table: String,
        /// The index's name.
        index: String,
        /// What differs.
        detail: String,
    },
    /// The table declaration cannot be turned into a DynamoDB table.
    #[error("table `{table}` cannot be created in DynamoDB: {detail}")]
    InvalidSchema {
        /// The table's name.
        table: String,
        /// What is wrong.
        detail: String,
    },
    /// DynamoDB described a table in a way this backend does not understand.
    #[error("DynamoDB's description of table `{table}` is unusable: {detail}")]
    UnexpectedDescription {
        /// The table's name.
        table: String,
        /// What is missing or odd.
        detail: String,
    },
    /// A request made while connecting failed.
    #[error("{action} DynamoDB table `{table}` failed: {source}")]
    Request {
        /// What was being done (`describing`, `creating`, `enabling TTL on`, …).
        action: &'static str,
        /// The table's name.
        table: String,
        /// The mapped error.
        #[source]
        source: DataError,
    },
    /// A table did not become `ACTIVE` in time.
    #[error(
        "DynamoDB table `{table}` is still {status} after {waited:?}; try again later or raise \
         `table_ready_timeout_secs`"
    )]
    NotReady {
        /// The table's name.
        table: String,
        /// The last status seen.
        status: String,
        /// How long the backend waited.
        waited: Duration,
    },
}

/// Maps an SDK failure of any operation onto a [`DataError`].
///
/// Service errors go through [`service_error`]; failures to build, send or read a
/// request (dispatch, timeout, I/O, unreadable responses) become
/// [`DataError::Unavailable`] with the whole source chain in the message.
pub fn sdk_error<E, R>(error: SdkError<E, R>) -> DataError
where
    E: Into<ServiceError> + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + 'static,
{
    match error {
        SdkError::ServiceError(context) => service_error(context.into_err().into()),
        other => {
            DataError::Unavailable(format!("DynamoDB request failed: {}", error_chain(&other)))
        }
    }
}

/// An error and its sources, `outer: inner: innermost`, skipping a source whose text
/// the previous one already includes.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    let mut source = error.source();
    while let Some(error) = source {
        let current = error.to_string();
        if !current.is_empty() && !last.contains(&current) {
            text.push_str(": ");
            text.push_str(&current);
        }
        last = current;
        source = error.source();
    }
    text
}

/// Maps an error DynamoDB answered with onto a [`DataError`], by its typed variant or,
/// for errors the SDK does not model (such as `ValidationException`), by its code.
pub fn service_error(error: ServiceError) -> DataError {
    // The typed exceptions carry their message in a field of their own; the metadata
    // has it too when parsed from a response.
    let meta_message = error.message().unwrap_or_default().to_owned();
    let message = |own: Option<String>| {
        own.filter(|m| !m.is_empty())
            .unwrap_or(meta_message.clone())
    };
    match error {
        ServiceError::ConditionalCheckFailedException(exception) => {
            match optional_item(exception.item) {
                Ok(item) => DataError::ConditionalCheckFailed { item },
                Err(invalid) => invalid,
            }
        }
        ServiceError::TransactionCanceledException(exception) => {
            match cancellation_reasons(exception.cancellation_reasons.unwrap_or_default()) {
                Ok(reasons) => DataError::TransactionCanceled { reasons },
                Err(invalid) => invalid,
            }
        }
        ServiceError::ResourceNotFoundException(e) => {
            DataError::ResourceNotFound(message(e.message))
        }
        ServiceError::ProvisionedThroughputExceededException(e) => {
            DataError::Throttled(message(e.message))
        }
        ServiceError::RequestLimitExceeded(e) => DataError::Throttled(message(e.message)),
        ServiceError::ThrottlingException(e) => DataError::Throttled(message(e.message)),
        ServiceError::IdempotentParameterMismatchException(e) => {
            DataError::IdempotentParameterMismatch(message(e.message))
        }
        ServiceError::TransactionConflictException(e) => {
            DataError::TransactionConflict(message(e.message))
        }
        ServiceError::InternalServerError(e) => {
            unavailable("InternalServerError", &message(e.message))
        }
        other => by_code(other.code(), message(None)),
    }
}

/// Maps an error by its code, for the exceptions the SDK does not model.
fn by_code(code: Option<&str>, message: String) -> DataError {
    match code {
        Some("ValidationException") if is_item_size_message(&message) => DataError::ItemTooLarge,
        Some("ValidationException" | "SerializationException") => DataError::Validation(message),
        Some("IdempotentParameterMismatchException") => {
            DataError::IdempotentParameterMismatch(message)
        }
        Some("TransactionConflictException") => DataError::TransactionConflict(message),
        // An item collection that outgrew 10 GB: the request cannot succeed as it is.
        Some("ItemCollectionSizeLimitExceededException") => DataError::Validation(message),
        Some("ResourceNotFoundException") => DataError::ResourceNotFound(message),
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "LimitExceededException",
        ) => DataError::Throttled(message),
        Some(code) => unavailable(code, &message),
        None if message.is_empty() => {
            DataError::Unavailable("DynamoDB answered with an unidentified error".to_owned())
        }
        None => DataError::Unavailable(message),
    }
}

fn unavailable(code: &str, message: &str) -> DataError {
    if message.is_empty() {
        DataError::Unavailable(code.to_owned())
    } else {
        DataError::Unavailable(format!("{code}: {message}"))
    }
}

/// Whether a `ValidationException`'s message is DynamoDB's complaint about the 400 KB item
/// limit ("Item size has exceeded the maximum allowed size", "Item size to update has
/// exceeded the maximum allowed size"), as opposed to, say, an expression's size.
pub fn is_item_size_message(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("item size") && message.contains("exceeded the maximum allowed size")
}

fn cancellation_reasons(
    reasons: Vec<SdkCancellationReason>,
) -> Result<Vec<CancellationReason>, DataError> {
    reasons
        .into_iter()
        .map(|reason| {
            Ok(CancellationReason {
                code: CancellationCode::from_code(reason.code.as_deref().unwrap_or("None")),
                message: reason.message,
                item: optional_item(reason.item)?,
            })
        })
        .collect()
}

/// A request this backend built was incomplete: a bug here, reported as a validation
/// error rather than a panic.
pub fn build_error(error: &BuildError) -> DataError {
    DataError::Validation(format!("could not build the DynamoDB request: {error}"))
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::AttributeValue;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, IdempotentParameterMismatchException, InternalServerError,
        ProvisionedThroughputExceededException, ResourceNotFoundException,
        TransactionCanceledException, TransactionConflictException,
    };
    use portico_data::{ErrorKind, Item, Value};

    use super::*;

    fn unmodelled(code: &str, message: &str) -> ServiceError {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        PutItemError::generic(meta).into()
    }

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::s(*v)))
            .collect()
    }

    #[test]
    fn conditional_check_failed_keeps_the_old_item() {
        let exception = ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .item("id", AttributeValue::S("a".into()))
            .build();
        assert_eq!(
            service_error(ServiceError::ConditionalCheckFailedException(exception)),
            DataError::ConditionalCheckFailed {
                item: Some(item(&[("id", "a")]))
            }
        );
        let bare = ConditionalCheckFailedException::builder().build();
        assert_eq!(
            service_error(ServiceError::ConditionalCheckFailedException(bare)),
            DataError::ConditionalCheckFailed { item: None }
        );
    }

    #[test]
    fn transaction_cancellation_reasons_in_order() {
        let exception = TransactionCanceledException::builder()
            .message("Transaction cancelled")
            .cancellation_reasons(SdkCancellationReason::builder().code("None").build())
            .cancellation_reasons(
                SdkCancellationReason::builder()
                    .code("ConditionalCheckFailed")
                    .message("The conditional request failed")
                    .item("id", AttributeValue::S("b".into()))
                    .build(),
            )
            .cancellation_reasons(SdkCancellationReason::builder().code("Frobnicated").build())
            .build();
        let DataError::TransactionCanceled { reasons } =
            service_error(ServiceError::TransactionCanceledException(exception))
        else {
            panic!("not a cancellation");
        };
        assert_eq!(
            reasons,
            vec![
                CancellationReason::none(),
                CancellationReason {
                    code: CancellationCode::ConditionalCheckFailed,
                    message: Some("The conditional request failed".into()),
                    item: Some(item(&[("id", "b")])),
                },
                CancellationReason {
                    code: CancellationCode::Other("Frobnicated".into()),
                    message: None,
                    item: None,
                },
            ]
        );
    }

    #[test]
    fn an_invalid_item_in_an_exception_is_unavailable() {
        let exception = ConditionalCheckFailedException::builder()
            .item("n", AttributeValue::N("not a number".into()))
            .build();
        assert_eq!(
            service_error(ServiceError::ConditionalCheckFailedException(exception)).kind(),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn validation_and_item_size() {
        assert_eq!(
            service_error(unmodelled(
                "ValidationException",
                "The provided key element does not match the schema"
            )),
            DataError::Validation("The provided key element does not match the schema".into())
        );
        for message in [
            "Item size has exceeded the maximum allowed size",
            "Item size to update has exceeded the maximum allowed size",
        ] {
            assert_eq!(
                service_error(unmodelled("ValidationException", message)),
                DataError::ItemTooLarge
            );
        }
        assert_eq!(
            service_error(unmodelled(
                "ValidationException",
                "Invalid UpdateExpression: Expression size has exceeded the maximum allowed size;"
            ))
            .kind(),
            ErrorKind::Validation
        );
    }

    #[test]
    fn token_mismatch_and_transaction_conflict_have_kinds_of_their_own() {
        let mismatch = IdempotentParameterMismatchException::builder()
            .message("token reused")
            .build();
        assert_eq!(
            service_error(ServiceError::IdempotentParameterMismatchException(mismatch)),
            DataError::IdempotentParameterMismatch("token reused".into())
        );
        let conflict = TransactionConflictException::builder()
            .message("Transaction is ongoing for the item")
            .build();
        let error = service_error(ServiceError::TransactionConflictException(conflict));
        assert_eq!(
            error,
            DataError::TransactionConflict("Transaction is ongoing for the item".into())
        );
        assert!(error.is_retryable());
        // The same by code, when the SDK does not model the exception.
        assert_eq!(
            service_error(unmodelled("IdempotentParameterMismatchException", "reused")).kind(),
            ErrorKind::IdempotentParameterMismatch
        );
        assert_eq!(
            service_error(unmodelled("TransactionConflictException", "ongoing")).kind(),
            ErrorKind::TransactionConflict
        );
        assert_eq!(
            service_error(unmodelled(
                "ItemCollectionSizeLimitExceededException",
                "10 GB"
            ))
            .kind(),
            ErrorKind::Validation
        );
    }

    #[test]
    fn key_size_errors_are_validation() {
        for message in [
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
        ] {
            assert_eq!(
                service_error(unmodelled("ValidationException", message)),
                DataError::Validation(message.into())
            );
        }
    }

    #[test]
    fn typed_exceptions() {
        let not_found = ResourceNotFoundException::builder()
            .message("Requested resource not found")
            .build();
        assert_eq!(
            service_error(ServiceError::ResourceNotFoundException(not_found)).kind(),
            ErrorKind::ResourceNotFound
        );
        let throttled = ProvisionedThroughputExceededException::builder()
            .message("slow down")
            .build();
        assert_eq!(
            service_error(ServiceError::ProvisionedThroughputExceededException(
                throttled
            )),
            DataError::Throttled("slow down".into())
        );
        let internal = InternalServerError::builder().message("oops").build();
        assert_eq!(
            service_error(ServiceError::InternalServerError(internal)),
            DataError::Unavailable("InternalServerError: oops".into())
        );
    }

    #[test]
    fn unmodelled_codes() {
        assert_eq!(
            service_error(unmodelled("ThrottlingException", "rate")).kind(),
            ErrorKind::Throttled
        );
        assert_eq!(
            service_error(unmodelled("RequestLimitExceeded", "rate")).kind(),
            ErrorKind::Throttled
        );
        assert_eq!(
            service_error(unmodelled("ServiceUnavailable", "later")),
            DataError::Unavailable("ServiceUnavailable: later".into())
        );
        assert_eq!(
            service_error(unmodelled("UnrecognizedClientException", "bad token")).kind(),
            ErrorKind::Unavailable
        );
        let meta = ErrorMetadata::builder().build();
        assert_eq!(
            service_error(PutItemError::generic(meta).into()).kind(),
            ErrorKind::Unavailable
        );
    }

    #[test]
    fn transport_failures_are_unavailable_with_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let error: SdkError<PutItemError, ()> = SdkError::timeout_error(io);
        let DataError::Unavailable(message) = sdk_error(error) else {
            panic!("not unavailable");
        };
        assert!(message.contains("connection refused"), "{message}");

        let service: SdkError<PutItemError, ()> = SdkError::service_error(
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            ),
            (),
        );
        assert_eq!(
            sdk_error(service),
            DataError::ConditionalCheckFailed { item: None }
        );
    }
}
