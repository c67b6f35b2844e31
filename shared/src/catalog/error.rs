use crate::types::{SegmentId, TopicPartition};

/// Result of a catalog operation.
pub type CatalogResult<T> = Result<T, CatalogError>;

/// Why a catalog operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    /// A new segment overlaps a different committed one; nothing was committed.
    #[error("segment {new} of {tp} overlaps committed segment {existing} with different content")]
    Conflict {
        /// The partition.
        tp: TopicPartition,
        /// The segment being added.
        new: SegmentId,
        /// The committed segment it overlaps.
        existing: SegmentId,
    },
    /// A conditional change found a different partition version; nothing was changed.
    #[error("{tp} is at version {actual}, expected {expected}")]
    VersionMismatch {
        /// The partition.
        tp: TopicPartition,
        /// The version the caller expected.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// A segment to be removed is not committed.
    #[error("{tp} has no segment {id}")]
    UnknownSegment {
        /// The partition.
        tp: TopicPartition,
        /// The missing segment.
        id: SegmentId,
    },
    /// Stored catalog data does not decode.
    #[error("catalog data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed; `retryable` tells whether the same call may succeed later.
    #[error("catalog backend error: {message}")]
    Backend {
        /// Whether retrying may succeed (throttling, timeouts).
        retryable: bool,
        /// The backend's description.
        message: String,
    },
}

impl CatalogError {
    /// A non-retryable backend error from any displayable cause.
    pub fn backend(e: impl std::fmt::Display) -> Self {
        CatalogError::Backend {
            retryable: false,
            message: e.to_string(),
        }
    }

    /// Whether the failed call certainly changed nothing: a condition did not hold. After any other
    /// failure (a timeout, a lost response) the change may have been applied, so whatever it
    /// referenced must be kept (garbage collection removes it later if it is unreferenced).
    pub fn certainly_unapplied(&self) -> bool {
        matches!(
            self,
            CatalogError::Conflict { .. }
                | CatalogError::VersionMismatch { .. }
                | CatalogError::UnknownSegment { .. }
        )
    }

    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CatalogError::Backend {
                retryable: true,
                ..
            }
        )
    }
}
