use crate::archive::ArchiveError;
use crate::catalog::CatalogError;
use crate::index::IndexError;
use crate::kafka::KafkaError;
use crate::source::SourceError;
use crate::store::StoreError;
use crate::types::{InvalidValue, ObjectKey, Offset, TopicPartition};

/// Result of a pipeline operation.
pub type PipelineResult<T> = Result<T, PipelineError>;

/// The small set of outcomes callers act on (HTTP status, retry, quarantine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed.
    BadRequest,
    /// The topic or partition has nothing tiered.
    NotFound,
    /// The offset is outside the tiered range.
    OutOfRange,
    /// The input conflicts with what is registered.
    Conflict,
    /// The source object is corrupt or unsealed; retrying cannot help.
    CorruptInput,
    /// A dependency is temporarily unavailable; retry later.
    Unavailable,
    /// A bug or corrupt stored data.
    Internal,
}

impl ErrorCode {
    /// The HTTP status for this outcome.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::CorruptInput => 400,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::OutOfRange => 416,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(self) -> bool {
        self == ErrorCode::Unavailable
    }
}

/// Why a pipeline operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The source object is not a valid sealed segment.
    #[error("invalid source: {0}")]
    InvalidSource(#[from] SourceError),
    /// A request argument is invalid.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The search query does not parse.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// Nothing is tiered for the partition.
    #[error("no tiered data for {0}")]
    UnknownPartition(TopicPartition),
    /// The requested offset is outside the tiered range.
    #[error(
        "offset {requested} is out of the tiered range of {tp}: earliest {earliest}, latest {latest}"
    )]
    OffsetOutOfRange {
        /// The partition.
        tp: TopicPartition,
        /// The offset asked for.
        requested: i64,
        /// First tiered offset.
        earliest: Offset,
        /// Last tiered offset.
        latest: Offset,
    },
    /// An archive in the store does not match its catalog entry or is damaged.
    #[error("archive {key} is damaged: {reason}")]
    CorruptArchive {
        /// The archive.
        key: ObjectKey,
        /// What is wrong.
        reason: String,
    },
    /// Object-store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Catalog failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Building or reading a Tantivy index failed.
    #[error("index: {0}")]
    Index(IndexError),
    /// Writing an archive failed.
    #[error("archive: {0}")]
    Archive(#[from] ArchiveError),
    /// A bug: an invariant did not hold or a task died.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<InvalidValue> for PipelineError {
    fn from(e: InvalidValue) -> Self {
        PipelineError::InvalidRequest(e.to_string())
    }
}

impl From<IndexError> for PipelineError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::InvalidQuery(q) => PipelineError::InvalidQuery(q),
            other => PipelineError::Index(other),
        }
    }
}

impl PipelineError {
    /// The outcome class of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            PipelineError::InvalidSource(_) => ErrorCode::CorruptInput,
            PipelineError::InvalidRequest(_) | PipelineError::InvalidQuery(_) => {
                ErrorCode::BadRequest
            }
            PipelineError::UnknownPartition(_) => ErrorCode::NotFound,
            PipelineError::OffsetOutOfRange { .. } => ErrorCode::OutOfRange,
            PipelineError::Catalog(CatalogError::Conflict { .. }) => ErrorCode::Conflict,
            PipelineError::Catalog(e) if e.is_retryable() => ErrorCode::Unavailable,
            PipelineError::Store(e) if e.kind().is_retryable() => ErrorCode::Unavailable,
            PipelineError::CorruptArchive { .. }
            | PipelineError::Store(_)
            | PipelineError::Catalog(_)
            | PipelineError::Index(_)
            | PipelineError::Archive(_)
            | PipelineError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn corrupt(key: &ObjectKey, reason: impl std::fmt::Display) -> Self {
        PipelineError::CorruptArchive {
            key: key.clone(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn corrupt_batch(key: &ObjectKey, e: KafkaError) -> Self {
        Self::corrupt(key, format!("stored batch does not decode: {e}"))
    }
}
