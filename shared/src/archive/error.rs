//! The single error type of the archive module.

use thiserror::Error;

/// Everything that can go wrong while building or reading an archive or a TOC.
///
/// Reading functions never panic on malformed input: every corruption,
/// truncation or mismatch surfaces as one of these variants. `at` fields are
/// absolute byte positions in the archive of the gzip member concerned (0 when
/// the caller handed over a bare member and its position is unknown).
#[derive(Error, Debug)]
pub enum ArchiveError {
    /// The input ended before a complete gzip member, tar entry or TOC.
    #[error("truncated input in member at byte {at}: {detail}")]
    Truncated {
        /// Position of the member being read.
        at: u64,
        /// What was being read when the input ran out.
        detail: String,
    },

    /// A gzip member or the tar entry inside it is malformed.
    #[error("corrupt member at byte {at}: {reason}")]
    CorruptMember {
        /// Position of the member being read.
        at: u64,
        /// Human-readable description of the defect.
        reason: String,
    },

    /// The CRC-32C of the decompressed data does not match the TOC.
    #[error("crc32c mismatch for {name}: expected {expected:#010x}, got {actual:#010x}")]
    ChecksumMismatch {
        /// Tar member name.
        name: String,
        /// Checksum recorded in the TOC.
        expected: u32,
        /// Checksum of the data actually read.
        actual: u32,
    },

    /// The tar entry's size does not match the TOC.
    #[error("length mismatch for {name}: expected {expected} bytes, got {actual}")]
    LengthMismatch {
        /// Tar member name.
        name: String,
        /// Length recorded in the TOC.
        expected: u64,
        /// Length found in the member.
        actual: u64,
    },

    /// The tar entry's name is not the one the TOC promised for this range.
    #[error("member name mismatch: expected {expected:?}, got {actual:?}")]
    NameMismatch {
        /// Name derived from the TOC.
        expected: String,
        /// Name found in the tar header.
        actual: String,
    },

    /// A byte range does not lie inside the buffer handed over.
    #[error("range {start}..{end} is outside the buffer covering {base}..{buffer_end}")]
    RangeOutOfBounds {
        /// Range start (absolute).
        start: u64,
        /// Range end (absolute, exclusive).
        end: u64,
        /// Absolute position of the buffer's first byte.
        base: u64,
        /// Absolute position just past the buffer's last byte.
        buffer_end: u64,
    },

    /// The TOC starts with a version byte this code does not understand.
    #[error("unsupported TOC version {0}")]
    UnsupportedVersion(u8),

    /// The TOC bytes are not a valid encoding, or violate a TOC invariant.
    #[error("corrupt TOC: {0}")]
    CorruptToc(String),

    /// An index file name breaks the naming rules.
    #[error("invalid member name {0:?}")]
    InvalidName(String),

    /// Two index files with the same name.
    #[error("duplicate member name {0:?}")]
    DuplicateName(String),

    /// A batch's own fields are inconsistent (empty bytes, negative offset, ...).
    #[error("invalid batch: {0}")]
    InvalidBatch(String),

    /// A batch does not start after the previous batch's last offset.
    #[error(
        "offsets not increasing: batch starts at {first_offset}, previous batch ended at {previous_last_offset}"
    )]
    OffsetsNotIncreasing {
        /// `last_offset` of the previously pushed batch.
        previous_last_offset: i64,
        /// `first_offset` of the rejected batch.
        first_offset: i64,
    },

    /// Builder calls in the wrong order (a batch after an index file).
    #[error("builder calls out of order: {0}")]
    OutOfOrder(&'static str),

    /// The manifest is not valid JSON, or its figures are impossible (see [`super::Manifest::decode`]).
    #[error("manifest is not valid JSON: {0}")]
    InvalidManifest(String),

    /// An archive listing disagrees with a TOC.
    #[error("archive does not match TOC: {0}")]
    TocMismatch(String),

    /// I/O error from the compressor.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
