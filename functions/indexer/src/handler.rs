//! Runs every object of an event through the pipeline and reports per-object outcomes in the shape
//! the trigger expects.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use serde_json::{Value, json};
use tier::clock::Clock;
use tier::pipeline::{IngestOutcome, Pipeline, SourceObject};
use tier_lambda::Metrics;

use crate::event::{IndexerEvent, ObjectRef, SqsItem};

/// Why an invocation failed as a whole (AWS retries it; indexed objects are no-ops on retry).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not one the indexer understands.
    #[error(transparent)]
    Event(#[from] crate::event::EventError),
    /// Some objects failed; the first failure is quoted.
    #[error("{failed} of {total} objects failed, first: {first}")]
    ObjectsFailed {
        /// Objects that failed.
        failed: usize,
        /// Objects in the event.
        total: usize,
        /// The first failure.
        first: String,
    },
}

/// The indexer: a pipeline over the configured bucket.
#[derive(Debug, Clone)]
pub struct Indexer {
    pipeline: Pipeline,
    bucket: String,
}

impl Indexer {
    /// An indexer for objects of `bucket`.
    pub fn new(pipeline: Pipeline, bucket: impl Into<String>) -> Self {
        Indexer {
            pipeline,
            bucket: bucket.into(),
        }
    }

    /// Handles one invocation. Direct S3 and EventBridge invocations fail as a whole if any object
    /// failed; SQS invocations succeed with `batchItemFailures` naming the failed messages.
    /// Sources that can never be indexed are quarantined, which counts as handled.
    pub async fn handle(&self, event: Value, metrics: &mut Metrics) -> Result<Value, HandlerError> {
        match IndexerEvent::parse(event)? {
            IndexerEvent::S3(objects) => self.all_or_error(&objects, metrics).await,
            IndexerEvent::EventBridge(object) => self.all_or_error(&[object], metrics).await,
            IndexerEvent::Sqs(items) => {
                let mut response = SqsBatchResponse::default();
                for item in items {
                    if let Err(reason) = self.sqs_item(&item, metrics).await {
                        tracing::error!(message_id = %item.message_id, %reason, "message failed");
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = item.message_id.clone();
                        response.batch_item_failures.push(failure);
                    }
                }
                serde_json::to_value(&response).map_err(|e| HandlerError::ObjectsFailed {
                    failed: 0,
                    total: 0,
                    first: e.to_string(),
                })
            }
        }
    }

    async fn all_or_error(
        &self,
        objects: &[ObjectRef],
        metrics: &mut Metrics,
    ) -> Result<Value, HandlerError> {
        let mut failures = Vec::new();
        let mut outcomes = Vec::new();
        for object in objects {
            match self.object(object, metrics).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(reason) => failures.push(reason),
            }
        }
        match failures.first() {
            None => Ok(json!({ "objects": outcomes })),
            Some(first) => Err(HandlerError::ObjectsFailed {
                failed: failures.len(),
                total: objects.len(),
                first: first.clone(),
            }),
        }
    }

    async fn sqs_item(&self, item: &SqsItem, metrics: &mut Metrics) -> Result<(), String> {
        let objects = item.objects.as_ref().map_err(Clone::clone)?;
        for object in objects {
            self.object(object, metrics).await?;
        }
        Ok(())
    }

    /// Ingests one object; `Err` carries a description for logs and the retry decision's caller.
    async fn object(&self, object: &ObjectRef, metrics: &mut Metrics) -> Result<Value, String> {
        let fail = |metrics: &mut Metrics, reason: String| {
            metrics.add("Errors", 1.0, "Count");
            tracing::error!(bucket = %object.bucket, key = %object.key, %reason, "object failed");
            Err(reason)
        };
        if object.bucket != self.bucket {
            return fail(
                metrics,
                format!(
                    "object {} is in bucket {}, this indexer serves {}",
                    object.key, object.bucket, self.bucket
                ),
            );
        }
        let key = match object.key.parse() {
            Ok(key) => key,
            Err(e) => return fail(metrics, format!("{e}")),
        };
        if let Some(at) = object.event_time_ms {
            let lag = tier::clock::SystemClock.now_ms().saturating_sub(at).max(0);
            metrics.max("LagMs", lag as f64, "Milliseconds");
        }
        let source = SourceObject {
            key,
            version: object.version.clone(),
        };
        match self.pipeline.ingest_object(&source).await {
            Ok(outcome) => {
                record(&outcome, metrics);
                tracing::info!(key = %object.key, outcome = ?outcome_name(&outcome), "object handled");
                serde_json::to_value(&outcome).map_err(|e| e.to_string())
            }
            Err(e) => {
                let kind = if e.code().is_retryable() {
                    "ErrorsRetryable"
                } else {
                    "ErrorsPermanent"
                };
                metrics.add(kind, 1.0, "Count");
                fail(metrics, format!("{}: {e}", object.key))
            }
        }
    }
}

fn outcome_name(outcome: &IngestOutcome) -> &'static str {
    match outcome {
        IngestOutcome::Indexed(r) if r.already_indexed => "already_indexed",
        IngestOutcome::Indexed(_) => "indexed",
        IngestOutcome::Quarantined { .. } => "quarantined",
    }
}

fn record(outcome: &IngestOutcome, metrics: &mut Metrics) {
    match outcome {
        IngestOutcome::Indexed(report) if report.already_indexed => {
            metrics.add("SourcesAlreadyIndexed", 1.0, "Count")
        }
        IngestOutcome::Indexed(report) => {
            metrics.add("SourcesIndexed", 1.0, "Count");
            for s in report.segments.iter().filter(|s| s.added) {
                metrics.add("SegmentsIndexed", 1.0, "Count");
                metrics.add("RecordsIndexed", s.records as f64, "Count");
                metrics.add("BytesIndexed", s.data_bytes as f64, "Bytes");
                metrics.add("ArchiveBytes", s.archive_bytes as f64, "Bytes");
            }
        }
        IngestOutcome::Quarantined { .. } => metrics.add("SourcesQuarantined", 1.0, "Count"),
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::Event(_) => "UnrecognisedEvent",
            HandlerError::ObjectsFailed { .. } => "ObjectsFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}
