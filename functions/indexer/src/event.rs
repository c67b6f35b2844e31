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
    pub objects: Result<Vec<ObjectRef>, SqsBodyError>,
}

/// An EventBridge event that is not S3's "Object Created" (e.g. "Object Deleted", or another
/// source): it names no object to index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("EventBridge event {detail_type} from {event_source} is not an S3 Object Created")]
pub struct NotObjectCreated {
    /// The event's `detail-type`.
    pub detail_type: String,
    /// The event's `source`.
    pub event_source: String,
}

/// Why the body of one SQS message names no objects. Only that message fails (it is reported in
/// `batchItemFailures`); the other messages of the batch are unaffected. Details are serde's
/// messages, kept as text so that items stay `Clone` and comparable like the event they are part of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqsBodyError {
    /// The body is not JSON at all.
    #[error("body is not JSON: {0}")]
    NotJson(String),
    /// The body has `Records` but is not an S3 event notification.
    #[error("bad S3 notification: {0}")]
    BadS3Notification(String),
    /// The body has `detail-type` but is not an EventBridge event.
    #[error("bad EventBridge event: {0}")]
    BadEventBridgeEvent(String),
    /// The body is an EventBridge event of another kind.
    #[error(transparent)]
    NotObjectCreated(#[from] NotObjectCreated),
    /// The body has neither `Records` nor `detail-type` (nor is S3's `s3:TestEvent`).
    #[error("body is neither an S3 notification nor an EventBridge event")]
    UnknownShape,
}

/// Why an event could not be read at all: the invocation fails as a whole.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The records say `aws:sqs` but the event is not an SQS event.
    #[error("unrecognised indexer event: {0}")]
    BadSqsEvent(#[source] serde_json::Error),
    /// The records say `aws:s3` but the event is not an S3 event notification.
    #[error("unrecognised indexer event: {0}")]
    BadS3Notification(#[source] serde_json::Error),
    /// The event has `detail-type` but is not an EventBridge event.
    #[error("unrecognised indexer event: {0}")]
    BadEventBridgeEvent(#[source] serde_json::Error),
    /// The event is an EventBridge event of another kind.
    #[error("unrecognised indexer event: {0}")]
    NotObjectCreated(#[from] NotObjectCreated),
    /// The event is none of the shapes the indexer is invoked with.
    #[error(
        "unrecognised indexer event: expected an S3 notification, SQS messages or an EventBridge event"
    )]
    UnknownShape,
}

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

fn bridge_object(event: BridgeEvent) -> Result<ObjectRef, NotObjectCreated> {
    if event.source != "aws.s3" || event.detail_type != "Object Created" {
        return Err(NotObjectCreated {
            detail_type: event.detail_type,
            event_source: event.source,
        });
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
fn sqs_body(body: &str) -> Result<Vec<ObjectRef>, SqsBodyError> {
    let value: Value =
        serde_json::from_str(body).map_err(|e| SqsBodyError::NotJson(e.to_string()))?;
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if value.get("Records").is_some() {
        let event: S3Event = serde_json::from_value(value)
            .map_err(|e| SqsBodyError::BadS3Notification(e.to_string()))?;
        return Ok(s3_objects(event));
    }
    if value.get("detail-type").is_some() {
        let event: BridgeEvent = serde_json::from_value(value)
            .map_err(|e| SqsBodyError::BadEventBridgeEvent(e.to_string()))?;
        return Ok(vec![bridge_object(event)?]);
    }
    Err(SqsBodyError::UnknownShape)
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
                    serde_json::from_value(value).map_err(EventError::BadSqsEvent)?;
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
                    serde_json::from_value(value).map_err(EventError::BadS3Notification)?;
                Ok(IndexerEvent::S3(s3_objects(event)))
            }
            _ if value.get("detail-type").is_some() => {
                let event: BridgeEvent =
                    serde_json::from_value(value).map_err(EventError::BadEventBridgeEvent)?;
                Ok(IndexerEvent::EventBridge(bridge_object(event)?))
            }
            _ => Err(EventError::UnknownShape),
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
    fn sqs_bodies_say_what_is_wrong() {
        assert!(matches!(
            sqs_body("not json"),
            Err(SqsBodyError::NotJson(_))
        ));
        assert!(matches!(
            sqs_body(r#"{"Records": 1}"#),
            Err(SqsBodyError::BadS3Notification(_))
        ));
        assert!(matches!(
            sqs_body(r#"{"detail-type": "Object Created"}"#),
            Err(SqsBodyError::BadEventBridgeEvent(_))
        ));
        assert_eq!(
            sqs_body("{}").unwrap_err().to_string(),
            "body is neither an S3 notification nor an EventBridge event"
        );
        let deleted = r#"{"detail-type": "Object Deleted", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}}"#;
        assert_eq!(
            sqs_body(deleted),
            Err(SqsBodyError::NotObjectCreated(NotObjectCreated {
                detail_type: "Object Deleted".into(),
                event_source: "aws.s3".into(),
            }))
        );
        assert_eq!(
            sqs_body(deleted).unwrap_err().to_string(),
            "EventBridge event Object Deleted from aws.s3 is not an S3 Object Created"
        );
    }

    #[test]
    fn unknown_events_are_rejected() {
        assert!(IndexerEvent::parse(serde_json::json!({"hello": 1})).is_err());
        let wrong = serde_json::json!({"detail-type": "Object Deleted", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "k"}}});
        assert!(IndexerEvent::parse(wrong.clone()).is_err());
        assert!(matches!(
            IndexerEvent::parse(serde_json::json!({"hello": 1})),
            Err(EventError::UnknownShape)
        ));
        let e = IndexerEvent::parse(wrong).unwrap_err();
        assert!(matches!(e, EventError::NotObjectCreated(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "unrecognised indexer event: EventBridge event Object Deleted from aws.s3 is not an S3 \
             Object Created"
        );
        let bad_sqs = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": 1}]});
        assert!(matches!(
            IndexerEvent::parse(bad_sqs),
            Err(EventError::BadSqsEvent(_))
        ));
    }
}
