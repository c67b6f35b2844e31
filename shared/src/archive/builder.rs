//! Writing an archive, into memory or into any writer (a local file for large segments).

use std::io::Write;

use flate2::Compression;

use super::names::{MANIFEST_NAME, chunk_member_name, index_member_name};
use super::{ArchiveError, ChunkEntry, MemberEntry, Toc, member};

/// How an archive is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOptions {
    /// A chunk is closed as soon as its data reaches this many bytes; a batch
    /// of at least this size always gets a chunk of its own. Default 1 MiB.
    pub chunk_target_bytes: usize,
    /// Deflate level 0..=9 (larger values are treated as 9) of record chunks
    /// holding at least one batch not marked `precompressed`, and of the
    /// manifest. Default 6.
    pub compression_level: u32,
    /// Deflate level of record chunks whose batches are all marked
    /// `precompressed` (deflating compressed data costs time and saves
    /// nothing). Default 0: stored blocks, read back at memory speed.
    pub precompressed_level: u32,
    /// Deflate level of index members (already compact). Default 1.
    pub index_level: u32,
    /// Modification time (seconds since the epoch) written into every tar
    /// header, so equal inputs give byte-identical archives. Default 0.
    pub mtime: u64,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        Self {
            chunk_target_bytes: 256 << 10,
            compression_level: 6,
            precompressed_level: 0,
            index_level: 1,
            mtime: 0,
        }
    }
}

/// One whole Kafka record batch, as opaque bytes plus the metadata the TOC
/// needs.
#[derive(Clone, Copy)]
pub struct BatchSpan<'a> {
    /// Offset of the batch's first record (≥ 0).
    pub first_offset: i64,
    /// Offset of the batch's last record (≥ `first_offset`).
    pub last_offset: i64,
    /// Smallest record timestamp in the batch (≤ `max_timestamp`).
    pub min_timestamp: i64,
    /// Largest record timestamp in the batch.
    pub max_timestamp: i64,
    /// The batch exactly as stored in the log (non-empty).
    pub bytes: &'a [u8],
    /// Whether the batch's records are already compressed (a hint that picks
    /// [`ArchiveOptions::precompressed_level`] for its chunk).
    pub precompressed: bool,
}

impl std::fmt::Debug for BatchSpan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSpan")
            .field("first_offset", &self.first_offset)
            .field("last_offset", &self.last_offset)
            .field("min_timestamp", &self.min_timestamp)
            .field("max_timestamp", &self.max_timestamp)
            .field("bytes_len", &self.bytes.len())
            .field("precompressed", &self.precompressed)
            .finish()
    }
}

/// The chunk being filled.
#[derive(Debug)]
struct OpenChunk {
    first_offset: i64,
    last_offset: i64,
    min_timestamp: i64,
    max_timestamp: i64,
    batch_count: u32,
    all_precompressed: bool,
}

/// Builds one archive into `W` (in memory by default): record batches first,
/// then index files, then [`ArchiveBuilder::finish`] with the manifest. What
/// it holds besides the sink is the open chunk and the table of contents.
///
/// Every method validates before changing anything, so after an error the
/// builder is unchanged and may still be used — unless the error is the
/// sink's ([`ArchiveError::Io`]), after which the archive is incomplete.
pub struct ArchiveBuilder<W: Write = Vec<u8>> {
    options: ArchiveOptions,
    level: Compression,
    precompressed_level: Compression,
    index_level: Compression,
    out: member::Sink<W>,
    open: Option<OpenChunk>,
    buffer: Vec<u8>,
    last_offset: Option<i64>,
    chunks: Vec<ChunkEntry>,
    index_files: Vec<MemberEntry>,
}

impl<W: Write> std::fmt::Debug for ArchiveBuilder<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveBuilder")
            .field("options", &self.options)
            .field("written_len", &self.out.len())
            .field("open_chunk", &self.open)
            .field("open_chunk_len", &self.buffer.len())
            .field("chunks", &self.chunks.len())
            .field("index_files", &self.index_files.len())
            .finish()
    }
}

impl ArchiveBuilder<Vec<u8>> {
    /// An empty builder writing into memory.
    pub fn new(options: ArchiveOptions) -> Self {
        ArchiveBuilder::with_sink(options, Vec::new())
    }
}

impl<W: Write> ArchiveBuilder<W> {
    /// An empty builder writing into `sink` (e.g. a `BufWriter<File>`).
    pub fn with_sink(options: ArchiveOptions, sink: W) -> Self {
        let level = |l: u32| Compression::new(l.min(9));
        Self {
            level: level(options.compression_level),
            precompressed_level: level(options.precompressed_level),
            index_level: level(options.index_level),
            options,
            out: member::Sink::new(sink),
            open: None,
            buffer: Vec::new(),
            last_offset: None,
            chunks: Vec::new(),
            index_files: Vec::new(),
        }
    }

    /// Appends one whole batch to the current chunk.
    ///
    /// Errors: [`ArchiveError::InvalidBatch`] for empty bytes, a negative
    /// `first_offset`, `last_offset < first_offset` or
    /// `min_timestamp > max_timestamp`; [`ArchiveError::OffsetsNotIncreasing`]
    /// unless `first_offset` is greater than the previous batch's
    /// `last_offset`; [`ArchiveError::OutOfOrder`] after an index file.
    ///
    /// Chunking: if the batch is at least `chunk_target_bytes` long, the open
    /// chunk is closed first. The batch is then appended, and the chunk is
    /// closed once its data reaches `chunk_target_bytes`.
    pub fn push_batch(&mut self, batch: BatchSpan<'_>) -> Result<(), ArchiveError> {
        self.check_batch(&batch)?;
        let target = self.options.chunk_target_bytes;
        let full_count = self
            .open
            .as_ref()
            .is_some_and(|c| c.batch_count == u32::MAX);
        if batch.bytes.len() >= target || full_count {
            self.flush_chunk()?;
        }
        match &mut self.open {
            Some(c) => {
                c.last_offset = batch.last_offset;
                c.min_timestamp = c.min_timestamp.min(batch.min_timestamp);
                c.max_timestamp = c.max_timestamp.max(batch.max_timestamp);
                c.batch_count += 1;
                c.all_precompressed &= batch.precompressed;
            }
            None => {
                self.open = Some(OpenChunk {
                    first_offset: batch.first_offset,
                    last_offset: batch.last_offset,
                    min_timestamp: batch.min_timestamp,
                    max_timestamp: batch.max_timestamp,
                    batch_count: 1,
                    all_precompressed: batch.precompressed,
                });
            }
        }
        self.buffer.extend_from_slice(batch.bytes);
        self.last_offset = Some(batch.last_offset);
        if self.buffer.len() >= target {
            self.flush_chunk()?;
        }
        Ok(())
    }

    fn check_batch(&self, batch: &BatchSpan<'_>) -> Result<(), ArchiveError> {
        let invalid = |msg: &str| Err(ArchiveError::InvalidBatch(msg.to_owned()));
        if !self.index_files.is_empty() {
            return Err(ArchiveError::OutOfOrder(
                "record batch pushed after an index file",
            ));
        }
        if batch.bytes.is_empty() {
            return invalid("empty batch bytes");
        }
        if batch.first_offset < 0 {
            return invalid("negative first_offset");
        }
        if batch.last_offset < batch.first_offset {
            return invalid("last_offset < first_offset");
        }
        if batch.min_timestamp > batch.max_timestamp {
            return invalid("min_timestamp > max_timestamp");
        }
        match self.last_offset {
            Some(previous) if batch.first_offset <= previous => {
                Err(ArchiveError::OffsetsNotIncreasing {
                    previous_last_offset: previous,
                    first_offset: batch.first_offset,
                })
            }
            _ => Ok(()),
        }
    }

    /// The chunks written so far, in offset order.
    pub fn closed_chunks(&self) -> &[ChunkEntry] {
        &self.chunks
    }

    /// Writes the open chunk, if any, as one member (the next batch starts a new one).
    pub fn close_chunk(&mut self) -> Result<(), ArchiveError> {
        self.flush_chunk()
    }

    /// Writes the open chunk, if any, as one member.
    fn flush_chunk(&mut self) -> Result<(), ArchiveError> {
        let Some(c) = self.open.take() else {
            return Ok(());
        };
        let name = chunk_member_name(c.first_offset);
        let level = if c.all_precompressed {
            self.precompressed_level
        } else {
            self.level
        };
        let written = member::write_file(
            &mut self.out,
            &name,
            &self.buffer,
            self.options.mtime,
            level,
        )?;
        self.buffer.clear();
        self.chunks.push(ChunkEntry {
            first_offset: c.first_offset,
            last_offset: c.last_offset,
            min_timestamp: c.min_timestamp,
            max_timestamp: c.max_timestamp,
            batch_count: c.batch_count,
            range: written.range,
            data_len: written.data_len,
            crc32c: written.crc32c,
        });
        Ok(())
    }

    /// Closes the open chunk, then writes `data` as member `index/<name>`.
    /// After this call no more batches are accepted, so index members are
    /// adjacent. Errors: [`ArchiveError::InvalidName`] (see
    /// [`super::validate_index_name`]), [`ArchiveError::DuplicateName`].
    pub fn add_index_file(&mut self, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
        self.add_index_stream(name, data.len() as u64, &mut &data[..])
    }

    /// [`ArchiveBuilder::add_index_file`] with the member's `size` bytes read from `data` as
    /// they are written (a file of any size, in bounded memory).
    pub fn add_index_stream(
        &mut self,
        name: &str,
        size: u64,
        data: &mut dyn std::io::Read,
    ) -> Result<(), ArchiveError> {
        let full = index_member_name(name)?;
        if self.index_files.iter().any(|m| m.name == full) {
            return Err(ArchiveError::DuplicateName(full));
        }
        self.flush_chunk()?;
        let entry = member::write_file_from(
            &mut self.out,
            &full,
            size,
            data,
            self.options.mtime,
            self.index_level,
        )?;
        self.index_files.push(entry);
        Ok(())
    }

    /// Closes the open chunk, writes `manifest.json` and the end-of-archive
    /// member, and returns the sink (flushed) with the archive's TOC.
    /// Errors: [`ArchiveError::InvalidManifest`] unless `manifest_json` is one
    /// valid JSON value.
    pub fn finish(self, manifest_json: &[u8]) -> Result<(W, Toc), ArchiveError> {
        self.finish_sized(manifest_json)
            .map(|(sink, toc, _)| (sink, toc))
    }

    /// [`ArchiveBuilder::finish`], also returning the archive's size in bytes.
    pub fn finish_sized(mut self, manifest_json: &[u8]) -> Result<(W, Toc, u64), ArchiveError> {
        serde_json::from_slice::<serde::de::IgnoredAny>(manifest_json)
            .map_err(|e| ArchiveError::InvalidManifest(e.to_string()))?;
        self.flush_chunk()?;
        let manifest = member::write_file(
            &mut self.out,
            MANIFEST_NAME,
            manifest_json,
            self.options.mtime,
            self.level,
        )?;
        member::write_end(&mut self.out, self.level)?;
        let toc = Toc {
            chunks: self.chunks,
            index_files: self.index_files,
            manifest,
        };
        let size = self.out.len();
        Ok((self.out.finish()?, toc, size))
    }

    /// Bytes written so far (closed members only).
    pub fn written_len(&self) -> u64 {
        self.out.len()
    }
}
