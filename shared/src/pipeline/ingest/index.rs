//! Index one source: scan → build each partition's archive in scratch space → put objects →
//! register.
//!
//! Objects are written before the catalog commit, so a crash never leaves a catalog entry without its
//! object; at worst it leaves an unreferenced object for garbage collection.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::build::{BuildSpec, Indexing, PlannedBatches, build_archive, scan_error};
use crate::archive::ArchiveError;
use crate::catalog::{CatalogError, IngestRecord, IngestStatus, SegmentEntry};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::scratch::Scratch;
use crate::source::{ReadAt, SourceFile, SourceFormat, scan_source};
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
    /// Indexes one source held in memory, identified by `source_id` (the ledger key); see
    /// [`Pipeline::index_file`].
    pub async fn index_source(
        &self,
        source_id: &str,
        bytes: &[u8],
        log_tp: Option<&TopicPartition>,
    ) -> PipelineResult<IndexReport> {
        let scratch = Arc::new(Scratch::new(&self.config.scratch)?);
        self.index_from(source_id, Arc::new(bytes.to_vec()), log_tp, scratch)
            .await
    }

    /// Indexes one local source file identified by `source_id` (the ledger key), in memory
    /// bounded by its largest batch rather than its size: the archives are built in scratch
    /// space ([`PipelineConfig::scratch`](crate::pipeline::PipelineConfig)) and uploaded from
    /// there.
    ///
    /// Re-indexing a source the ledger records as indexed does nothing. A segment whose offsets
    /// overlap a different registered segment fails with a `Conflict`, and nothing is registered.
    /// An invalid source fails with [`PipelineError::InvalidSource`], a full scratch space with
    /// [`PipelineError::Scratch`]; either way before any object is written.
    pub async fn index_file(
        &self,
        source_id: &str,
        file: SourceFile,
        log_tp: Option<&TopicPartition>,
    ) -> PipelineResult<IndexReport> {
        let scratch = Arc::new(Scratch::new(&self.config.scratch)?);
        self.index_from(source_id, Arc::new(file), log_tp, scratch)
            .await
    }

    /// Indexes the source `src`, building its archives in `scratch`.
    pub(super) async fn index_from(
        &self,
        source_id: &str,
        src: Arc<dyn ReadAt + Send + Sync>,
        log_tp: Option<&TopicPartition>,
        scratch: Arc<Scratch>,
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
        let now = self.clock.now_ms();
        let (format, archives) = self
            .build_archives(source_id, src, log_tp, scratch.clone(), now)
            .await?;
        // Every partition is checked against the catalog before any archive is put, and a
        // failure after some were put removes them again (nothing references an archive before
        // the registration below): a rejected source publishes nothing.
        let mut summaries = Vec::new();
        let mut fresh = Vec::new();
        for (entry, path) in archives {
            match self.committed_twin(&entry).await? {
                Some(existing) => summaries.push(IndexedSegment::new(&existing, false)),
                None => fresh.push((entry, path)),
            }
        }
        let mut built: Vec<SegmentEntry> = Vec::new();
        for (entry, path) in fresh {
            if let Err(e) = self.store.put_file(&entry.archive_key, &path).await {
                // The failed one too: a lost response may have left it stored.
                let keys = built.iter().chain(Some(&entry)).map(|s| &s.archive_key);
                self.delete_archives(keys).await;
                return Err(e.into());
            }
            built.push(entry);
        }
        // The archives are up: their files may go.
        drop(scratch);
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

    /// Scans `src` and builds the archive of each of its partitions into a file in `scratch`
    /// (CPU and disk work, on a blocking thread); returns each archive's catalog entry and file.
    async fn build_archives(
        &self,
        source_id: &str,
        src: Arc<dyn ReadAt + Send + Sync>,
        log_tp: Option<&TopicPartition>,
        scratch: Arc<Scratch>,
        now: i64,
    ) -> PipelineResult<(SourceFormat, Vec<(SegmentEntry, PathBuf)>)> {
        let (source, options) = (source_id.to_owned(), self.config.archive.clone());
        let (layout, policies) = (self.config.index_layout, self.config.index_policies.clone());
        let max_batch = self.config.max_batch_bytes;
        let log_tp = log_tp.cloned();
        tokio::task::spawn_blocking(move || {
            let in_scratch = |e: PipelineError| match e {
                PipelineError::Archive(ArchiveError::Io(e)) => scratch.error(e).into(),
                other => other,
            };
            let plan = scan_source(&*src, log_tp.as_ref(), max_batch).map_err(scan_error)?;
            let mut archives = Vec::with_capacity(plan.partitions.len());
            for (i, partition) in plan.partitions.iter().enumerate() {
                let file = scratch.create(&format!("archive-{i}.tar.gz"))?;
                let batches = PlannedBatches {
                    plan: partition,
                    src: &*src,
                };
                let spec = BuildSpec {
                    source: &source,
                    now,
                    options: &options,
                    indexing: Indexing::Build(layout, policies.clone()),
                    max_batch_bytes: max_batch,
                    scratch: Some(&scratch),
                };
                let (entry, file) = build_archive(&batches, spec, file).map_err(in_scratch)?;
                let path = file.finish().map_err(|e| scratch.error(e))?;
                archives.push((entry, path));
            }
            Ok((plan.format, archives))
        })
        .await
        .map_err(|e| PipelineError::Internal(format!("indexing task failed: {e}")))?
    }

    /// The committed segment identical to `entry`'s, if any; a different overlapping one is a
    /// conflict.
    async fn committed_twin(&self, entry: &SegmentEntry) -> PipelineResult<Option<SegmentEntry>> {
        match self
            .catalog
            .segment_covering(&entry.tp, entry.base_offset)
            .await?
        {
            Some(seg) if seg.id == entry.id => Ok(Some(seg)),
            Some(seg) if seg.base_offset <= entry.last_offset => {
                Err(PipelineError::Catalog(CatalogError::Conflict {
                    tp: entry.tp.clone(),
                    new: entry.id.clone(),
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
