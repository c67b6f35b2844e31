//! API Gateway HTTP API proxy responses (payload format 2.0) and the error body. Every error
//! status of the API is decided here: [`status_for`] maps outcomes, and route errors that have no
//! outcome of their own (a method other than `GET`) are mapped next to it.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use tier::pipeline::{ErrorCode, PipelineError};

use crate::routes::RouteError;

/// The HTTP status of an outcome:
///
/// - `BadRequest` → 400: a parameter, name or query is invalid.
/// - `NotFound` → 404: nothing is tiered for the topic or partition (or no route has the path).
/// - `Conflict` → 409: the request conflicts with what is registered.
/// - `OutOfRange` → 416: the offset is outside the tiered range.
/// - `CorruptInput` → 500: in the fetch API it means stored data failed to decode, which is our
///   problem, not the client's.
/// - `Internal` → 500: a bug or damaged stored data.
/// - `ResourceExhausted` → 500: local resources were too small (the fetch function has none it
///   fills; listed for completeness).
/// - `Unavailable` → 503: a dependency is temporarily unavailable; the client may retry.
pub fn status_for(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::BadRequest => 400,
        ErrorCode::NotFound => 404,
        ErrorCode::Conflict => 409,
        ErrorCode::OutOfRange => 416,
        ErrorCode::CorruptInput | ErrorCode::Internal | ErrorCode::ResourceExhausted => 500,
        ErrorCode::Unavailable => 503,
    }
}

/// The HTTP status of a request that names no route: 405 for a method other than `GET`, else the
/// status of its outcome ([`RouteError::code`]).
fn route_status(e: &RouteError) -> u16 {
    match e {
        RouteError::MethodNotAllowed { .. } => 405,
        other => status_for(other.code()),
    }
}

/// The `code` of an error body: the outcome's serialised (snake_case) name.
fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The most bytes of a response body as the function returns it (base64 for a binary one):
/// Lambda's 6 MB (6,291,456 bytes) response limit less room for the envelope and headers.
pub const MAX_BODY_BYTES: usize = 5_600_000;

/// The most bytes of batches a binary response holds (their base64 fits [`MAX_BODY_BYTES`]).
pub const MAX_BINARY_BYTES: usize = MAX_BODY_BYTES / 4 * 3;

/// A proxy response. Binary bodies are base64 with `isBase64Encoded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    /// HTTP status.
    pub status_code: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// Body (base64 when `is_base64_encoded`).
    pub body: String,
    /// Whether `body` is base64.
    pub is_base64_encoded: bool,
}

impl HttpResponse {
    /// A JSON response (errors come from [`HttpResponse::from_pipeline`],
    /// [`HttpResponse::from_route`] and [`HttpResponse::not_found`]).
    pub fn json(status_code: u16, value: &Value) -> Self {
        let headers = BTreeMap::from([("content-type".into(), "application/json".into())]);
        HttpResponse {
            status_code,
            headers,
            body: value.to_string(),
            is_base64_encoded: false,
        }
    }

    /// A binary response with extra headers.
    pub fn binary(bytes: &[u8], extra: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut headers =
            BTreeMap::from([("content-type".into(), "application/octet-stream".into())]);
        headers.extend(extra);
        let body = base64::engine::general_purpose::STANDARD.encode(bytes);
        HttpResponse {
            status_code: 200,
            headers,
            body,
            is_base64_encoded: true,
        }
    }

    /// An error: `{"error": {"code", "message", "retryable", ...}}` (docs/openapi.yaml, `Error`).
    /// A 503 also carries `Retry-After`.
    fn error(status_code: u16, code: &str, message: &str, extra: Value) -> Self {
        let retryable = status_code == 503;
        let mut error = json!({ "code": code, "message": message, "retryable": retryable });
        if let (Some(target), Value::Object(more)) = (error.as_object_mut(), extra) {
            target.extend(more);
        }
        let mut response = HttpResponse::json(status_code, &json!({ "error": error }));
        if retryable {
            response.headers.insert("retry-after".into(), "1".into());
        }
        response
    }

    /// The response for a pipeline error. Server-side failures get a generic message: details go
    /// to the logs only.
    pub fn from_pipeline(e: &PipelineError) -> Self {
        let code = e.code();
        let status = status_for(code);
        if status >= 500 {
            tracing::error!(error = %e, "request failed");
            let (name, message) = if code.is_retryable() {
                ("unavailable", "temporarily unavailable, retry later")
            } else {
                ("internal", "internal error")
            };
            return HttpResponse::error(status, name, message, Value::Null);
        }
        let extra = match e {
            PipelineError::OffsetOutOfRange {
                earliest, latest, ..
            } => {
                json!({ "earliest": earliest.get(), "latest": latest.get() })
            }
            _ => Value::Null,
        };
        HttpResponse::error(status, &code_name(code), &e.to_string(), extra)
    }

    /// The response for a request that names no route, with the reason as the message.
    pub fn from_route(e: &RouteError) -> Self {
        HttpResponse::error(
            route_status(e),
            &code_name(e.code()),
            &e.to_string(),
            Value::Null,
        )
    }

    /// A 413 `too_large` error with `message`: the answer cannot be put in a response.
    pub fn too_large(message: &str) -> Self {
        HttpResponse::error(413, "too_large", message, Value::Null)
    }

    /// A `not_found` error with `message` (e.g. a topic with nothing tiered).
    pub fn not_found(message: &str) -> Self {
        let code = ErrorCode::NotFound;
        HttpResponse::error(status_for(code), &code_name(code), message, Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &HttpResponse) -> Value {
        serde_json::from_str(&r.body).unwrap()
    }

    #[test]
    fn every_outcome_has_its_status() {
        let cases = [
            (ErrorCode::BadRequest, 400),
            (ErrorCode::NotFound, 404),
            (ErrorCode::Conflict, 409),
            (ErrorCode::OutOfRange, 416),
            (ErrorCode::CorruptInput, 500),
            (ErrorCode::Internal, 500),
            (ErrorCode::Unavailable, 503),
        ];
        for (code, status) in cases {
            assert_eq!(status_for(code), status, "{code:?}");
        }
    }

    #[test]
    fn route_errors_answer_with_their_reason() {
        let post = HttpResponse::from_route(&RouteError::MethodNotAllowed {
            method: "POST".into(),
        });
        assert_eq!(post.status_code, 405);
        assert_eq!(body(&post)["error"]["code"], "bad_request");
        let nothing = HttpResponse::from_route(&RouteError::NoRoute {
            path: "v1/nothing".into(),
        });
        assert_eq!(nothing.status_code, 404);
        assert_eq!(
            body(&nothing)["error"],
            json!({"code": "not_found", "message": "no route for GET /v1/nothing", "retryable": false})
        );
        let limit = HttpResponse::from_route(&RouteError::LimitOutOfRange);
        assert_eq!(
            (limit.status_code, body(&limit)["error"]["code"].as_str()),
            (400, Some("bad_request"))
        );
    }

    #[test]
    fn server_errors_say_nothing_of_their_cause() {
        let r = HttpResponse::from_pipeline(&PipelineError::Internal("secret".into()));
        assert_eq!(r.status_code, 500);
        assert_eq!(
            body(&r)["error"],
            json!({"code": "internal", "message": "internal error", "retryable": false})
        );
        assert!(!r.headers.contains_key("retry-after"));
    }
}
