//! The catalog: which segments exist, where their archives are, and which sources were ingested.
//!
//! [`Catalog`] is the trait; [`EmbeddedCatalog`] (redb) is the embedded default; `DynamoCatalog`
//! (feature `aws`) is the AWS backend. Every backend passes the conformance suite run by
//! `catalog_test_suite!` (`tier::testing::catalog_suite`). Wrappers (counting, and the test doubles
//! of `tier::testing`) are [`CatalogLayer`]s, which forward every operation in one place.

mod counting;
#[cfg(feature = "aws")]
pub mod dynamo;
mod embedded;
mod error;
mod layer;
mod model;

use async_trait::async_trait;

pub use counting::{CatalogCounts, CountingCatalog};
#[cfg(feature = "aws")]
pub use dynamo::DynamoCatalog;
pub use embedded::EmbeddedCatalog;
pub use error::{CatalogError, CatalogResult};
pub use layer::{CatalogCall, CatalogLayer, CatalogOp};
pub use model::{
    CommittedOffset, IngestRecord, IngestStatus, PartitionInfo, RegisterOutcome, RetiredArchive,
    SegmentEntry,
};

use crate::types::{GroupId, ObjectKey, Offset, SegmentId, TopicPartition};

/// Segment metadata per topic-partition plus an ingestion ledger per source object.
///
/// Contracts every backend upholds (asserted by the conformance suite):
/// - Committed segments of a partition never overlap in offsets.
/// - [`Catalog::register`] is atomic: all given segments and the ingest record are committed, or
///   nothing is. A segment identical (same [`SegmentId`]) to a committed one is skipped, so re-running
///   an ingestion is a no-op. A segment overlapping a different committed one fails the whole call with
///   [`CatalogError::Conflict`].
/// - Each partition has a version that increases with every change to its segments;
///   [`Catalog::swap_segments`] applies only if the version is still the expected one, else
///   [`CatalogError::VersionMismatch`], with nothing changed.
/// - Lookups of unknown partitions return `None` / empty, not an error.
#[async_trait]
pub trait Catalog: Send + Sync + std::fmt::Debug {
    /// Commits `segments` and the ingest record `ingest` in one transaction.
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome>;

    /// The ledger entry of a source object, if it was ever recorded.
    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>>;

    /// Records a source outcome that registers no segment (e.g. quarantined); replaces any entry.
    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()>;

    /// Summary of one partition, `None` if it has no segments.
    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>>;

    /// Every partition with at least one segment, sorted by topic then partition.
    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>>;

    /// The first segment (in offset order) whose last offset is `>= offset`: the one holding `offset`,
    /// or the next one after a gap. `None` past the last segment.
    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>>;

    /// The first segment (in offset order) whose max timestamp is `>= timestamp_ms`; it holds the
    /// earliest offset with a timestamp `>= timestamp_ms`.
    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>>;

    /// All segments of a partition in offset order.
    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>>;

    /// Atomically replaces the segments `remove` with `add` if the partition's version is still
    /// `expected_version`; returns the new version. In the same transaction the archives of the
    /// removed segments are recorded as retired at `retired_at_ms` (see
    /// [`Catalog::retired_archives`]), so they can be deleted after a grace period without ever
    /// being lost track of. Fails with [`CatalogError::VersionMismatch`],
    /// [`CatalogError::UnknownSegment`] or [`CatalogError::Conflict`] without changing anything.
    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64>;

    /// Archives retired by swaps and not yet forgotten, in key order.
    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>>;

    /// Forgets retired archives (after deleting their objects); unknown keys are ignored.
    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()>;

    /// Records archives as retired without a swap (a rebuilt catalog's superseded archives, whose
    /// covering segments are already committed); a key already recorded takes the new time.
    async fn record_retired(&self, archives: &[RetiredArchive]) -> CatalogResult<()>;

    /// Records the offsets `group` committed, each replacing that partition's earlier one; all
    /// of them or (on error) possibly only some, each whole.
    async fn commit_offsets(
        &self,
        group: &GroupId,
        offsets: &[CommittedOffset],
    ) -> CatalogResult<()>;

    /// Every offset `group` has committed, sorted by topic then partition; empty for a group
    /// that never committed.
    async fn committed_offsets(&self, group: &GroupId) -> CatalogResult<Vec<CommittedOffset>>;
}
