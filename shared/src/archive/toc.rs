//! The table of contents: where every member of one archive lives.

use serde::{Deserialize, Serialize};

use super::names::{MANIFEST_NAME, validate_index_member_name};
use super::{ArchiveError, ByteRange, wire};

/// One record chunk member (`records/<first_offset:020>.batches`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkEntry {
    /// First offset of the first batch in the chunk (≥ 0).
    pub first_offset: i64,
    /// Last offset of the last batch in the chunk (≥ `first_offset`).
    pub last_offset: i64,
    /// Minimum of the batches' `min_timestamp`.
    pub min_timestamp: i64,
    /// Maximum of the batches' `max_timestamp`.
    pub max_timestamp: i64,
    /// Number of whole batches in the chunk (≥ 1).
    pub batch_count: u32,
    /// The complete gzip member holding the chunk.
    pub range: ByteRange,
    /// Length of the uncompressed chunk data (the concatenated batch bytes).
    pub data_len: u64,
    /// CRC-32C (Castagnoli) of the uncompressed chunk data.
    pub crc32c: u32,
}

/// One file member (index file or manifest), or any member in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// Full tar name, e.g. `index/meta.json` or `manifest.json`.
    pub name: String,
    /// The complete gzip member holding the file.
    pub range: ByteRange,
    /// Length of the uncompressed file data.
    pub data_len: u64,
    /// CRC-32C (Castagnoli) of the uncompressed file data.
    pub crc32c: u32,
}

/// Table of contents of one archive, kept in the catalog next to the
/// archive's object key.
///
/// Invariants (checked by [`Toc::validate`], enforced by [`Toc::decode`],
/// always true for a TOC returned by the builder):
/// * chunks have `batch_count ≥ 1`, `0 ≤ first_offset ≤ last_offset`,
///   `min_timestamp ≤ max_timestamp`, and strictly increasing offsets
///   (`first_offset > previous last_offset`);
/// * every range has `start ≤ end`, and ranges appear in archive order without
///   overlap: chunks, then index files, then the manifest;
/// * index file names are `index/<name>` with a valid, unique `<name>`; the
///   manifest is named `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toc {
    /// Record chunks in offset (and archive) order.
    pub chunks: Vec<ChunkEntry>,
    /// Index files in archive order; adjacent in archives built here.
    pub index_files: Vec<MemberEntry>,
    /// The manifest, the last file member.
    pub manifest: MemberEntry,
}

impl Toc {
    /// Version byte that starts the binary encoding.
    pub const VERSION: u8 = 1;

    /// Compact binary encoding: the version byte, then the bincode v2
    /// standard-config encoding of a delta-coded form (see FORMATS.md).
    /// `Toc::decode(&toc.encode())` returns `toc` for every valid TOC; for a
    /// TOC breaking the invariants, decode returns an error.
    pub fn encode(&self) -> Vec<u8> {
        wire::encode(self)
    }

    /// Decodes [`Toc::encode`]'s output. An unknown version byte gives
    /// [`ArchiveError::UnsupportedVersion`]; any other malformed input,
    /// trailing bytes, or a decoded TOC breaking the invariants gives
    /// [`ArchiveError::CorruptToc`]. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Toc, ArchiveError> {
        let toc = wire::decode(bytes)?;
        toc.validate()?;
        Ok(toc)
    }

    /// Chunks that may hold `offset` or anything after it: the suffix of
    /// `chunks` whose `last_offset >= offset` (binary search). Empty when
    /// `offset` is past the last chunk.
    pub fn chunks_from(&self, offset: i64) -> &[ChunkEntry] {
        let first = self.chunks.partition_point(|c| c.last_offset < offset);
        self.chunks.get(first..).unwrap_or_default()
    }

    /// One range from the first index member's start to the last one's end,
    /// or `None` without index files. In archives built here the index
    /// members are adjacent, so the range holds nothing else; split it with
    /// [`super::read_members`].
    pub fn index_range(&self) -> Option<ByteRange> {
        let first = self.index_files.first()?;
        let last = self.index_files.last()?;
        Some(ByteRange::new(first.range.start, last.range.end))
    }

    /// Total archive length implied by the TOC: the manifest's end. The
    /// end-of-archive member follows it and is not in the TOC.
    pub fn members_end(&self) -> u64 {
        self.manifest.range.end
    }

    /// Checks the invariants listed on [`Toc`].
    pub fn validate(&self) -> Result<(), ArchiveError> {
        let bad = |msg: String| Err(ArchiveError::CorruptToc(msg));
        let mut cursor = 0u64;
        let mut advance = |range: ByteRange, what: &str| {
            if range.start > range.end || range.start < cursor {
                return bad(format!(
                    "{what}: range {}..{} out of order",
                    range.start, range.end
                ));
            }
            cursor = range.end;
            Ok(())
        };
        let mut previous_last: Option<i64> = None;
        for (i, c) in self.chunks.iter().enumerate() {
            if c.batch_count == 0 || c.first_offset < 0 || c.first_offset > c.last_offset {
                return bad(format!("chunk {i}: bad offsets or batch count"));
            }
            if c.min_timestamp > c.max_timestamp {
                return bad(format!("chunk {i}: min_timestamp > max_timestamp"));
            }
            if previous_last.is_some_and(|p| c.first_offset <= p) {
                return bad(format!("chunk {i}: offsets not increasing"));
            }
            previous_last = Some(c.last_offset);
            advance(c.range, &format!("chunk {i}"))?;
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.index_files {
            validate_index_member_name(&m.name)
                .or_else(|_| bad(format!("bad index name {:?}", m.name)))?;
            if !names.insert(m.name.as_str()) {
                return bad(format!("duplicate index name {:?}", m.name));
            }
            advance(m.range, &m.name)?;
        }
        if self.manifest.name != MANIFEST_NAME {
            return bad(format!("manifest named {:?}", self.manifest.name));
        }
        advance(self.manifest.range, MANIFEST_NAME)
    }
}
