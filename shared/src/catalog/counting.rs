//! A [`CatalogLayer`] that counts calls per operation (for benchmarks and metrics).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use serde::Serialize;

use super::{Catalog, CatalogCall, CatalogLayer, CatalogOp, CatalogResult};

/// Calls made through a [`CountingCatalog`], by operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatalogCounts {
    /// Reads: every operation that cannot change the catalog ([`CatalogOp::is_write`]).
    pub reads: u64,
    /// Writes: `register`, `record_ingest`, `swap_segments`, `forget_retired`, `record_retired`.
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
}

#[async_trait]
impl CatalogLayer for CountingCatalog {
    fn inner(&self) -> &dyn Catalog {
        &*self.inner
    }

    async fn around<'a, T: Send + 'a>(
        &'a self,
        op: CatalogOp,
        call: CatalogCall<'a, T>,
    ) -> CatalogResult<T> {
        let c = &self.counters;
        let total = if op.is_write() { &c.writes } else { &c.reads };
        total.fetch_add(1, Ordering::Relaxed);
        match op {
            CatalogOp::SegmentCovering => c.segment_covering.fetch_add(1, Ordering::Relaxed),
            CatalogOp::Partition => c.partition.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
        call.await
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
