//! A [`Catalog`] decorator that counts calls per operation (for benchmarks and metrics).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;

use super::{
    Catalog, CatalogResult, IngestRecord, PartitionInfo, RegisterOutcome, RetiredArchive,
    SegmentEntry,
};
use crate::types::{ObjectKey, Offset, SegmentId, TopicPartition};

/// Calls made through a [`CountingCatalog`], by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatalogCounts {
    /// Reads: `ingest_record`, `partition`, `partitions`, `segment_covering`,
    /// `segment_for_timestamp`, `segments`.
    pub reads: u64,
    /// Writes: `register`, `record_ingest`, `swap_segments`.
    pub writes: u64,
    /// Of the reads, `segment_covering` (the fetch path's lookup).
    pub segment_covering: u64,
    /// Of the reads, `partition`.
    pub partition: u64,
}

impl CatalogCounts {
    /// Counts accumulated since `earlier`.
    pub fn since(&self, earlier: &CatalogCounts) -> CatalogCounts {
        CatalogCounts {
            reads: self.reads - earlier.reads,
            writes: self.writes - earlier.writes,
            segment_covering: self.segment_covering - earlier.segment_covering,
            partition: self.partition - earlier.partition,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    segment_covering: AtomicU64,
    partition: AtomicU64,
}

/// Wraps a catalog and counts every call; behaviour is the inner catalog's.
#[derive(Debug, Clone)]
pub struct CountingCatalog {
    inner: Arc<dyn Catalog>,
    counters: Arc<Counters>,
}

impl CountingCatalog {
    /// Counts calls to `inner`.
    pub fn new(inner: Arc<dyn Catalog>) -> Self {
        CountingCatalog {
            inner,
            counters: Arc::default(),
        }
    }

    /// The counts so far.
    pub fn counts(&self) -> CatalogCounts {
        let c = &self.counters;
        CatalogCounts {
            reads: c.reads.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            segment_covering: c.segment_covering.load(Ordering::Relaxed),
            partition: c.partition.load(Ordering::Relaxed),
        }
    }

    fn read(&self) {
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
    }

    fn write(&self) {
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl Catalog for CountingCatalog {
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome> {
        self.write();
        self.inner.register(ingest, segments).await
    }

    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
        self.read();
        self.inner.ingest_record(source).await
    }

    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()> {
        self.write();
        self.inner.record_ingest(record).await
    }

    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>> {
        self.read();
        self.counters.partition.fetch_add(1, Ordering::Relaxed);
        self.inner.partition(tp).await
    }

    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
        self.read();
        self.inner.partitions().await
    }

    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        self.read();
        self.counters
            .segment_covering
            .fetch_add(1, Ordering::Relaxed);
        self.inner.segment_covering(tp, offset).await
    }

    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        self.read();
        self.inner.segment_for_timestamp(tp, timestamp_ms).await
    }

    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>> {
        self.read();
        self.inner.segments(tp).await
    }

    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        self.write();
        self.inner
            .swap_segments(tp, expected_version, remove, add, retired_at_ms)
            .await
    }

    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>> {
        self.read();
        self.inner.retired_archives().await
    }

    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
        self.write();
        self.inner.forget_retired(keys).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EmbeddedCatalog;

    crate::catalog_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let inner = EmbeddedCatalog::open(dir.path().join("c.redb")).unwrap();
        (CountingCatalog::new(Arc::new(inner)), dir)
    });
}
