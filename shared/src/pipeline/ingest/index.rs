//! Index one source: read → group by partition → build archives → put objects → register.
//!
//! Objects are written before the catalog commit, so a crash never leaves a catalog entry without its
//! object; at worst it leaves an unreferenced object for garbage collection.

use serde::Serialize;

use super::build::{Indexing, build_segment, offsets, segment_id};
use crate::catalog::{CatalogError, IngestRecord, IngestStatus, SegmentEntry};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::source::{PartitionBatches, SourceFormat, read_source};
use crate::summary::SegmentSummary;
use crate::types::{ObjectKey, SegmentId, TopicPartition};

/// A segment an indexing run produced, or found already registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexedSegment {
    /// The segment.
    #[serde(flatten)]
    pub segment: SegmentSummary,
    /// Whether this run committed it (false: an identical segment was already registered).
    pub added: bool,
}

impl IndexedSegment {
    fn new(entry: &SegmentEntry, added: bool) -> Self {
        IndexedSegment {
            segment: SegmentSummary::from(entry),
            added,
        }
    }
}

/// What an indexing run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexReport {
    /// The source id.
    pub source: String,
    /// The source's format, `None` when the ledger showed it was indexed before.
    pub format: Option<SourceFormat>,
    /// True when the ledger already recorded this source as indexed: nothing was done.
    pub already_indexed: bool,
    /// Segments, one per partition in the source.
    pub segments: Vec<IndexedSegment>,
}

impl Pipeline {
    /// Indexes one source object identified by `source_id` (the ledger key).
    ///
    /// Re-indexing a source the ledger records as indexed does nothing. A segment whose offsets
    /// overlap a different registered segment fails with a `Conflict`, and nothing is registered.
    /// An invalid source fails with [`PipelineError::InvalidSource`] before anything is written.
    pub async fn index_source(
        &self,
        source_id: &str,
        bytes: &[u8],
        log_tp: Option<&TopicPartition>,
    ) -> PipelineResult<IndexReport> {
        let ledger = self.catalog.ingest_record(source_id).await?;
        if ledger.is_some_and(|rec| rec.status == IngestStatus::Indexed) {
            return Ok(IndexReport {
                source: source_id.to_owned(),
                format: None,
                already_indexed: true,
                segments: Vec::new(),
            });
        }
        let (format, groups) = read_source(bytes, log_tp)?;
        let now = self.clock.now_ms();
        // Every partition is checked against the catalog before any archive is written, and a
        // failure after some were written removes them again (nothing references an archive
        // before the registration below): a rejected source publishes nothing.
        let mut summaries = Vec::new();
        let mut fresh = Vec::new();
        for group in groups {
            let id = segment_id(&group);
            match self.committed_twin(&group, &id).await? {
                Some(existing) => summaries.push(IndexedSegment::new(&existing, false)),
                None => fresh.push((group, id)),
            }
        }
        let mut built = Vec::new();
        for (group, id) in fresh {
            match self.build_and_put(group, id, source_id, now).await {
                Ok(entry) => built.push(entry),
                Err(e) => {
                    self.delete_archives(built.iter().map(|s| &s.archive_key))
                        .await;
                    return Err(e);
                }
            }
        }
        let ingest = IngestRecord {
            source: source_id.to_owned(),
            status: IngestStatus::Indexed,
            segments: built
                .iter()
                .map(|s| s.id.clone())
                .chain(
                    summaries
                        .iter()
                        .filter_map(|s| SegmentId::try_from(s.segment.segment_id.clone()).ok()),
                )
                .collect(),
            at_ms: now,
        };
        let outcome = match self.catalog.register(&ingest, &built).await {
            Ok(outcome) => outcome,
            Err(e) => {
                // Only a rejected registration certainly left the new archives unreferenced; after
                // a lost response they may be live, and garbage collection removes them if not.
                if e.certainly_unapplied() {
                    self.delete_archives(built.iter().map(|s| &s.archive_key))
                        .await;
                }
                return Err(e.into());
            }
        };
        let skipped = built
            .iter()
            .filter(|s| outcome.already_present.contains(&s.id));
        self.delete_archives(skipped.map(|s| &s.archive_key)).await;
        summaries.extend(
            built
                .iter()
                .map(|s| IndexedSegment::new(s, !outcome.already_present.contains(&s.id))),
        );
        summaries.sort_by(|a, b| {
            let (a, b) = (&a.segment, &b.segment);
            (&a.topic, a.partition).cmp(&(&b.topic, b.partition))
        });
        Ok(IndexReport {
            source: source_id.to_owned(),
            format: Some(format),
            already_indexed: false,
            segments: summaries,
        })
    }

    /// Builds the archive of `group` (CPU work, on a blocking thread) and puts it; returns its
    /// catalog entry.
    async fn build_and_put(
        &self,
        group: PartitionBatches,
        id: SegmentId,
        source_id: &str,
        now: i64,
    ) -> PipelineResult<SegmentEntry> {
        let (source, options) = (source_id.to_owned(), self.config.archive.clone());
        let indexing =
            Indexing::Build(self.config.index_layout, self.config.index_policies.clone());
        let max_batch = self.config.max_batch_bytes;
        let (entry, archive) = tokio::task::spawn_blocking(move || {
            build_segment(&group, id, &source, now, &options, indexing, max_batch)
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("indexing task failed: {e}")))??;
        self.store.put(&entry.archive_key, archive).await?;
        Ok(entry)
    }

    /// The committed segment identical to `group`, if any; a different overlapping one is a conflict.
    async fn committed_twin(
        &self,
        group: &PartitionBatches,
        id: &SegmentId,
    ) -> PipelineResult<Option<SegmentEntry>> {
        let (base, last) = offsets(group);
        match self.catalog.segment_covering(&group.tp, base).await? {
            Some(seg) if &seg.id == id => Ok(Some(seg)),
            Some(seg) if seg.base_offset <= last => {
                Err(PipelineError::Catalog(CatalogError::Conflict {
                    tp: group.tp.clone(),
                    new: id.clone(),
                    existing: seg.id,
                }))
            }
            _ => Ok(None),
        }
    }

    /// Best-effort removal of archives no catalog entry references; garbage collection catches any
    /// that fail here.
    pub(crate) async fn delete_archives(&self, keys: impl Iterator<Item = &ObjectKey>) {
        for key in keys {
            if let Err(e) = self.store.delete(key).await {
                tracing::warn!(key = %key, error = %e, "could not delete unreferenced archive");
            }
        }
    }
}
