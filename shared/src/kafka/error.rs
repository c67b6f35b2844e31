//! The single error type of the Kafka codec.

use super::compression::Compression;

/// Everything that can go wrong while parsing, decoding or building a
/// Kafka RecordBatch (magic v2).
///
/// Malformed input never panics: every defect maps to one of these variants.
/// Errors raised while walking a segment with [`batches`](super::batches) are
/// wrapped in [`KafkaError::AtPosition`]; use [`KafkaError::root`] to match on
/// the underlying cause.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum KafkaError {
    /// The buffer ends before the structure being read does.
    #[error("truncated input: need {needed} bytes but only {available} are available")]
    Truncated {
        /// Bytes required to read the structure (header or whole batch).
        needed: usize,
        /// Bytes present in the buffer.
        available: usize,
    },

    /// The magic byte (offset 16) is not 2. Legacy v0/v1 message sets are not supported.
    #[error(
        "unsupported record batch magic {0}: only magic 2 (RecordBatch v2) is supported; \
         legacy v0/v1 message sets are not"
    )]
    UnsupportedMagic(i8),

    /// The stored CRC-32C (bytes 17..21) does not match the one computed over bytes 21..end.
    #[error("CRC-32C mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC stored in the batch header.
        stored: u32,
        /// CRC-32C computed over the batch from the attributes field to the end.
        computed: u32,
    },

    /// The batch length field (bytes 8..12) cannot describe a v2 batch.
    #[error(
        "invalid batch length {0}: a v2 batch length counts the bytes after the length \
         field and must be at least 49 (the rest of the 61-byte header)"
    )]
    InvalidLength(i32),

    /// A header field other than the length is out of range or inconsistent.
    #[error("invalid batch header: {0}")]
    InvalidHeader(String),

    /// Attribute bits 0..=2 hold a compression code other than 0..=4.
    #[error(
        "unsupported compression code {0} in batch attributes (known: 0=none, 1=gzip, 2=snappy, 3=lz4, 4=zstd)"
    )]
    UnsupportedCompression(u8),

    /// A compression name given to `Compression::from_str` is not known.
    #[error("unknown compression name {0:?} (expected none, gzip, snappy, lz4 or zstd)")]
    UnknownCompressionName(String),

    /// The compressed records section of a batch could not be decompressed.
    #[error("{codec} decompression failed: {reason}")]
    Decompress {
        /// Codec named in the batch attributes.
        codec: Compression,
        /// What the decoder reported.
        reason: String,
    },

    /// Compressing records while building a batch failed.
    #[error("{codec} compression failed: {reason}")]
    Compress {
        /// Codec requested from the builder.
        codec: Compression,
        /// What the encoder reported.
        reason: String,
    },

    /// Decompressed records would exceed the allowed size (decompression-bomb guard).
    #[error("decompressed records exceed the limit of {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },

    /// The records section does not decode as the header says it should.
    #[error("malformed record: {0}")]
    MalformedRecord(String),

    /// An argument given to the builder or to `patch_base_offset` cannot be encoded.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// An error found while walking concatenated batches, with the byte
    /// position (from the start of the walked buffer) of the failing batch.
    #[error("batch at byte {position}: {source}")]
    AtPosition {
        /// Byte offset of the failing batch within the buffer given to `batches`.
        position: usize,
        /// What went wrong with that batch.
        #[source]
        source: Box<KafkaError>,
    },
}

impl KafkaError {
    /// The underlying error, looking through any [`KafkaError::AtPosition`] wrapper.
    pub fn root(&self) -> &KafkaError {
        match self {
            KafkaError::AtPosition { source, .. } => source.root(),
            other => other,
        }
    }
}
