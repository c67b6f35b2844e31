//! The event shapes that announce a new source object, reduced to the objects they name.

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sqs::SqsEvent;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

/// One object named by an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key, decoded.
    pub key: String,
    /// Object version: the ETag, else the version id, else the sequencer.
    pub version: String,
    /// When S3 emitted the event (ms since the epoch), if the event says.
    pub event_time_ms: Option<i64>,
}

/// An invocation event.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexerEvent {
    /// S3 event notification invoking the function directly.
    S3(Vec<ObjectRef>),
    /// SQS messages, each carrying an S3 notification (or EventBridge event) in its body.
    Sqs(Vec<SqsItem>),
    /// EventBridge "Object Created" event from `aws.s3`.
    EventBridge(ObjectRef),
}

/// The objects named by one SQS message; `Err` when its body is not a notification we know.
#[derive(Debug, Clone, PartialEq)]
pub struct SqsItem {
    /// The message id (what `batchItemFailures` reports).
    pub message_id: String,
    /// The objects, or why the body could not be read.
    pub objects: Result<Vec<ObjectRef>, String>,
}

/// Why an event could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised indexer event: {0}")]
pub struct EventError(String);

#[derive(Deserialize)]
struct BridgeEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    time: Option<chrono::DateTime<chrono::Utc>>,
    detail: BridgeDetail,
}

#[derive(Deserialize)]
struct BridgeDetail {
    bucket: BridgeBucket,
    object: BridgeObject,
}

#[derive(Deserialize)]
struct BridgeBucket {
    name: String,
}

#[derive(Deserialize)]
struct BridgeObject {
    key: String,
    etag: Option<String>,
    #[serde(rename = "version-id")]
    version_id: Option<String>,
    sequencer: Option<String>,
}

/// S3 notification keys are URL-encoded with `+` for spaces.
fn decode_notification_key(key: &str) -> String {
    percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn version(etag: Option<String>, version_id: Option<String>, sequencer: Option<String>) -> String {
    etag.or(version_id)
        .or(sequencer)
        .unwrap_or_else(|| "unversioned".into())
}

fn s3_objects(event: S3Event) -> Vec<ObjectRef> {
    event
        .records
        .into_iter()
        .filter(|r| {
            r.event_name
                .as_deref()
                .is_none_or(|n| n.starts_with("ObjectCreated"))
        })
        .map(|r| ObjectRef {
            event_time_ms: Some(r.event_time.timestamp_millis()),
            bucket: r.s3.bucket.name.unwrap_or_default(),
            key: decode_notification_key(r.s3.object.key.as_deref().unwrap_or_default()),
            version: version(
                r.s3.object.e_tag,
                r.s3.object.version_id,
                r.s3.object.sequencer,
            ),
        })
        .collect()
}

fn bridge_object(event: BridgeEvent) -> Result<ObjectRef, String> {
    if event.source != "aws.s3" || event.detail_type != "Object Created" {
        return Err(format!(
            "EventBridge event {} from {} is not an S3 Object Created",
            event.detail_type, event.source
        ));
    }
    let o = event.detail.object;
    // EventBridge carries keys as they are, not URL-encoded.
    Ok(ObjectRef {
        bucket: event.detail.bucket.name,
        key: o.key,
        version: version(o.etag, o.version_id, o.sequencer),
        event_time_ms: event.time.map(|t| t.timestamp_millis()),
    })
}

/// The objects in an SQS message body: an S3 notification, an EventBridge event, or S3's
/// `s3:TestEvent` (no objects).
fn sqs_body(body: &str) -> Result<Vec<ObjectRef>, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if value.get("Records").is_some() {
        let event: S3Event =
            serde_json::from_value(value).map_err(|e| format!("bad S3 notification: {e}"))?;
        return Ok(s3_objects(event));
    }
    if value.get("detail-type").is_some() {
        let event: BridgeEvent =
            serde_json::from_value(value).map_err(|e| format!("bad EventBridge event: {e}"))?;
        return bridge_object(event).map(|o| vec![o]);
    }
    Err("body is neither an S3 notification nor an EventBridge event".into())
}

impl IndexerEvent {
    /// Recognises the event by its shape.
    pub fn parse(value: Value) -> Result<IndexerEvent, EventError> {
        let source_of_first = value
            .pointer("/Records/0/eventSource")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match source_of_first.as_deref() {
            Some("aws:sqs") => {
                let event: SqsEvent =
                    serde_json::from_value(value).map_err(|e| EventError(e.to_string()))?;
                let items = event
                    .records
                    .into_iter()
                    .map(|m| SqsItem {
                        message_id: m.message_id.unwrap_or_default(),
                        objects: sqs_body(m.body.as_deref().unwrap_or_default()),
                    })
                    .collect();
                Ok(IndexerEvent::Sqs(items))
            }
            Some("aws:s3") => {
                let event: S3Event =
                    serde_json::from_value(value).map_err(|e| EventError(e.to_string()))?;
                Ok(IndexerEvent::S3(s3_objects(event)))
            }
            _ if value.get("detail-type").is_some() => {
                let event: BridgeEvent =
                    serde_json::from_value(value).map_err(|e| EventError(e.to_string()))?;
                bridge_object(event)
                    .map(IndexerEvent::EventBridge)
                    .map_err(EventError)
            }
            _ => Err(EventError(
                "expected an S3 notification, SQS messages or an EventBridge event".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_keys_are_url_decoded() {
        assert_eq!(
            decode_notification_key("kafka-logs/orders%2Beu-0/a+b%3A1.log"),
            "kafka-logs/orders+eu-0/a b:1.log"
        );
    }

    #[test]
    fn sqs_test_events_name_no_objects() {
        assert_eq!(
            sqs_body(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#),
            Ok(vec![])
        );
        assert!(sqs_body("not json").is_err());
        assert!(sqs_body("{}").is_err());
    }

    #[test]
    fn unknown_events_are_rejected() {
        assert!(IndexerEvent::parse(serde_json::json!({"hello": 1})).is_err());
        let wrong = serde_json::json!({"detail-type": "Object Deleted", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}});
        assert!(IndexerEvent::parse(wrong).is_err());
    }
}
