//! Writing one segment's archive: the writer owns the member order (record chunks, index files,
//! manifest, end marker), derives the manifest's figures from the batches it was given, and returns
//! the archive with its TOC and manifest.

use super::{
    ArchiveBuilder, ArchiveError, ArchiveOptions, BatchSpan, MANIFEST_VERSION, Manifest, Toc,
};

/// What the manifest says about an archive that its batches cannot tell.
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
}

/// A finished archive.
#[derive(Debug)]
pub struct WrittenArchive {
    /// The archive bytes.
    pub bytes: Vec<u8>,
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

/// Builds one segment's archive in memory. Like [`ArchiveBuilder`], every method validates before
/// changing anything.
#[derive(Debug)]
pub struct ArchiveWriter {
    builder: ArchiveBuilder,
    figures: Figures,
}

impl ArchiveWriter {
    /// An empty archive.
    pub fn new(options: ArchiveOptions) -> Self {
        ArchiveWriter {
            builder: ArchiveBuilder::new(options),
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
        index_files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<WrittenArchive, ArchiveError> {
        for (name, data) in index_files {
            self.builder.add_index_file(name, data)?;
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
        };
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| ArchiveError::InvalidManifest(e.to_string()))?;
        let (bytes, toc) = self.builder.finish(&json)?;
        Ok(WrittenArchive {
            bytes,
            toc,
            manifest,
        })
    }
}
