//! Wrapping a catalog: a [`CatalogLayer`] sees every call to the catalog it wraps, by operation,
//! and decides how it reaches that catalog. Every operation of [`Catalog`] is forwarded here, once,
//! for all layers (counting, fault injection, interleaving in tests).

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use super::{
    Catalog, CatalogResult, CommittedOffset, IngestRecord, PartitionInfo, RegisterOutcome,
    RetiredArchive, SegmentEntry,
};
use crate::types::{GroupId, ObjectKey, Offset, SegmentId, TopicPartition};

/// One operation of [`Catalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CatalogOp {
    /// [`Catalog::register`].
    Register,
    /// [`Catalog::ingest_record`].
    IngestRecord,
    /// [`Catalog::record_ingest`].
    RecordIngest,
    /// [`Catalog::partition`].
    Partition,
    /// [`Catalog::partitions`].
    Partitions,
    /// [`Catalog::segment_covering`].
    SegmentCovering,
    /// [`Catalog::segment_for_timestamp`].
    SegmentForTimestamp,
    /// [`Catalog::segments`].
    Segments,
    /// [`Catalog::swap_segments`].
    SwapSegments,
    /// [`Catalog::retired_archives`].
    RetiredArchives,
    /// [`Catalog::forget_retired`].
    ForgetRetired,
    /// [`Catalog::record_retired`].
    RecordRetired,
    /// [`Catalog::commit_offsets`].
    CommitOffsets,
    /// [`Catalog::committed_offsets`].
    CommittedOffsets,
}

impl CatalogOp {
    /// Whether the operation may change the catalog.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            CatalogOp::Register
                | CatalogOp::RecordIngest
                | CatalogOp::SwapSegments
                | CatalogOp::ForgetRetired
                | CatalogOp::RecordRetired
                | CatalogOp::CommitOffsets
        )
    }
}

/// The call of one operation on the wrapped catalog; it does nothing until awaited.
pub type CatalogCall<'a, T> = Pin<Box<dyn Future<Output = CatalogResult<T>> + Send + 'a>>;

/// A catalog wrapping another: implementing this trait makes a type a [`Catalog`] that forwards
/// every operation to [`CatalogLayer::inner`] through [`CatalogLayer::around`].
#[async_trait]
pub trait CatalogLayer: Send + Sync + std::fmt::Debug {
    /// The wrapped catalog.
    fn inner(&self) -> &dyn Catalog;

    /// Runs `call`, the operation `op` on the wrapped catalog. A layer may act before or after it,
    /// change its result, or not run it at all (then the wrapped catalog never sees the call).
    async fn around<'a, T: Send + 'a>(
        &'a self,
        op: CatalogOp,
        call: CatalogCall<'a, T>,
    ) -> CatalogResult<T> {
        let _ = op;
        call.await
    }
}

#[async_trait]
impl<L: CatalogLayer> Catalog for L {
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome> {
        let call = self.inner().register(ingest, segments);
        self.around(CatalogOp::Register, call).await
    }

    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
        let call = self.inner().ingest_record(source);
        self.around(CatalogOp::IngestRecord, call).await
    }

    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()> {
        let call = self.inner().record_ingest(record);
        self.around(CatalogOp::RecordIngest, call).await
    }

    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>> {
        let call = self.inner().partition(tp);
        self.around(CatalogOp::Partition, call).await
    }

    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
        let call = self.inner().partitions();
        self.around(CatalogOp::Partitions, call).await
    }

    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let call = self.inner().segment_covering(tp, offset);
        self.around(CatalogOp::SegmentCovering, call).await
    }

    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let call = self.inner().segment_for_timestamp(tp, timestamp_ms);
        self.around(CatalogOp::SegmentForTimestamp, call).await
    }

    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>> {
        let call = self.inner().segments(tp);
        self.around(CatalogOp::Segments, call).await
    }

    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        let call = self
            .inner()
            .swap_segments(tp, expected_version, remove, add, retired_at_ms);
        self.around(CatalogOp::SwapSegments, call).await
    }

    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>> {
        let call = self.inner().retired_archives();
        self.around(CatalogOp::RetiredArchives, call).await
    }

    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
        let call = self.inner().forget_retired(keys);
        self.around(CatalogOp::ForgetRetired, call).await
    }

    async fn record_retired(&self, archives: &[RetiredArchive]) -> CatalogResult<()> {
        let call = self.inner().record_retired(archives);
        self.around(CatalogOp::RecordRetired, call).await
    }

    async fn commit_offsets(
        &self,
        group: &GroupId,
        offsets: &[CommittedOffset],
    ) -> CatalogResult<()> {
        let call = self.inner().commit_offsets(group, offsets);
        self.around(CatalogOp::CommitOffsets, call).await
    }

    async fn committed_offsets(&self, group: &GroupId) -> CatalogResult<Vec<CommittedOffset>> {
        let call = self.inner().committed_offsets(group);
        self.around(CatalogOp::CommittedOffsets, call).await
    }
}
