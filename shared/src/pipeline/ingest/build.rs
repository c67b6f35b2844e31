//! Building the archive of one partition's batches: records decoded into the index (and for exact
//! timestamps), the original batches copied into record chunks unchanged. Batches come a window at
//! a time ([`BatchWindows`]) and the archive goes into any writer, so a segment read from a local
//! file and archived into one is built in memory bounded by the window, not the segment.

use std::borrow::Cow;
use std::io::{Read, Write};

use crate::archive::{
    ArchiveError, ArchiveIdentity, ArchiveOptions, ArchiveWriter, BatchSpan, IndexData,
};
use crate::catalog::SegmentEntry;
use crate::index::{
    ChunkFilter, ChunkFiltersWriter, FILTERS_FILE, IndexBuilder, IndexDoc, IndexFiles, IndexLayout,
    IndexPolicies, IndexPolicy, KeyWriter,
};
use crate::kafka::{Compression, RawBatch, Record};
use crate::pipeline::{PipelineError, PipelineResult};
use crate::scratch::{Scratch, ScratchFile};
use crate::source::{PartitionBatches, PartitionPlan, ReadAt, ScanError, SourceBatch, SourceError};
use crate::txn::{MAX_TXN_FACTS, TxnTracker};
use crate::types::{ObjectKey, Offset, SegmentId, TopicPartition};

/// Batches decoded (on all cores) before the archive is written on: bounds what is held at once,
/// with [`WINDOW_BYTES`].
const WINDOW_BATCHES: usize = 256;

/// The most batch bytes a window read from a source holds (a longer batch is a window alone).
const WINDOW_BYTES: u64 = 32 << 20;

/// One partition's batches, in offset order, handed to the builder a window at a time.
pub(crate) trait BatchWindows {
    /// The partition.
    fn tp(&self) -> &TopicPartition;
    /// How many batches there are.
    fn batch_count(&self) -> usize;
    /// The window of batches starting with batch `first` (< `batch_count`): at least one.
    fn window(&self, first: usize) -> PipelineResult<Cow<'_, [SourceBatch]>>;
}

impl BatchWindows for PartitionBatches {
    fn tp(&self) -> &TopicPartition {
        &self.tp
    }

    fn batch_count(&self) -> usize {
        self.batches.len()
    }

    fn window(&self, first: usize) -> PipelineResult<Cow<'_, [SourceBatch]>> {
        let end = first.saturating_add(WINDOW_BATCHES).min(self.batches.len());
        Ok(Cow::Borrowed(
            self.batches.get(first..end).unwrap_or_default(),
        ))
    }
}

/// A partition's batches as planned in a source, read from it a window at a time.
pub(crate) struct PlannedBatches<'a, R: ?Sized> {
    pub plan: &'a PartitionPlan,
    pub src: &'a R,
}

impl<R: ReadAt + ?Sized> BatchWindows for PlannedBatches<'_, R> {
    fn tp(&self) -> &TopicPartition {
        &self.plan.tp
    }

    fn batch_count(&self) -> usize {
        self.plan.batches.len()
    }

    fn window(&self, first: usize) -> PipelineResult<Cow<'_, [SourceBatch]>> {
        let mut bytes = 0;
        let n = self
            .plan
            .batches
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take(WINDOW_BATCHES)
            .take_while(|b| {
                let take = bytes == 0 || bytes + u64::from(b.len) <= WINDOW_BYTES;
                bytes += u64::from(b.len);
                take
            })
            .count();
        let batches = self.plan.read(self.src, first, n).map_err(scan_error)?;
        Ok(Cow::Owned(batches))
    }
}

/// A source that failed to scan or read, as the pipeline reports it.
pub(crate) fn scan_error(e: ScanError) -> PipelineError {
    match e {
        ScanError::Invalid(e) => PipelineError::InvalidSource(e),
        ScanError::Io(e) => PipelineError::SourceIo(e.to_string()),
    }
}

/// What building an archive needs of one batch.
struct BatchFacts {
    records: u64,
    min_timestamp: i64,
    max_timestamp: i64,
    /// The keys of its records (none for a control batch), as the policy keeps them.
    keys: Vec<u64>,
    /// Its records if it is a control batch (transaction markers), else none.
    control: Vec<Record>,
}

/// The records of `batch` (number `index` of its partition), decompressed to at most `max_bytes`.
fn decode(batch: &SourceBatch, index: usize, max_bytes: usize) -> PipelineResult<Vec<Record>> {
    let invalid = |source| {
        PipelineError::InvalidSource(SourceError::Batch {
            index,
            position: 0,
            source,
        })
    };
    let raw = RawBatch::parse(&batch.bytes).map_err(invalid)?;
    raw.records_with_limit(max_bytes).map_err(invalid)
}

/// The facts of `batches` (numbered from `first` in their source), in order, decoded and keyed on
/// up to `workers` threads; the first failing batch's error if any fails.
fn facts_in_parallel(
    batches: &[SourceBatch],
    first: usize,
    max_bytes: usize,
    policy: &IndexPolicy,
    workers: usize,
) -> PipelineResult<Vec<BatchFacts>> {
    let per_worker = batches.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = batches
            .chunks(per_worker)
            .enumerate()
            .map(|(w, part)| {
                scope.spawn(move || {
                    let mut keys = KeyWriter::with_policy(policy.clone());
                    part.iter()
                        .enumerate()
                        .map(|(i, batch)| {
                            let index = first + w * per_worker + i;
                            let decoded = decode(batch, index, max_bytes)?;
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
                                control: if h.is_control() { decoded } else { Vec::new() },
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

/// Where chunk filters' fingerprints wait until the index member is written.
enum Spool {
    Memory(Vec<u8>),
    File(ScratchFile),
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Spool::Memory(v) => v.write(buf),
            Spool::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Spool::Memory(_) => Ok(()),
            Spool::File(f) => f.flush(),
        }
    }
}

impl Spool {
    /// Its bytes, from the start.
    fn into_reader(self) -> std::io::Result<Box<dyn Read>> {
        Ok(match self {
            Spool::Memory(v) => Box::new(std::io::Cursor::new(v)),
            Spool::File(f) => Box::new(std::io::BufReader::new(std::fs::File::open(f.finish()?)?)),
        })
    }
}

/// The index being built while batches are added.
enum Building {
    Tantivy(Box<IndexBuilder>),
    /// Keys of the batches not yet in a closed chunk (batch last offset, keys), and the filters
    /// of the closed chunks, `closed` of them.
    Filters {
        pending: Vec<(i64, Vec<u64>)>,
        filters: Box<ChunkFiltersWriter<Spool>>,
        closed: usize,
    },
    Prebuilt(IndexFiles),
}

impl Building {
    /// Filters for the chunks `archive` closed since the last call.
    fn chunks_closed<W: Write>(
        &mut self,
        archive: &ArchiveWriter<W>,
        policy: &IndexPolicy,
    ) -> PipelineResult<()> {
        let Building::Filters {
            pending,
            filters,
            closed,
        } = self
        else {
            return Ok(());
        };
        while let Some(chunk) = archive.closed_chunks().get(*closed) {
            let held = pending
                .iter()
                .take_while(|(last, _)| *last <= chunk.last_offset)
                .count();
            let keys: Vec<u64> = pending.drain(..held).flat_map(|(_, k)| k).collect();
            let filter = match policy {
                IndexPolicy::None => ChunkFilter::Unfiltered,
                _ => ChunkFilter::build(keys)?,
            };
            filters.push(&filter).map_err(ArchiveError::Io)?;
            *closed += 1;
        }
        Ok(())
    }
}

/// What an archive is built with, besides its batches and where it goes.
pub(crate) struct BuildSpec<'a> {
    /// The source id recorded in the manifest and the catalog entry.
    pub source: &'a str,
    /// When it is built (ms since the epoch).
    pub now: i64,
    /// How it is written.
    pub options: &'a ArchiveOptions,
    /// How its records are indexed.
    pub indexing: Indexing,
    /// The most one batch's records may decompress to.
    pub max_batch_bytes: usize,
    /// Where chunk filters wait for the index member (in memory if `None`).
    pub scratch: Option<&'a Scratch>,
}

/// Builds the archive of `group` in memory and the catalog entry describing it (see
/// [`build_archive`]).
pub(crate) fn build_segment(
    group: &PartitionBatches,
    spec: BuildSpec<'_>,
) -> PipelineResult<(SegmentEntry, Vec<u8>)> {
    build_archive(group, spec, Vec::new())
}

/// Builds the archive of `batches` into `sink` and the catalog entry describing it; returns the
/// sink, flushed. The segment id derives from the batches' offsets and CRC-32C.
///
/// Records are decoded either way (for exact timestamps, and to index them unless the spec's
/// indexing is a prebuilt index). A batch whose records do not decode, or decompress to more
/// than `max_batch_bytes`, is an invalid source. What is held in memory is one window of
/// batches, the open chunk, the table of contents and the chunk filters' descriptors (28 bytes a
/// chunk); with `scratch`, their fingerprints wait there.
pub(crate) fn build_archive<W: Write>(
    batches: &dyn BatchWindows,
    spec: BuildSpec<'_>,
    sink: W,
) -> PipelineResult<(SegmentEntry, W)> {
    let BuildSpec {
        source,
        now,
        options,
        indexing,
        max_batch_bytes,
        scratch,
    } = spec;
    let tp = batches.tp().clone();
    let layout = match &indexing {
        Indexing::Prebuilt(_) => IndexLayout::Tantivy,
        Indexing::Build(layout, _) => *layout,
    };
    let policy = match &indexing {
        Indexing::Build(_, policies) => policies.for_topic(&tp.topic),
        Indexing::Prebuilt(_) => IndexPolicy::Full,
    };
    let mut building = match indexing {
        Indexing::Prebuilt(files) => Building::Prebuilt(files),
        Indexing::Build(IndexLayout::Tantivy, _) => {
            Building::Tantivy(Box::new(IndexBuilder::new()?))
        }
        Indexing::Build(IndexLayout::ChunkFilters, _) => {
            let spool = match scratch {
                Some(scratch) => {
                    Spool::File(scratch.create(&format!("filters-{}-{}", tp.topic, tp.partition))?)
                }
                None => Spool::Memory(Vec::new()),
            };
            Building::Filters {
                pending: Vec::new(),
                filters: Box::new(ChunkFiltersWriter::new(
                    policy.unkeyed_mask(),
                    policy.value_paths().to_vec(),
                    spool,
                )),
                closed: 0,
            }
        }
    };
    let mut archive = ArchiveWriter::with_sink(options.clone(), sink);
    let push = |archive: &mut ArchiveWriter<W>, batch: &SourceBatch, facts: &BatchFacts| {
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
    // Decoding and keying are the work: for layout 2 they run on every core, a window of batches
    // at a time, while the archive is written in order.
    let workers = match building {
        Building::Filters { .. } => {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        }
        _ => 1,
    };
    let (mut first, mut bounds) = (0, None);
    let mut txns = TxnTracker::default();
    let track = |txns: &mut TxnTracker, index: usize, batch: &SourceBatch, control: &[Record]| {
        txns.batch(&batch.header, control).map_err(|source| {
            PipelineError::InvalidSource(SourceError::Batch {
                index,
                position: 0,
                source,
            })
        })
    };
    while first < batches.batch_count() {
        let window = batches.window(first)?;
        if window.is_empty() {
            return Err(PipelineError::Internal("an empty window of batches".into()));
        }
        let (Some(head), Some(tail)) = (window.first(), window.last()) else {
            break;
        };
        let (base, _) = bounds.unwrap_or((head.header.base_offset, 0));
        bounds = Some((base, tail.header.last_offset()));
        if let Building::Filters { .. } = building {
            let facts = facts_in_parallel(&window, first, max_batch_bytes, &policy, workers)?;
            for (i, (batch, facts)) in window.iter().zip(facts).enumerate() {
                track(&mut txns, first + i, batch, &facts.control)?;
                push(&mut archive, batch, &facts)?;
                if let Building::Filters { pending, .. } = &mut building {
                    pending.push((batch.header.last_offset(), facts.keys));
                }
                building.chunks_closed(&archive, &policy)?;
            }
        } else {
            for (i, batch) in window.iter().enumerate() {
                let decoded = decode(batch, first + i, max_batch_bytes)?;
                let h = &batch.header;
                track(&mut txns, first + i, batch, &decoded)?;
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
                    control: Vec::new(),
                };
                push(&mut archive, batch, &facts)?;
            }
        }
        first += window.len();
    }
    archive.close_chunk()?;
    building.chunks_closed(&archive, &policy)?;
    // Sources guarantee non-negative, increasing offsets.
    let (base, last) = bounds.unwrap_or_default();
    let offset = |o: i64| Offset::try_from(o).unwrap_or_default();
    let (base, last) = (offset(base), offset(last));
    let id = SegmentId::new(base, last, archive.data_crc32c());
    let transactions = txns.finish();
    if transactions.len() > MAX_TXN_FACTS {
        return Err(PipelineError::InvalidSource(
            SourceError::TooManyTransactions {
                tp,
                facts: transactions.len(),
                limit: MAX_TXN_FACTS,
            },
        ));
    }
    let identity = ArchiveIdentity {
        topic: tp.topic.to_string(),
        partition: tp.partition.get(),
        segment_id: id.to_string(),
        source: source.to_owned(),
        created_at_ms: now,
        index_schema_version: layout.schema_version(),
        transactions: transactions.clone(),
    };
    let (index_files, filters) = match building {
        Building::Prebuilt(files) => (files, None),
        Building::Tantivy(builder) => ((*builder).finish()?, None),
        Building::Filters { filters, .. } => (IndexFiles { files: Vec::new() }, Some(*filters)),
    };
    let mut files: Vec<(&str, IndexData<'_>)> = index_files
        .files
        .iter()
        .map(|(name, data)| (name.as_str(), IndexData::Bytes(data)))
        .collect();
    if let Some(filters) = filters {
        let len = filters.encoded_len();
        let (head, spool, crc) = filters.finish();
        let reader = std::io::Cursor::new(head)
            .chain(spool.into_reader().map_err(ArchiveError::Io)?)
            .chain(std::io::Cursor::new(crc.to_le_bytes()));
        files.push((
            FILTERS_FILE,
            IndexData::Stream {
                len,
                reader: Box::new(reader),
            },
        ));
    }
    let written = archive.finish(identity, files)?;
    let m = &written.manifest;
    let entry = SegmentEntry {
        archive_key: ObjectKey::archive(&tp, &id, rand::random()),
        id,
        tp,
        base_offset: base,
        last_offset: last,
        record_count: m.record_count,
        batch_count: m.batch_count,
        min_timestamp: m.min_timestamp,
        max_timestamp: m.max_timestamp,
        data_bytes: m.data_bytes,
        archive_size: written.size,
        toc: written.toc.encode(),
        source: source.to_owned(),
        created_at_ms: now,
        txns: transactions,
    };
    Ok((entry, written.bytes))
}
