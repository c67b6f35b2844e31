use crate::archive::ArchiveError;
use crate::catalog::CatalogError;
use crate::index::IndexError;
use crate::kafka::KafkaError;
use crate::source::SourceError;
use crate::store::{StoreError, StoreErrorKind};
use crate::types::{InvalidValue, ObjectKey, Offset, TopicPartition};

/// Result of a pipeline operation.
pub type PipelineResult<T> = Result<T, PipelineError>;

/// The small set of outcomes callers act on (retry, quarantine; the fetch function maps each to an
/// HTTP status).
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
    /// Local resources (scratch disk space) are too small for the input; retrying with the same
    /// configuration fails the same way.
    ResourceExhausted,
    /// A dependency is temporarily unavailable; retry later.
    Unavailable,
    /// A bug or corrupt stored data.
    Internal,
}

impl ErrorCode {
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
    /// Another writer changed the partition first (a concurrent merge, retention or
    /// registration): nothing was changed, and the same work may succeed after a fresh read. See
    /// [`PipelineError::is_lost_race`] for the catalog errors that mean the same.
    #[error("{tp} changed concurrently: {what}")]
    LostRace {
        /// The partition.
        tp: TopicPartition,
        /// What was found changed.
        what: String,
    },
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
    /// `rebuild-catalog` without `force` on a catalog that has segments or retirements.
    #[error(
        "the catalog is not empty ({partitions} partitions, {retired} retired archives): rebuild adds to it only when forced"
    )]
    CatalogNotEmpty {
        /// Partitions it has.
        partitions: usize,
        /// Retired archives it tracks.
        retired: usize,
    },
    /// The local scratch space filled up or failed: nothing was published.
    #[error("{0} (indexing needs about twice a segment's size in scratch space)")]
    Scratch(#[from] crate::scratch::ScratchError),
    /// A local source file could not be read.
    #[error("cannot read the source: {0}")]
    SourceIo(String),
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
            PipelineError::Catalog(CatalogError::Conflict { .. })
            | PipelineError::CatalogNotEmpty { .. } => ErrorCode::Conflict,
            // The same work may succeed after a fresh read.
            PipelineError::LostRace { .. } => ErrorCode::Unavailable,
            PipelineError::Catalog(e) if e.is_retryable() => ErrorCode::Unavailable,
            PipelineError::Store(e) if e.kind().is_retryable() => ErrorCode::Unavailable,
            PipelineError::Scratch(crate::scratch::ScratchError::Full { .. }) => {
                ErrorCode::ResourceExhausted
            }
            PipelineError::CorruptArchive { .. }
            | PipelineError::Scratch(_)
            | PipelineError::SourceIo(_)
            | PipelineError::Store(_)
            | PipelineError::Catalog(_)
            | PipelineError::Index(_)
            | PipelineError::Archive(_)
            | PipelineError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Whether another writer changed the partition first, so nothing was changed: a
    /// [`PipelineError::LostRace`], or a conditional catalog change that found another version
    /// or a segment gone. Compaction skips such a partition until its next run.
    pub fn is_lost_race(&self) -> bool {
        matches!(
            self,
            PipelineError::LostRace { .. }
                | PipelineError::Catalog(
                    CatalogError::VersionMismatch { .. } | CatalogError::UnknownSegment { .. }
                )
        )
    }

    /// Whether a read found an archive gone from the store: replaced by compaction and deleted
    /// after the reader looked its segment up (readers then read the catalog again).
    pub fn is_vanished_archive(&self) -> bool {
        matches!(self, PipelineError::Store(e) if e.kind() == StoreErrorKind::NotFound)
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
