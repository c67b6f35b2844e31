//! The pipeline, written against [`ObjectStore`] and [`Catalog`], one folder per stage:
//! - `ingest/`: index a source object into archives and register them, or quarantine it;
//! - `read/`: fetch batches, find offsets by position or time, search;
//! - `maintain/`: plan and run merges, retention and garbage collection.
//!
//! Backends and configuration come from the caller; [`Pipeline`] ties them together.

mod error;
mod ingest;
mod maintain;
mod read;

use std::sync::Arc;

pub use error::{ErrorCode, PipelineError, PipelineResult};
pub use ingest::{
    IndexReport, IndexedSegment, IngestOutcome, MAX_REASON_CHARS, QuarantineReport, SourceObject,
};
pub use maintain::{
    COMPACTION_SOURCE, CompactionPolicy, CompactionReport, CompactionRequest, GcReport,
    MergeOutcome, MergeRun, ORPHAN_MIN_AGE_MS, PartitionReport, RebuildOptions, RebuildReport,
    Retention, RetentionOutcome, RetentionOverride, RetentionOverridesError, RetentionPolicy,
    SkippedObject, describe_archive, plan_compaction,
};
pub use read::{
    CacheStats, Consumer, Encoding, FetchRequest, FetchResult, HeaderView, OffsetQuery,
    OffsetResult, ReadCache, RecordView, SearchCursor, SearchHit, SearchPage, SearchRequest,
    SegmentCacheConfig, SegmentCacheStats,
};

use crate::archive::ArchiveOptions;
use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::store::ObjectStore;

/// Tunables of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// How archives are written (chunk size, gzip level).
    pub archive: ArchiveOptions,
    /// Upper bound on a fetch's `max_bytes` (a larger request is clamped to it).
    pub max_fetch_bytes: usize,
    /// The most bytes one batch's records may decompress to when it is indexed
    /// ([`DEFAULT_MAX_BATCH_BYTES`]); a batch over it makes its source invalid (quarantined,
    /// nothing published) instead of growing memory.
    pub max_batch_bytes: usize,
    /// Upper bound on a search's `limit`.
    pub max_search_hits: usize,
    /// Bytes of decoded chunks and opened indexes kept in memory across requests (0: no cache).
    pub cache_bytes: usize,
    /// Segment entries kept in memory across fetches, so a warm process skips the catalog
    /// (disabled by default; its TTL must be shorter than the GC grace period). Answers are the
    /// same as without it, except that a segment retention dropped may still be read for up to
    /// the TTL.
    pub segment_cache: SegmentCacheConfig,
    /// How new archives (indexed or merged) index their records.
    pub index_layout: crate::index::IndexLayout,
    /// What their chunk filters key, per topic (layout 2).
    pub index_policies: crate::index::IndexPolicies,
    /// Where indexing keeps the downloaded source and the archives it builds.
    pub scratch: crate::scratch::ScratchConfig,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            archive: ArchiveOptions::default(),
            max_fetch_bytes: 64 << 20,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            max_search_hits: 10_000,
            cache_bytes: 0,
            segment_cache: SegmentCacheConfig::default(),
            index_layout: crate::index::IndexLayout::ChunkFilters,
            index_policies: crate::index::IndexPolicies::default(),
            scratch: crate::scratch::ScratchConfig::default(),
        }
    }
}

/// Default of [`PipelineConfig::max_batch_bytes`]: 128 MiB of records per batch (Kafka brokers
/// accept batches of 1 MiB by default, compressed; even a 50× ratio stays well inside).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 128 << 20;

/// The pipeline over one object store and one catalog. Cheap to clone; share it across tasks.
#[derive(Debug, Clone)]
pub struct Pipeline {
    store: Arc<dyn ObjectStore>,
    catalog: Arc<dyn Catalog>,
    clock: Arc<dyn Clock>,
    config: PipelineConfig,
    cache: Arc<ReadCache>,
    segments: Arc<read::SegmentCache>,
    txns: Arc<read::TxnCache>,
}

impl Pipeline {
    /// A pipeline over the given backends.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        catalog: Arc<dyn Catalog>,
        clock: Arc<dyn Clock>,
        config: PipelineConfig,
    ) -> Self {
        let cache = Arc::new(ReadCache::new(config.cache_bytes));
        let segments = Arc::new(read::SegmentCache::new(config.segment_cache));
        Pipeline {
            store,
            catalog,
            clock,
            config,
            cache,
            segments,
            txns: Arc::default(),
        }
    }

    /// A pipeline over the embedded backends in `dir` (created if missing): objects in
    /// `dir/objects/` ([`crate::store::LocalStore`]), the catalog in `dir/catalog.redb`
    /// ([`crate::catalog::EmbeddedCatalog`]).
    pub fn embedded(
        dir: &std::path::Path,
        clock: Arc<dyn Clock>,
        config: PipelineConfig,
    ) -> PipelineResult<Self> {
        let store = crate::store::LocalStore::open(dir.join("objects"))?;
        let catalog = crate::catalog::EmbeddedCatalog::open(dir.join("catalog.redb"))?;
        Ok(Pipeline::new(
            Arc::new(store),
            Arc::new(catalog),
            clock,
            config,
        ))
    }

    /// A pipeline over the same backends and clock with another configuration, and caches of
    /// its own (empty).
    pub fn with_config(&self, config: PipelineConfig) -> Pipeline {
        Pipeline::new(
            self.store.clone(),
            self.catalog.clone(),
            self.clock.clone(),
            config,
        )
    }

    /// Counters of the read cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Counters of the segment cache.
    pub fn segment_cache_stats(&self) -> SegmentCacheStats {
        self.segments.stats()
    }

    /// The object store.
    pub fn store(&self) -> &dyn ObjectStore {
        &*self.store
    }

    /// The catalog.
    pub fn catalog(&self) -> &dyn Catalog {
        &*self.catalog
    }

    /// The configuration.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Now, by the pipeline's clock (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
