//! API Gateway HTTP API proxy responses (payload format 2.0) and the error body.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Serialize;
use serde_json::{Value, json};
use tier::pipeline::{ErrorCode, PipelineError};

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
    /// A JSON response.
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
    pub fn error(status_code: u16, code: &str, message: &str, extra: Value) -> Self {
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
        let name = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let status = match code {
            ErrorCode::CorruptInput => 500, // stored data failed to decode: our problem, not the client's
            other => other.http_status(),
        };
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
        HttpResponse::error(status, &name, &e.to_string(), extra)
    }
}
