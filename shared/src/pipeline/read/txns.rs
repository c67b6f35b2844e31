//! A partition's transactions as readers need them: the aborted transactions a fetched range
//! overlaps and the last stable offset, joined from the facts of every segment of the partition
//! ([`PartitionTxns::resolve`]) and kept per partition version, so a reader asks the catalog for
//! the partition's segments again only after they changed.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::txn::PartitionTxns;
use crate::types::TopicPartition;

/// Partitions whose joined transactions one process keeps.
const CACHED_PARTITIONS: usize = 1024;

/// Joined transactions by partition, each with the partition version it was joined at.
#[derive(Debug)]
pub(crate) struct TxnCache {
    joined: Mutex<LruCache<TopicPartition, (u64, Arc<PartitionTxns>)>>,
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
    fn get(&self, tp: &TopicPartition, version: u64) -> Option<Arc<PartitionTxns>> {
        let mut joined = self.joined.lock().ok()?;
        match joined.get(tp) {
            Some((v, txns)) if *v == version => Some(txns.clone()),
            _ => None,
        }
    }

    fn put(&self, tp: &TopicPartition, version: u64, txns: Arc<PartitionTxns>) {
        if let Ok(mut joined) = self.joined.lock() {
            joined.put(tp.clone(), (version, txns));
        }
    }
}

impl Pipeline {
    /// The transactions of `tp` as its registered segments tell them: every aborted transaction
    /// and the last stable offset (`docs/FORMATS.md`, "Transaction facts"). One catalog read of
    /// the partition summary; the partition's segments are read again only when its version has
    /// changed since the last call. Fails with [`PipelineError::UnknownPartition`] if nothing is
    /// tiered.
    pub async fn transactions(&self, tp: &TopicPartition) -> PipelineResult<Arc<PartitionTxns>> {
        let info = self.partition_info(tp).await?;
        if let Some(txns) = self.txns.get(tp, info.version) {
            return Ok(txns);
        }
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
        self.txns.put(tp, info.version, txns.clone());
        Ok(txns)
    }
}
