//! Building the archive of one partition's batches: records decoded into the index (and for exact
//! timestamps), the original batches copied into record chunks unchanged.

use crate::archive::{ArchiveIdentity, ArchiveOptions, ArchiveWriter, BatchSpan};
use crate::catalog::SegmentEntry;
use crate::index::{IndexBuilder, IndexDoc, IndexFiles};
use crate::kafka::{Compression, RawBatch};
use crate::pipeline::{PipelineError, PipelineResult};
use crate::source::{PartitionBatches, SourceError};
use crate::types::{ObjectKey, Offset, SegmentId};

/// The first and last offsets of `group` (0 for an empty one).
pub(crate) fn offsets(group: &PartitionBatches) -> (Offset, Offset) {
    let first = group.batches.first().map_or(0, |b| b.header.base_offset);
    let last = group.batches.last().map_or(0, |b| b.header.last_offset());
    // read_source guarantees non-negative, increasing offsets.
    (
        Offset::try_from(first).unwrap_or_default(),
        Offset::try_from(last).unwrap_or_default(),
    )
}

/// The content-derived id of `group`: its offsets and the CRC-32C of its batches.
pub(crate) fn segment_id(group: &PartitionBatches) -> SegmentId {
    let crc = group
        .batches
        .iter()
        .fold(0, |crc, b| crc32c::crc32c_append(crc, &b.bytes));
    let (base, last) = offsets(group);
    SegmentId::new(base, last, crc)
}

/// Builds the archive of `group` and the catalog entry describing it.
///
/// `prebuilt_index` (e.g. indexes merged by compaction) is used as the archive's index as is; without
/// it the records are indexed. Records are decoded either way, for exact timestamps. A batch whose
/// records do not decode is an invalid source.
pub(crate) fn build_segment(
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
    let mut archive = ArchiveWriter::new(options.clone());
    for (batch_index, batch) in group.batches.iter().enumerate() {
        let raw =
            RawBatch::parse(&batch.bytes).map_err(|e| PipelineError::corrupt_batch(&key, e))?;
        let decoded = raw.records().map_err(|source| {
            PipelineError::InvalidSource(SourceError::Batch {
                index: batch_index,
                position: 0,
                source,
            })
        })?;
        let h = &batch.header;
        let (b_min, b_max) = h.timestamp_range(&decoded);
        for r in &decoded {
            let ts = h.effective_timestamp(r);
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
        let span = BatchSpan {
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            min_timestamp: b_min,
            max_timestamp: b_max,
            bytes: &batch.bytes,
            precompressed: h.compression().is_ok_and(|c| c != Compression::None),
        };
        archive.push_batch(span, decoded.len() as u64)?;
    }
    let index_files = match (prebuilt_index, builder) {
        (Some(files), _) => files,
        (None, Some(builder)) => builder.finish()?,
        (None, None) => IndexFiles::default(),
    };
    let identity = ArchiveIdentity {
        topic: group.tp.topic.to_string(),
        partition: group.tp.partition.get(),
        segment_id: id.to_string(),
        source: source.to_owned(),
        created_at_ms: now,
        index_schema_version: crate::index::SCHEMA_VERSION,
    };
    let files = index_files
        .files
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()));
    let written = archive.finish(identity, files)?;
    let m = &written.manifest;
    let entry = SegmentEntry {
        id,
        tp: group.tp.clone(),
        base_offset: base,
        last_offset: last,
        record_count: m.record_count,
        batch_count: m.batch_count,
        min_timestamp: m.min_timestamp,
        max_timestamp: m.max_timestamp,
        data_bytes: m.data_bytes,
        archive_key: key,
        archive_size: written.bytes.len() as u64,
        toc: written.toc.encode(),
        source: source.to_owned(),
        created_at_ms: now,
    };
    Ok((entry, written.bytes))
}
