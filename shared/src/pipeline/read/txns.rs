//! A partition's transactions as readers need them: the aborted transactions a fetched range
//! overlaps and the last stable offset, joined from the facts of every segment of the partition
//! ([`PartitionTxns::resolve`]) and kept per partition version, so a reader asks the catalog for
//! the partition's segments again only after they changed. With the segment cache on, a joined
//! partition is also used for up to its TTL without asking the catalog at all (the contract of
//! the segment cache, docs/ARCHITECTURE.md): new segments are seen that much later, and until
//! then the last stable offset is the earlier one.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::catalog::PartitionInfo;
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::txn::PartitionTxns;
use crate::types::TopicPartition;

/// Partitions whose joined transactions one process keeps.
const CACHED_PARTITIONS: usize = 1024;

/// One joined partition: the version it was joined at, when its catalog read began.
type Joined = (u64, i64, Arc<PartitionTxns>);

/// Joined transactions by partition.
#[derive(Debug)]
pub(crate) struct TxnCache {
    joined: Mutex<LruCache<TopicPartition, Joined>>,
}

impl Default for TxnCache {
    fn default() -> Self {
        let cap = NonZeroUsize::new(CACHED_PARTITIONS).unwrap_or(NonZeroUsize::MIN);
        TxnCache {
            joined: Mutex::new(LruCache::new(cap)),
        }
    }
}

impl TxnCache {
    /// The partition at `version`.
    fn at_version(&self, tp: &TopicPartition, version: u64) -> Option<Arc<PartitionTxns>> {
        let mut joined = self.joined.lock().ok()?;
        match joined.get(tp) {
            Some((v, _, txns)) if *v == version => Some(txns.clone()),
            _ => None,
        }
    }

    /// The partition as joined from a catalog read begun less than `ttl_ms` before `now`.
    fn fresh(&self, tp: &TopicPartition, now: i64, ttl_ms: i64) -> Option<Arc<PartitionTxns>> {
        let mut joined = self.joined.lock().ok()?;
        match joined.get(tp) {
            Some((_, read_at, txns)) if now.saturating_sub(*read_at) < ttl_ms => Some(txns.clone()),
            _ => None,
        }
    }

    fn put(&self, tp: &TopicPartition, version: u64, read_at: i64, txns: Arc<PartitionTxns>) {
        if let Ok(mut joined) = self.joined.lock() {
            joined.put(tp.clone(), (version, read_at, txns));
        }
    }
}

impl Pipeline {
    /// The transactions of `tp` as its registered segments tell them: every aborted transaction
    /// and the last stable offset (`docs/FORMATS.md`, "Transaction facts"). With the segment
    /// cache on, no catalog read within its TTL of the last one; else one read of the partition
    /// summary, and of its segments only when its version changed since the last call. Fails
    /// with [`PipelineError::UnknownPartition`] if nothing is tiered.
    pub async fn transactions(&self, tp: &TopicPartition) -> PipelineResult<Arc<PartitionTxns>> {
        let cache = self.config.segment_cache;
        if cache.ttl_ms > 0
            && cache.max_bytes > 0
            && let Some(txns) = self.txns.fresh(tp, self.clock.now_ms(), cache.ttl_ms)
        {
            return Ok(txns);
        }
        let info = self.partition_info(tp).await?;
        self.transactions_at(&info).await
    }

    /// [`Pipeline::transactions`] of the partition `info` summarises, as of its version (a
    /// caller that has just read the summary saves reading it again).
    pub async fn transactions_at(
        &self,
        info: &PartitionInfo,
    ) -> PipelineResult<Arc<PartitionTxns>> {
        let tp = &info.tp;
        if let Some(txns) = self.txns.at_version(tp, info.version) {
            return Ok(txns);
        }
        let read_at = self.clock.now_ms();
        let segments = self.catalog.segments(tp).await?;
        if segments.is_empty() {
            return Err(PipelineError::UnknownPartition(tp.clone()));
        }
        let txns = Arc::new(PartitionTxns::resolve(
            segments
                .iter()
                .map(|s| (s.base_offset.get(), s.last_offset.get(), &s.txns)),
        ));
        // Keyed by the version read before the segments: a change in between is seen next time.
        self.txns.put(tp, info.version, read_at, txns.clone());
        Ok(txns)
    }
}
