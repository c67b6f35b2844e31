//! Building the archive of one partition's batches: records decoded into the index (and for exact
//! timestamps), the original batches copied into record chunks unchanged.

use crate::archive::{ArchiveIdentity, ArchiveOptions, ArchiveWriter, BatchSpan};
use crate::catalog::SegmentEntry;
use crate::index::{
    ChunkFilter, ChunkFilters, FILTERS_FILE, IndexBuilder, IndexDoc, IndexFiles, IndexLayout,
    IndexPolicies, IndexPolicy, KeyWriter,
};
use crate::kafka::{Compression, RawBatch, Record};
use crate::pipeline::{PipelineError, PipelineResult};
use crate::source::{PartitionBatches, SourceBatch, SourceError};
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

/// Batches decoded (on all cores) before the archive is written on: bounds what is held at once.
const WINDOW_BATCHES: usize = 256;

/// What building an archive needs of one batch.
struct BatchFacts {
    records: u64,
    min_timestamp: i64,
    max_timestamp: i64,
    /// The keys of its records (none for a control batch), as the policy keeps them.
    keys: Vec<u64>,
}

/// The records of `batch` (number `index` of its source), decompressed to at most `max_bytes`.
fn decode(
    batch: &SourceBatch,
    index: usize,
    max_bytes: usize,
    archive: &ObjectKey,
) -> PipelineResult<Vec<Record>> {
    let raw =
        RawBatch::parse(&batch.bytes).map_err(|e| PipelineError::corrupt_batch(archive, e))?;
    raw.records_with_limit(max_bytes).map_err(|source| {
        PipelineError::InvalidSource(SourceError::Batch {
            index,
            position: 0,
            source,
        })
    })
}

/// The facts of `batches` (numbered from `first` in their source), in order, decoded and keyed on
/// up to `workers` threads; the first failing batch's error if any fails.
fn facts_in_parallel(
    batches: &[SourceBatch],
    first: usize,
    max_bytes: usize,
    policy: IndexPolicy,
    workers: usize,
    archive: &ObjectKey,
) -> PipelineResult<Vec<BatchFacts>> {
    let per_worker = batches.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = batches
            .chunks(per_worker)
            .enumerate()
            .map(|(w, part)| {
                scope.spawn(move || {
                    let mut keys = KeyWriter::with_policy(policy);
                    part.iter()
                        .enumerate()
                        .map(|(i, batch)| {
                            let index = first + w * per_worker + i;
                            let decoded = decode(batch, index, max_bytes, archive)?;
                            let h = &batch.header;
                            if !h.is_control() {
                                for r in &decoded {
                                    keys.record(&IndexDoc::of_record(r, h.effective_timestamp(r)));
                                }
                            }
                            let (min_timestamp, max_timestamp) = h.timestamp_range(&decoded);
                            Ok(BatchFacts {
                                records: decoded.len() as u64,
                                min_timestamp,
                                max_timestamp,
                                keys: std::mem::take(&mut keys.out),
                            })
                        })
                        .collect::<PipelineResult<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(batches.len());
        for part in parts {
            let part = part
                .join()
                .map_err(|_| PipelineError::Internal("a decoding thread panicked".into()))?;
            out.extend(part?);
        }
        Ok(out)
    })
}

/// How a segment's records are indexed.
pub(crate) enum Indexing {
    /// A v1 index built elsewhere (merged by compaction), used as is.
    Prebuilt(IndexFiles),
    /// Indexed here, in this layout (chunk filters keyed as the topic's policy says).
    Build(IndexLayout, IndexPolicies),
}

/// The index being built while batches are added.
enum Building {
    Tantivy(Box<IndexBuilder>),
    /// Keys of the batches not yet in a closed chunk (batch last offset, keys), and the filters
    /// of the closed chunks.
    Filters {
        pending: Vec<(i64, Vec<u64>)>,
        done: Vec<ChunkFilter>,
    },
    Prebuilt(IndexFiles),
}

impl Building {
    /// Filters for the chunks `archive` closed since the last call.
    fn chunks_closed(
        &mut self,
        archive: &ArchiveWriter,
        policy: &IndexPolicy,
    ) -> PipelineResult<()> {
        let Building::Filters { pending, done } = self else {
            return Ok(());
        };
        while let Some(chunk) = archive.closed_chunks().get(done.len()) {
            let held = pending
                .iter()
                .take_while(|(last, _)| *last <= chunk.last_offset)
                .count();
            let keys: Vec<u64> = pending.drain(..held).flat_map(|(_, k)| k).collect();
            done.push(match *policy {
                IndexPolicy::None => ChunkFilter::Unfiltered,
                _ => ChunkFilter::build(keys)?,
            });
        }
        Ok(())
    }
}

/// Builds the archive of `group` and the catalog entry describing it.
///
/// Records are decoded either way (for exact timestamps, and to index them unless `indexing` is
/// a prebuilt index). A batch whose records do not decode, or decompress to more than
/// `max_batch_bytes`, is an invalid source.
pub(crate) fn build_segment(
    group: &PartitionBatches,
    id: SegmentId,
    source: &str,
    now: i64,
    options: &ArchiveOptions,
    indexing: Indexing,
    max_batch_bytes: usize,
) -> PipelineResult<(SegmentEntry, Vec<u8>)> {
    let (base, last) = offsets(group);
    let key = ObjectKey::archive(&group.tp, &id, rand::random());
    let layout = match &indexing {
        Indexing::Prebuilt(_) => IndexLayout::Tantivy,
        Indexing::Build(layout, _) => *layout,
    };
    let policy = match &indexing {
        Indexing::Build(_, policies) => policies.for_topic(&group.tp.topic),
        Indexing::Prebuilt(_) => IndexPolicy::Full,
    };
    let mut building = match indexing {
        Indexing::Prebuilt(files) => Building::Prebuilt(files),
        Indexing::Build(IndexLayout::Tantivy, _) => {
            Building::Tantivy(Box::new(IndexBuilder::new()?))
        }
        Indexing::Build(IndexLayout::ChunkFilters, _) => Building::Filters {
            pending: Vec::new(),
            done: Vec::new(),
        },
    };
    let mut archive = ArchiveWriter::new(options.clone());
    let push = |archive: &mut ArchiveWriter, batch: &SourceBatch, facts: &BatchFacts| {
        let h = &batch.header;
        let span = BatchSpan {
            first_offset: h.base_offset,
            last_offset: h.last_offset(),
            min_timestamp: facts.min_timestamp,
            max_timestamp: facts.max_timestamp,
            bytes: &batch.bytes,
            precompressed: h.compression().is_ok_and(|c| c != Compression::None),
        };
        archive.push_batch(span, facts.records)
    };
    if let Building::Filters { .. } = building {
        // Decoding and keying are the work; they run on every core, a window of batches at a
        // time, while the archive is written in order.
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        for (w, window) in group.batches.chunks(WINDOW_BATCHES).enumerate() {
            let first = w * WINDOW_BATCHES;
            let facts = facts_in_parallel(window, first, max_batch_bytes, policy, workers, &key)?;
            for (batch, facts) in window.iter().zip(facts) {
                push(&mut archive, batch, &facts)?;
                if let Building::Filters { pending, .. } = &mut building {
                    pending.push((batch.header.last_offset(), facts.keys));
                }
                building.chunks_closed(&archive, &policy)?;
            }
        }
    } else {
        for (batch_index, batch) in group.batches.iter().enumerate() {
            let decoded = decode(batch, batch_index, max_batch_bytes, &key)?;
            let h = &batch.header;
            if let Building::Tantivy(index) = &mut building
                && !h.is_control()
            {
                for r in &decoded {
                    index.add(&IndexDoc::of_record(r, h.effective_timestamp(r)))?;
                }
            }
            let (min_timestamp, max_timestamp) = h.timestamp_range(&decoded);
            let facts = BatchFacts {
                records: decoded.len() as u64,
                min_timestamp,
                max_timestamp,
                keys: Vec::new(),
            };
            push(&mut archive, batch, &facts)?;
        }
    }
    archive.close_chunk()?;
    building.chunks_closed(&archive, &policy)?;
    let index_files = match building {
        Building::Prebuilt(files) => files,
        Building::Tantivy(builder) => (*builder).finish()?,
        Building::Filters { done, .. } => IndexFiles {
            files: vec![(
                FILTERS_FILE.to_owned(),
                ChunkFilters {
                    chunks: done,
                    unkeyed: policy.unkeyed_mask(),
                }
                .encode(),
            )],
        },
    };
    let identity = ArchiveIdentity {
        topic: group.tp.topic.to_string(),
        partition: group.tp.partition.get(),
        segment_id: id.to_string(),
        source: source.to_owned(),
        created_at_ms: now,
        index_schema_version: layout.schema_version(),
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
