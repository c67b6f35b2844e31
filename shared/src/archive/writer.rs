//! Writing one segment's archive: the writer owns the member order (record chunks, index files,
//! manifest, end marker), derives the manifest's figures from the batches it was given, and returns
//! the archive with its TOC and manifest.

use std::io::Write;

use crate::txn::TxnFacts;

use super::{
    ArchiveBuilder, ArchiveError, ArchiveOptions, BatchSpan, MANIFEST_VERSION, Manifest, Toc,
};

/// What the manifest says about an archive that the writer, which does not decode records, cannot
/// tell from its batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveIdentity {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Content-derived segment id.
    pub segment_id: String,
    /// The source object (`compaction` for a merge).
    pub source: String,
    /// When the archive is built (ms since the epoch).
    pub created_at_ms: i64,
    /// Version of the index schema of the index files.
    pub index_schema_version: u32,
    /// The transaction facts of its batches.
    pub transactions: TxnFacts,
}

/// The contents of one index member handed to [`ArchiveWriter::finish`].
pub enum IndexData<'a> {
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// `len` bytes read from a reader as they are written.
    Stream {
        /// How many bytes the reader holds.
        len: u64,
        /// Where they are.
        reader: Box<dyn std::io::Read + 'a>,
    },
}

/// A finished archive.
#[derive(Debug)]
pub struct WrittenArchive<W = Vec<u8>> {
    /// Where it was written: the archive bytes for an archive built in memory.
    pub bytes: W,
    /// Its size in bytes.
    pub size: u64,
    /// Its table of contents.
    pub toc: Toc,
    /// Its manifest, as written into `manifest.json`.
    pub manifest: Manifest,
}

/// Running figures of the batches pushed so far.
#[derive(Debug)]
struct Figures {
    base_offset: Option<i64>,
    last_offset: i64,
    records: u64,
    batches: u64,
    data_bytes: u64,
    data_crc32c: u32,
    min_timestamp: i64,
    max_timestamp: i64,
}

/// Builds one segment's archive into `W` (memory by default). Like [`ArchiveBuilder`], every
/// method validates before changing anything.
#[derive(Debug)]
pub struct ArchiveWriter<W: Write = Vec<u8>> {
    builder: ArchiveBuilder<W>,
    figures: Figures,
}

impl ArchiveWriter<Vec<u8>> {
    /// An empty archive in memory.
    pub fn new(options: ArchiveOptions) -> Self {
        ArchiveWriter::with_sink(options, Vec::new())
    }
}

impl<W: Write> ArchiveWriter<W> {
    /// An empty archive written into `sink`.
    pub fn with_sink(options: ArchiveOptions, sink: W) -> Self {
        ArchiveWriter {
            builder: ArchiveBuilder::with_sink(options, sink),
            figures: Figures {
                base_offset: None,
                last_offset: 0,
                records: 0,
                batches: 0,
                data_bytes: 0,
                data_crc32c: 0,
                min_timestamp: i64::MAX,
                max_timestamp: i64::MIN,
            },
        }
    }

    /// Appends one batch holding `records` records (see [`ArchiveBuilder::push_batch`]).
    pub fn push_batch(&mut self, batch: BatchSpan<'_>, records: u64) -> Result<(), ArchiveError> {
        self.builder.push_batch(batch)?;
        let f = &mut self.figures;
        f.base_offset.get_or_insert(batch.first_offset);
        f.last_offset = batch.last_offset;
        f.records += records;
        f.batches += 1;
        f.data_bytes += batch.bytes.len() as u64;
        f.data_crc32c = crc32c::crc32c_append(f.data_crc32c, batch.bytes);
        f.min_timestamp = f.min_timestamp.min(batch.min_timestamp);
        f.max_timestamp = f.max_timestamp.max(batch.max_timestamp);
        Ok(())
    }

    /// The CRC-32C of the batches pushed so far, in order (the manifest's `data_crc32c`).
    pub fn data_crc32c(&self) -> u32 {
        self.figures.data_crc32c
    }

    /// The chunks written so far (the open one is not among them), in offset order.
    pub fn closed_chunks(&self) -> &[crate::archive::ChunkEntry] {
        self.builder.closed_chunks()
    }

    /// Writes the open chunk, if any: after it, [`ArchiveWriter::closed_chunks`] holds every
    /// batch pushed.
    pub fn close_chunk(&mut self) -> Result<(), ArchiveError> {
        self.builder.close_chunk()
    }

    /// Writes the index files (after the last batch), then the manifest and the end marker.
    pub fn finish<'a>(
        mut self,
        identity: ArchiveIdentity,
        index_files: impl IntoIterator<Item = (&'a str, IndexData<'a>)>,
    ) -> Result<WrittenArchive<W>, ArchiveError> {
        for (name, data) in index_files {
            match data {
                IndexData::Bytes(bytes) => self.builder.add_index_file(name, bytes)?,
                IndexData::Stream { len, mut reader } => {
                    self.builder.add_index_stream(name, len, &mut reader)?
                }
            }
        }
        let f = self.figures;
        let manifest = Manifest {
            format_version: MANIFEST_VERSION,
            index_schema_version: identity.index_schema_version,
            topic: identity.topic,
            partition: identity.partition,
            segment_id: identity.segment_id,
            base_offset: f.base_offset.unwrap_or(0),
            last_offset: f.last_offset,
            record_count: f.records,
            batch_count: f.batches,
            min_timestamp: f.min_timestamp,
            max_timestamp: f.max_timestamp,
            data_bytes: f.data_bytes,
            data_crc32c: f.data_crc32c,
            source: identity.source,
            created_at_ms: identity.created_at_ms,
            transactions: identity.transactions,
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| ArchiveError::InvalidManifest(e.to_string()))?;
        let (bytes, toc, size) = self.builder.finish_sized(&json)?;
        Ok(WrittenArchive {
            size,
            bytes,
            toc,
            manifest,
        })
    }
}
