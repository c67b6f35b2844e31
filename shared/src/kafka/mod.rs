//! Kafka RecordBatch (magic v2) codec: the on-disk and on-wire unit of an
//! Apache Kafka log.
//!
//! - [`RawBatch`] is a zero-copy view of one batch's exact bytes with its
//!   parsed [`BatchHeader`]; [`batches`] walks concatenated batches such as a
//!   `.log` segment. Bytes are never re-encoded: only the base offset may be
//!   rewritten, with [`patch_base_offset`].
//! - [`RawBatch::verify_crc`] checks the CRC-32C; [`RawBatch::records`]
//!   decompresses ([`Compression`]) and decodes [`Record`]s with absolute
//!   offsets and timestamps.
//! - [`BatchBuilder`] encodes batches the way the Java producer does, for data
//!   generators and tests.
//!
//! Malformed input never panics; every defect is a [`KafkaError`]. Legacy
//! v0/v1 message sets are rejected with [`KafkaError::UnsupportedMagic`].
//! The byte layout is specified in `docs/FORMATS.md` (section "Kafka RecordBatch v2").

pub mod batch;
pub mod builder;
pub mod compression;
pub mod control;
pub mod error;
pub mod header;
pub mod record;

pub use batch::{BatchIter, RawBatch, batches, patch_base_offset};
pub use builder::{BatchBuilder, RecordInput};
pub use compression::{Compression, MAX_DECOMPRESSED_SIZE, compress_lz4_size_prepended};
pub use control::ControlType;
pub use error::KafkaError;
pub use header::BatchHeader;
pub use record::{Record, RecordHeader};

#[cfg(test)]
mod tests;
