//! The only place where S3 SDK errors become [`StoreError`]s.
//!
//! | S3 says                                                         | kind                 |
//! |-----------------------------------------------------------------|----------------------|
//! | `NoSuchKey`, `NotFound`, HTTP 404                               | `NotFound`           |
//! | `InvalidRange`, HTTP 416                                        | `InvalidRange`       |
//! | `PreconditionFailed`, HTTP 412                                  | `PreconditionFailed` |
//! | `SlowDown`, throttling codes, HTTP 503 / 429                    | `Throttled`          |
//! | `RequestTimeout`, SDK timeouts, dispatch (connection) failures  | `Timeout`            |
//! | `AccessDenied` and other credential codes, HTTP 403             | `Unauthorized`       |
//! | anything else (including `NoSuchBucket`: a configuration error) | `Internal`           |
//!
//! The SDK error is kept as the source, so the full cause chain stays printable.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::store::{StoreError, StoreErrorKind};

/// Codes S3 (and S3-compatible stores) use to ask clients to back off.
const THROTTLING_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ServiceUnavailable",
];

/// Codes meaning the credentials or permissions were refused.
const UNAUTHORIZED_CODES: &[&str] = &[
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "AllAccessDisabled",
];

/// A failed S3 call: the operation, S3's code, message and HTTP status, with the SDK error as source.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {summary}")]
pub struct S3CallError {
    operation: &'static str,
    summary: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// Translates the SDK error of `operation` about `key` (the caller's key, without the store prefix).
pub(super) fn translate<E>(
    operation: &'static str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let summary = match &err {
        SdkError::ServiceError(service) => format!(
            "{} (HTTP {}): {}",
            service.err().code().unwrap_or("no error code"),
            service.raw().status().as_u16(),
            service.err().message().unwrap_or("no message"),
        ),
        other => DisplayErrorContext(other).to_string(),
    };
    let kind = classify(&err);
    let error = S3CallError {
        operation,
        summary,
        source: Box::new(err),
    };
    StoreError::new(kind, key, error)
}

/// An error raised by this backend itself (e.g. a response missing a field it must have).
pub(super) fn internal(key: &str, message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Internal, key, message.into())
}

/// A failure while streaming a response body: the connection broke after the request was accepted,
/// which is as retryable as a dispatch failure.
pub(super) fn body(key: &str, err: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::new(StoreErrorKind::Timeout, key, err)
}

fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> StoreErrorKind {
    match err {
        SdkError::TimeoutError(_) => StoreErrorKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_user() => StoreErrorKind::Internal,
        SdkError::DispatchFailure(_) => StoreErrorKind::Timeout,
        SdkError::ServiceError(service) => {
            let code = service.err().code();
            from_code(code).unwrap_or_else(|| from_status(service.raw().status().as_u16()))
        }
        SdkError::ResponseError(response) => from_status(response.raw().status().as_u16()),
        _ => StoreErrorKind::Internal,
    }
}

fn from_code(code: Option<&str>) -> Option<StoreErrorKind> {
    let code = code?;
    let kind = match code {
        "NoSuchKey" | "NotFound" => StoreErrorKind::NotFound,
        "NoSuchBucket" => StoreErrorKind::Internal,
        "InvalidRange" => StoreErrorKind::InvalidRange,
        "PreconditionFailed" => StoreErrorKind::PreconditionFailed,
        "RequestTimeout" => StoreErrorKind::Timeout,
        c if THROTTLING_CODES.contains(&c) => StoreErrorKind::Throttled,
        c if UNAUTHORIZED_CODES.contains(&c) => StoreErrorKind::Unauthorized,
        _ => return None,
    };
    Some(kind)
}

fn from_status(status: u16) -> StoreErrorKind {
    match status {
        404 => StoreErrorKind::NotFound,
        416 => StoreErrorKind::InvalidRange,
        412 => StoreErrorKind::PreconditionFailed,
        429 | 503 => StoreErrorKind::Throttled,
        408 => StoreErrorKind::Timeout,
        401 | 403 => StoreErrorKind::Unauthorized,
        _ => StoreErrorKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_statuses() {
        assert_eq!(from_code(Some("NoSuchKey")), Some(StoreErrorKind::NotFound));
        assert_eq!(
            from_code(Some("NoSuchBucket")),
            Some(StoreErrorKind::Internal)
        );
        assert_eq!(from_code(Some("SlowDown")), Some(StoreErrorKind::Throttled));
        assert_eq!(
            from_code(Some("AccessDenied")),
            Some(StoreErrorKind::Unauthorized)
        );
        assert_eq!(from_code(Some("InternalError")), None);
        assert_eq!(from_code(None), None);
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (404, StoreErrorKind::NotFound),
            (416, StoreErrorKind::InvalidRange),
            (412, StoreErrorKind::PreconditionFailed),
            (503, StoreErrorKind::Throttled),
            (403, StoreErrorKind::Unauthorized),
            (500, StoreErrorKind::Internal),
            (400, StoreErrorKind::Internal),
        ] {
            assert_eq!(from_status(status), kind, "{status}");
        }
    }
}
