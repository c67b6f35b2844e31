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
//! One exception, for reads of a key ([`translate_read`]: `GetObject`, plain or ranged, and
//! `HeadObject`): `AccessDenied` (or a code-less HTTP 403, as HEAD answers have no body) is `NotFound`.
//! Without `s3:ListBucket` permission on the bucket, S3 answers 403 instead of 404 for a missing key,
//! so the caller cannot tell "missing" from "not readable"; it is reported as missing, with a message
//! saying so, so a real permission problem is still visible in the text. Other credential codes
//! (`InvalidAccessKeyId`, `ExpiredToken`, ...) stay `Unauthorized` (a HEAD's 403 carries no code, so
//! there any 403 is `NotFound`), and so do the 403s of every other operation (put, delete, list).
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

/// What S3's 403 to a read of a key means, prefixed to the summary of such an error.
const DENIED_READ: &str = "key missing or unreadable (403: S3 answers 403 instead of 404 for a \
                           missing key when the caller lacks s3:ListBucket)";

/// Translates the SDK error of `operation` about `key` (the caller's key, without the store prefix).
pub(super) fn translate<E>(
    operation: &'static str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    translate_call(operation, key, err, false)
}

/// Like [`translate`], for a read of one key (`GetObject`, plain or ranged, or `HeadObject`): an
/// `AccessDenied` answer (or a code-less 403) is [`StoreErrorKind::NotFound`], with a message saying
/// the key is missing or unreadable (see the module docs).
pub(super) fn translate_read<E>(
    operation: &'static str,
    key: &str,
    err: SdkError<E, HttpResponse>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    translate_call(operation, key, err, true)
}

/// [`translate`], or with `key_read` [`translate_read`].
fn translate_call<E>(
    operation: &'static str,
    key: &str,
    err: SdkError<E, HttpResponse>,
    key_read: bool,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut summary = match &err {
        SdkError::ServiceError(service) => format!(
            "{} (HTTP {}): {}",
            service.err().code().unwrap_or("no error code"),
            service.raw().status().as_u16(),
            service.err().message().unwrap_or("no message"),
        ),
        other => DisplayErrorContext(other).to_string(),
    };
    let mut kind = classify(&err);
    if key_read && is_access_denied(&err) {
        kind = StoreErrorKind::NotFound;
        summary = format!("{DENIED_READ}: {summary}");
    }
    let error = S3CallError {
        operation,
        summary,
        source: Box::new(err),
    };
    StoreError::new(kind, key, error)
}

/// Whether S3 answered `AccessDenied`, or HTTP 403 without an error code (a HEAD answer has no body
/// to carry one).
fn is_access_denied<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) => code == "AccessDenied",
            None => service.raw().status().as_u16() == 403,
        },
        SdkError::ResponseError(response) => response.raw().status().as_u16() == 403,
        _ => false,
    }
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
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::operation::head_object::HeadObjectError;
    use aws_sdk_s3::operation::put_object::PutObjectError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    /// S3's error metadata: `code` (none for a HEAD answer) and a message.
    fn meta(code: Option<&str>) -> ErrorMetadata {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code).message("Access Denied");
        }
        meta.build()
    }

    /// A service error answered with HTTP `status`.
    fn answered<E>(err: E, status: u16) -> SdkError<E, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn access_denied_to_a_key_read_is_a_missing_key() {
        let get = answered(GetObjectError::generic(meta(Some("AccessDenied"))), 403);
        let e = translate_read("GetObject", "a/b", get);
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert_eq!(e.key(), "a/b");
        let text = e.to_string();
        for part in [
            "GetObject: key missing or unreadable (403: ",
            "s3:ListBucket",
            "AccessDenied (HTTP 403): Access Denied",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }

        // A HEAD answer has no body, so no error code: the bare 403 counts.
        let head = answered(HeadObjectError::generic(meta(None)), 403);
        let e = translate_read("HeadObject", "a/b", head);
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert!(
            e.to_string().contains("key missing or unreadable (403: "),
            "{e}"
        );
    }

    #[test]
    fn other_403s_stay_unauthorized() {
        // Any other operation's AccessDenied is a permission problem.
        let put = answered(PutObjectError::generic(meta(Some("AccessDenied"))), 403);
        let e = translate("PutObject", "a/b", put);
        assert_eq!(e.kind(), StoreErrorKind::Unauthorized);
        assert!(!e.to_string().contains("missing"), "{e}");

        // Refused credentials on a read are not a missing key either.
        let get = answered(
            GetObjectError::generic(meta(Some("InvalidAccessKeyId"))),
            403,
        );
        let e = translate_read("GetObject", "a/b", get);
        assert_eq!(e.kind(), StoreErrorKind::Unauthorized);
        assert!(!e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn key_reads_translate_other_errors_as_usual() {
        let get = answered(GetObjectError::generic(meta(Some("NoSuchKey"))), 404);
        let e = translate_read("GetObject", "a/b", get);
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert!(!e.to_string().contains("unreadable"), "{e}");
        let get = answered(GetObjectError::generic(meta(Some("SlowDown"))), 503);
        assert_eq!(
            translate_read("GetObject", "a/b", get).kind(),
            StoreErrorKind::Throttled
        );
    }

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
