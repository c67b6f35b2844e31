//! The only place where DynamoDB SDK errors are interpreted.
//!
//! - Throttling (`ProvisionedThroughputExceededException`, `RequestLimitExceeded`,
//!   `ThrottlingException`), `InternalServerError`, other 5xx, transaction conflicts, SDK timeouts and
//!   connection failures become [`CatalogError::Backend`] with `retryable: true`; everything else is
//!   non-retryable.
//! - A cancelled `TransactWriteItems` is returned as [`TransactFailure::Cancelled`] with one
//!   [`CancelReason`] per action, so `register` can retry after a concurrent writer and `swap_segments`
//!   can report a version mismatch. Conditions are only used inside transactions.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

use crate::catalog::CatalogError;

/// Error codes (whole request) after which the same call may succeed.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "Throttling",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

/// Why one action of a cancelled transaction failed (DynamoDB's `CancellationReason.Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CancelReason {
    /// The action was fine; another one cancelled the transaction (`None`).
    Fine,
    /// Its condition expression was false (`ConditionalCheckFailed`).
    ConditionFailed,
    /// Another transaction or write touched the same item (`TransactionConflict`).
    Conflict,
    /// Throughput exceeded or throttled; retrying later may succeed.
    Throttled,
    /// Anything else, e.g. `ValidationError` or `ItemCollectionSizeLimitExceeded`.
    Other(String),
}

impl CancelReason {
    fn from_code(code: Option<&str>) -> CancelReason {
        match code {
            None | Some("None") | Some("") => CancelReason::Fine,
            Some("ConditionalCheckFailed") => CancelReason::ConditionFailed,
            Some("TransactionConflict") => CancelReason::Conflict,
            Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded") => {
                CancelReason::Throttled
            }
            Some(other) => CancelReason::Other(other.to_owned()),
        }
    }
}

/// How a `TransactWriteItems` call failed.
#[derive(Debug)]
pub(super) enum TransactFailure {
    /// The transaction was cancelled; one reason per action, in request order (empty if the service
    /// sent none).
    Cancelled {
        /// Per-action reasons.
        reasons: Vec<CancelReason>,
        /// The service's message, for error reports.
        message: String,
    },
    /// Any other failure, already translated.
    Failed(CatalogError),
}

impl TransactFailure {
    /// Whether the cancellation came only from conditions or conflicts, i.e. from a concurrent
    /// writer, so that re-reading and retrying is the right response.
    pub(super) fn is_concurrent_write(reasons: &[CancelReason]) -> bool {
        reasons.iter().any(|r| *r != CancelReason::Fine)
            && reasons.iter().all(|r| {
                matches!(
                    r,
                    CancelReason::Fine | CancelReason::ConditionFailed | CancelReason::Conflict
                )
            })
    }

    /// A cancellation that is not (only) a concurrent write, as a backend error.
    pub(super) fn cancelled_error(reasons: &[CancelReason], message: &str) -> CatalogError {
        CatalogError::Backend {
            retryable: reasons.iter().all(|r| !matches!(r, CancelReason::Other(_))),
            message: format!("TransactWriteItems cancelled: {message} ({reasons:?})"),
        }
    }
}

/// Translates the failure of a `TransactWriteItems` call.
pub(super) fn transact_failure(
    err: SdkError<TransactWriteItemsError, HttpResponse>,
) -> TransactFailure {
    if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        err.as_service_error()
    {
        return TransactFailure::Cancelled {
            reasons: cancelled
                .cancellation_reasons()
                .iter()
                .map(|r| CancelReason::from_code(r.code()))
                .collect(),
            message: cancelled.message().unwrap_or("no message").to_owned(),
        };
    }
    TransactFailure::Failed(backend("TransactWriteItems", err))
}

/// Translates the SDK error of `operation` (e.g. `"Query"`).
pub(super) fn backend<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> CatalogError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (retryable, detail) = match &err {
        SdkError::TimeoutError(_) => (true, "timed out".to_owned()),
        SdkError::DispatchFailure(failure) => (
            !failure.is_user(),
            format!(
                "request not sent: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&err)
            ),
        ),
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("no error code");
            let status = service.raw().status().as_u16();
            (
                RETRYABLE_CODES.contains(&code) || status >= 500 || status == 429,
                format!(
                    "{code} (HTTP {status}): {}",
                    service.err().message().unwrap_or("no message")
                ),
            )
        }
        SdkError::ResponseError(response) => {
            let status = response.raw().status().as_u16();
            (
                status >= 500 || status == 429,
                format!("unreadable response (HTTP {status})"),
            )
        }
        other => (
            false,
            aws_sdk_dynamodb::error::DisplayErrorContext(other).to_string(),
        ),
    };
    CatalogError::Backend {
        retryable,
        message: format!("DynamoDB {operation}: {detail}"),
    }
}

/// A request this backend failed to build (a missing required field: a bug, never retryable).
pub(super) fn build(err: BuildError) -> CatalogError {
    CatalogError::backend(format!("building a DynamoDB request: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_codes_are_classified() {
        use CancelReason::*;
        let parse = |codes: &[Option<&str>]| -> Vec<CancelReason> {
            codes.iter().map(|c| CancelReason::from_code(*c)).collect()
        };
        let race = parse(&[Some("None"), Some("ConditionalCheckFailed"), None]);
        assert_eq!(race, [Fine, ConditionFailed, Fine]);
        assert!(TransactFailure::is_concurrent_write(&race));
        assert!(TransactFailure::is_concurrent_write(&parse(&[Some(
            "TransactionConflict"
        )])));
        let invalid = parse(&[Some("ValidationError"), Some("ConditionalCheckFailed")]);
        assert!(!TransactFailure::is_concurrent_write(&invalid));
        assert!(!TransactFailure::cancelled_error(&invalid, "m").is_retryable());
        let throttled = parse(&[Some("ThrottlingError")]);
        assert!(!TransactFailure::is_concurrent_write(&throttled));
        assert!(TransactFailure::cancelled_error(&throttled, "m").is_retryable());
        assert!(!TransactFailure::is_concurrent_write(&[]));
    }
}
