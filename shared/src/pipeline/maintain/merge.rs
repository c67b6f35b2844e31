//! Executing compaction: merging a run of adjacent segments into one.
//!
//! The catalog changes with one conditional swap at the partition version read at the start, so a
//! concurrent change makes the merge fail cleanly (nothing applied) instead of half-applying. Superseded
//! archives are not deleted here: a reader that looked up the old catalog entry still finds its object.
//! Deleting them after a grace period is garbage collection's job.

use serde::Serialize;

use super::plan::MergeRun;
use super::rebuild::COMPACTION_SOURCE;
use crate::catalog::SegmentEntry;
use crate::index::IndexLayout;
use crate::pipeline::ingest::{BuildSpec, Indexing, build_segment};
use crate::pipeline::read::SegmentReader;
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::source::{PartitionBatches, SourceBatch};
use crate::summary::SegmentSummary;
use crate::types::{Offset, SegmentId, TopicPartition};

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeOutcome {
    /// The segments replaced.
    pub removed: Vec<SegmentId>,
    /// The merged segment.
    pub added: SegmentSummary,
    /// Archive bytes written.
    pub bytes_written: u64,
    /// The partition version after the swap.
    pub version: u64,
}

impl Pipeline {
    /// Merges the segments of `run` (adjacent, in offset order) into one segment whose archive holds
    /// the same original batches, byte for byte, and whose index is the merge of their indexes.
    ///
    /// Fails with a lost race ([`PipelineError::is_lost_race`]: nothing changed, the new archive
    /// removed) if the partition changed since it was read. After a backend failure of the swap the new archive
    /// is kept: the swap may have been applied.
    pub async fn merge_run(
        &self,
        tp: &TopicPartition,
        run: &MergeRun,
    ) -> PipelineResult<MergeOutcome> {
        let version = self.partition_info(tp).await?.version;
        let chosen = self.run_segments(tp, run).await?;
        let mut group = PartitionBatches {
            tp: tp.clone(),
            batches: Vec::new(),
        };
        let mut indexes = Vec::new();
        // Tantivy indexes of the inputs are merged without re-reading records when the output is
        // of their layout; otherwise (v1 inputs, a v2 output) the records are indexed again.
        let (layout, policies) = (self.config.index_layout, self.config.index_policies.clone());
        let mut merge_indexes = layout == IndexLayout::Tantivy;
        for seg in &chosen {
            let reader = SegmentReader::new(self.store(), &self.cache, seg)?;
            for chunk in reader.read_chunks(&reader.toc.chunks).await? {
                for batch in reader.batches(&chunk) {
                    let batch = batch?;
                    group.batches.push(SourceBatch {
                        header: *batch.header(),
                        bytes: batch.bytes().to_vec(),
                    });
                }
            }
            merge_indexes &= reader.index_layout() == IndexLayout::Tantivy;
            if merge_indexes {
                indexes.push(reader.index_files().await?);
            }
        }
        let (now, options) = (self.clock.now_ms(), self.config.archive.clone());
        let (entry, archive) = tokio::task::spawn_blocking(move || {
            let indexing = if merge_indexes {
                Indexing::Prebuilt(crate::index::merge(indexes)?)
            } else {
                Indexing::Build(layout, policies)
            };
            // Batches already archived passed the limit of their day; a lower one now must not
            // make them unmergeable.
            let spec = BuildSpec {
                source: COMPACTION_SOURCE,
                now,
                options: &options,
                indexing,
                max_batch_bytes: usize::MAX,
                scratch: None,
            };
            build_segment(&group, spec)
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("merge task failed: {e}")))??;
        let bytes_written = entry.archive_size;
        self.store.put(&entry.archive_key, archive).await?;
        match self
            .catalog
            .swap_segments(
                tp,
                version,
                &run.segments,
                std::slice::from_ref(&entry),
                now,
            )
            .await
        {
            Ok(version) => Ok(MergeOutcome {
                removed: run.segments.clone(),
                added: SegmentSummary::from(&entry),
                bytes_written,
                version,
            }),
            Err(e) => {
                // A rejected swap certainly left the output unused; after a lost response it may be
                // live (garbage collection removes it later if it is not).
                if e.certainly_unapplied()
                    && let Err(d) = self.store.delete(&entry.archive_key).await
                {
                    tracing::warn!(key = %entry.archive_key, error = %d, "could not delete unused merge output");
                }
                Err(e.into())
            }
        }
    }

    /// The entries of `run`'s segments, looked up one by one from its first offset: a catalog lookup
    /// per segment, not a listing of the whole partition (which would make compacting a partition of
    /// n segments cost O(n²) catalog reads). Fails with [`PipelineError::LostRace`] if one is gone.
    async fn run_segments(
        &self,
        tp: &TopicPartition,
        run: &MergeRun,
    ) -> PipelineResult<Vec<SegmentEntry>> {
        let mut next = Offset::try_from(run.base_offset)?;
        let mut entries = Vec::with_capacity(run.segments.len());
        for id in &run.segments {
            let seg = self
                .catalog
                .segment_covering(tp, next)
                .await?
                .filter(|s| &s.id == id)
                .ok_or_else(|| PipelineError::LostRace {
                    tp: tp.clone(),
                    what: format!("segment {id} of the run is gone"),
                })?;
            next = seg.last_offset.next();
            entries.push(seg);
        }
        Ok(entries)
    }
}
