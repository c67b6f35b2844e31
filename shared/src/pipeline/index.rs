//! Index one source: read → group by partition → build archives → put objects → register.
//!
//! Objects are written before the catalog commit, so a crash never leaves a catalog entry without its
//! object; at worst it leaves an unreferenced object for garbage collection.

use serde::Serialize;

use super::{Pipeline, PipelineError, PipelineResult};
use crate::archive::{ArchiveBuilder, ArchiveOptions, BatchSpan};
use crate::catalog::{IngestRecord, IngestStatus, SegmentEntry};
use crate::index::{IndexBuilder, IndexDoc, IndexFiles};
use crate::source::{PartitionBatches, SourceFormat, read_source};
use crate::types::{ObjectKey, Offset, SegmentId, TopicPartition};

/// Version of `manifest.json` inside archives (`docs/FORMATS.md`, "Archive manifest").
pub const MANIFEST_VERSION: u32 = 1;

/// A segment produced (or found already present) by an indexing run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentSummary {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Segment id.
    pub segment_id: String,
    /// First offset.
    pub base_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// Records.
    pub records: u64,
    /// Batches.
    pub batches: u64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// Bytes of the archive.
    pub archive_bytes: u64,
    /// The archive's key.
    pub archive_key: String,
    /// Whether this run committed it (false: an identical segment was already registered).
    pub added: bool,
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
    pub segments: Vec<SegmentSummary>,
}

/// The manifest written into every archive as `manifest.json`.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    format_version: u32,
    index_schema_version: u32,
    topic: &'a str,
    partition: u32,
    segment_id: &'a str,
    base_offset: i64,
    last_offset: i64,
    record_count: u64,
    batch_count: u64,
    min_timestamp: i64,
    max_timestamp: i64,
    data_bytes: u64,
    data_crc32c: u32,
    source: &'a str,
    created_at_ms: i64,
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
        let mut built = Vec::new();
        let mut summaries = Vec::new();
        for group in groups {
            let id = segment_id(&group);
            if let Some(existing) = self.committed_twin(&group, &id).await? {
                summaries.push(summary(&existing, false));
                continue;
            }
            let (source, options) = (source_id.to_owned(), self.config.archive.clone());
            let (entry, archive) = tokio::task::spawn_blocking(move || {
                build_segment(&group, id, &source, now, &options, None)
            })
            .await
            .map_err(|e| PipelineError::Internal(format!("indexing task failed: {e}")))??;
            self.store.put(&entry.archive_key, archive).await?;
            built.push(entry);
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
                        .filter_map(|s| SegmentId::try_from(s.segment_id.clone()).ok()),
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
                .map(|s| summary(s, !outcome.already_present.contains(&s.id))),
        );
        summaries.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        Ok(IndexReport {
            source: source_id.to_owned(),
            format: Some(format),
            already_indexed: false,
            segments: summaries,
        })
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
            Some(seg) if seg.base_offset <= last => Err(PipelineError::Catalog(
                crate::catalog::CatalogError::Conflict {
                    tp: group.tp.clone(),
                    new: id.clone(),
                    existing: seg.id,
                },
            )),
            _ => Ok(None),
        }
    }

    /// Best-effort removal of archives no catalog entry references; garbage collection catches any
    /// that fail here.
    async fn delete_archives(&self, keys: impl Iterator<Item = &ObjectKey>) {
        for key in keys {
            if let Err(e) = self.store.delete(key).await {
                tracing::warn!(key = %key, error = %e, "could not delete unreferenced archive");
            }
        }
    }
}

pub(super) fn offsets(group: &PartitionBatches) -> (Offset, Offset) {
    let first = group.batches.first().map_or(0, |b| b.header.base_offset);
    let last = group.batches.last().map_or(0, |b| b.header.last_offset());
    // read_source guarantees non-negative, increasing offsets.
    (
        Offset::try_from(first).unwrap_or_default(),
        Offset::try_from(last).unwrap_or_default(),
    )
}

pub(super) fn segment_id(group: &PartitionBatches) -> SegmentId {
    let crc = group
        .batches
        .iter()
        .fold(0, |crc, b| crc32c::crc32c_append(crc, &b.bytes));
    let (base, last) = offsets(group);
    SegmentId::new(base, last, crc)
}

pub(super) fn summary(s: &SegmentEntry, added: bool) -> SegmentSummary {
    SegmentSummary {
        topic: s.tp.topic.to_string(),
        partition: s.tp.partition.get(),
        segment_id: s.id.to_string(),
        base_offset: s.base_offset.get(),
        last_offset: s.last_offset.get(),
        records: s.record_count,
        batches: s.batch_count,
        data_bytes: s.data_bytes,
        archive_bytes: s.archive_size,
        archive_key: s.archive_key.to_string(),
        added,
    }
}

/// Builds the archive of one partition's batches: decode records into the index, copy the original
/// batches into record chunks unchanged, add the index files and the manifest.
///
/// `prebuilt_index` (e.g. indexes merged by compaction) is used as the archive's index as is; without
/// it the records are indexed. Records are decoded either way, for exact timestamps.
pub(super) fn build_segment(
    group: &PartitionBatches,
    id: SegmentId,
    source: &str,
    now: i64,
    options: &ArchiveOptions,
    prebuilt_index: Option<IndexFiles>,
) -> PipelineResult<(SegmentEntry, Vec<u8>)> {
    let (base, last) = offsets(group);
    let key = ObjectKey::archive(&group.tp, &id, rand::random());
    let mut builder = match prebuilt_index {
        Some(_) => None,
        None => Some(IndexBuilder::new()?),
    };
    let mut archive = ArchiveBuilder::new(options.clone());
    let (mut records, mut data_bytes, mut data_crc) = (0u64, 0u64, 0u32);
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    for (batch_index, batch) in group.batches.iter().enumerate() {
        let raw = crate::kafka::RawBatch::parse(&batch.bytes)
            .map_err(|e| PipelineError::corrupt_batch(&key, e))?;
        let decoded = raw.records().map_err(|source| {
            PipelineError::InvalidSource(crate::source::SourceError::Batch {
                index: batch_index,
                position: 0,
                source,
            })
        })?;
        let h = &batch.header;
        let (mut b_min, mut b_max) = (h.base_timestamp, h.max_timestamp);
        if !decoded.is_empty() {
            (b_min, b_max) = (i64::MAX, i64::MIN);
        }
        for r in &decoded {
            let ts = super::view::effective_timestamp(h, r);
            b_min = b_min.min(ts);
            b_max = b_max.max(ts);
            let Some(index) = builder.as_mut().filter(|_| !h.is_control()) else {
                continue;
            };
            let headers = r
                .headers
                .iter()
                .map(|x| (x.key.as_str(), x.value.as_deref()))
                .collect();
            index.add(&IndexDoc {
                offset: r.offset,
                timestamp: ts,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers,
            })?;
        }
        archive.push_batch(BatchSpan {
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            min_timestamp: b_min,
            max_timestamp: b_max,
            bytes: &batch.bytes,
            precompressed: h
                .compression()
                .is_ok_and(|c| c != crate::kafka::Compression::None),
        })?;
        records += decoded.len() as u64;
        data_bytes += batch.bytes.len() as u64;
        data_crc = crc32c::crc32c_append(data_crc, &batch.bytes);
        min_ts = min_ts.min(b_min);
        max_ts = max_ts.max(b_max);
    }
    let index_files = match (prebuilt_index, builder) {
        (Some(files), _) => files,
        (None, Some(builder)) => builder.finish()?,
        (None, None) => IndexFiles::default(),
    };
    for (name, data) in &index_files.files {
        archive.add_index_file(name, data)?;
    }
    let manifest = Manifest {
        format_version: MANIFEST_VERSION,
        index_schema_version: crate::index::SCHEMA_VERSION,
        topic: group.tp.topic.as_str(),
        partition: group.tp.partition.get(),
        segment_id: id.as_str(),
        base_offset: base.get(),
        last_offset: last.get(),
        record_count: records,
        batch_count: group.batches.len() as u64,
        min_timestamp: min_ts,
        max_timestamp: max_ts,
        data_bytes,
        data_crc32c: data_crc,
        source,
        created_at_ms: now,
    };
    let manifest = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| PipelineError::Internal(format!("manifest: {e}")))?;
    let (bytes, toc) = archive.finish(&manifest)?;
    let entry = SegmentEntry {
        id,
        tp: group.tp.clone(),
        base_offset: base,
        last_offset: last,
        record_count: records,
        batch_count: group.batches.len() as u64,
        min_timestamp: min_ts,
        max_timestamp: max_ts,
        data_bytes,
        archive_key: key,
        archive_size: bytes.len() as u64,
        toc: toc.encode(),
        source: source.to_owned(),
        created_at_ms: now,
    };
    Ok((entry, bytes))
}
