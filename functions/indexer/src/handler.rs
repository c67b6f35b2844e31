//! Runs every object of an event through the pipeline and reports per-object outcomes in the shape
//! the trigger expects.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use serde_json::{Value, json};
use tier::clock::Clock;
use tier::pipeline::{ErrorCode, IngestOutcome, Pipeline, PipelineError, SourceObject};
use tier_lambda::Metrics;

use crate::event::{EventError, IndexerEvent, ObjectRef, SqsBodyError, SqsItem};

/// Why an invocation failed as a whole (AWS retries it; indexed objects are no-ops on retry).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not one the indexer understands.
    #[error(transparent)]
    Event(#[from] EventError),
    /// Some objects failed; the first failure is quoted.
    #[error("{failed} of {total} objects failed, first: {first}")]
    ObjectsFailed {
        /// Objects that failed.
        failed: usize,
        /// Objects in the event.
        total: usize,
        /// The first failure.
        #[source]
        first: ObjectError,
    },
    /// The SQS batch response does not serialise (a bug).
    #[error("the SQS batch response does not serialise: {0}")]
    Response(#[source] serde_json::Error),
}

/// Why one object named by an event was not handled (sources that can never be indexed are
/// quarantined instead, which counts as handled).
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object is in another bucket than the one this indexer serves.
    #[error("object {key} is in bucket {bucket}, this indexer serves {serves}")]
    WrongBucket {
        /// The object key, as the event names it.
        key: String,
        /// The bucket the event names.
        bucket: String,
        /// The bucket this indexer serves.
        serves: String,
    },
    /// The pipeline failed on the object.
    #[error("{key}: {error}")]
    Pipeline {
        /// The object key.
        key: String,
        /// What the pipeline said.
        #[source]
        error: PipelineError,
    },
    /// The outcome does not serialise (a bug).
    #[error("{0}")]
    Outcome(#[source] serde_json::Error),
}

impl ObjectError {
    /// The outcome class: the pipeline's for its failures; an event naming an object this indexer
    /// cannot take is a bad request; an outcome that does not serialise is internal.
    pub fn code(&self) -> ErrorCode {
        match self {
            ObjectError::WrongBucket { .. } => ErrorCode::BadRequest,
            ObjectError::Pipeline { error, .. } => error.code(),
            ObjectError::Outcome(_) => ErrorCode::Internal,
        }
    }
}

/// Why one SQS message failed: it is reported in `batchItemFailures`, so SQS redelivers it.
#[derive(Debug, thiserror::Error)]
enum MessageError {
    /// The body names no objects we can read.
    #[error(transparent)]
    Body(#[from] SqsBodyError),
    /// An object it names failed.
    #[error(transparent)]
    Object(#[from] ObjectError),
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
                for SqsItem {
                    message_id,
                    objects,
                } in items
                {
                    if let Err(reason) = self.sqs_item(objects, metrics).await {
                        tracing::error!(%message_id, %reason, "message failed");
                        let mut failure = BatchItemFailure::default();
                        failure.item_identifier = message_id;
                        response.batch_item_failures.push(failure);
                    }
                }
                serde_json::to_value(&response).map_err(HandlerError::Response)
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
                Err(e) => failures.push(e),
            }
        }
        let failed = failures.len();
        match failures.into_iter().next() {
            None => Ok(json!({ "objects": outcomes })),
            Some(first) => Err(HandlerError::ObjectsFailed {
                failed,
                total: objects.len(),
                first,
            }),
        }
    }

    async fn sqs_item(
        &self,
        objects: Result<Vec<ObjectRef>, SqsBodyError>,
        metrics: &mut Metrics,
    ) -> Result<(), MessageError> {
        for object in objects? {
            self.object(&object, metrics).await?;
        }
        Ok(())
    }

    /// Ingests one object and returns its outcome as JSON. A failure is counted (`Errors`, and
    /// `ErrorsRetryable` or `ErrorsPermanent` for the pipeline's) and logged here.
    async fn object(
        &self,
        object: &ObjectRef,
        metrics: &mut Metrics,
    ) -> Result<Value, ObjectError> {
        match self.ingest(object, metrics).await {
            Ok(outcome) => serde_json::to_value(&outcome).map_err(ObjectError::Outcome),
            Err(e) => {
                if let ObjectError::Pipeline { .. } = e {
                    let kind = if e.code().is_retryable() {
                        "ErrorsRetryable"
                    } else {
                        "ErrorsPermanent"
                    };
                    metrics.add(kind, 1.0, "Count");
                }
                metrics.add("Errors", 1.0, "Count");
                tracing::error!(bucket = %object.bucket, key = %object.key, reason = %e, "object failed");
                Err(e)
            }
        }
    }

    /// Checks that the object is this indexer's and runs it through the pipeline; records the
    /// outcome's metrics (and the event's lag).
    async fn ingest(
        &self,
        object: &ObjectRef,
        metrics: &mut Metrics,
    ) -> Result<IngestOutcome, ObjectError> {
        if object.bucket != self.bucket {
            return Err(ObjectError::WrongBucket {
                key: object.key.clone(),
                bucket: object.bucket.clone(),
                serves: self.bucket.clone(),
            });
        }
        let key = match object.key.parse() {
            Ok(key) => key,
            Err(why) => {
                // A key the store cannot address can never be indexed: quarantined (recorded,
                // not copied), so the trigger is not retried until the DLQ.
                let outcome = self
                    .pipeline
                    .quarantine_unaddressable(&object.key, &object.version, &why)
                    .await
                    .map_err(|error| ObjectError::Pipeline {
                        key: object.key.clone(),
                        error,
                    })?;
                record(&outcome, metrics);
                return Ok(outcome);
            }
        };
        if let Some(at) = object.event_time_ms {
            let lag = tier::clock::SystemClock.now_ms().saturating_sub(at).max(0);
            metrics.max("LagMs", lag as f64, "Milliseconds");
        }
        let source = SourceObject {
            key,
            version: object.version.clone(),
        };
        let outcome = self
            .pipeline
            .ingest_object(&source)
            .await
            .map_err(|error| ObjectError::Pipeline {
                key: object.key.clone(),
                error,
            })?;
        record(&outcome, metrics);
        tracing::info!(key = %object.key, outcome = ?outcome_name(&outcome), "object handled");
        Ok(outcome)
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
                metrics.add("RecordsIndexed", s.segment.records as f64, "Count");
                metrics.add("BytesIndexed", s.segment.data_bytes as f64, "Bytes");
                metrics.add("ArchiveBytes", s.segment.archive_bytes as f64, "Bytes");
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
            HandlerError::Response(_) => "ResponseNotSerialisable",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}
