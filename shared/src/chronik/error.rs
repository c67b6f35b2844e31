use super::canonical::CanonicalError;
use crate::kafka::KafkaError;
use crate::types::TopicPartition;

/// Why a Chronik WAL segment was rejected. Every variant is permanent: the same bytes fail the same
/// way. Positions are byte offsets of the frame in the segment.
#[derive(Debug, thiserror::Error)]
pub enum ChronikWalError {
    /// The segment ends inside a frame (a crash tore the last write, or the file is cut short).
    #[error("torn frame at byte {position}: the segment ends {missing} bytes short of it")]
    TornFrame {
        /// Where the frame starts.
        position: usize,
        /// Bytes missing.
        missing: usize,
    },
    /// No frame magic `0xCA7E` where a frame must start.
    #[error("byte {position}: no WalRecord magic 0xCA7E (found {found:#06x})")]
    BadMagic {
        /// Where the frame should start.
        position: usize,
        /// The two bytes found, little-endian.
        found: u16,
    },
    /// A legacy V1 frame: one record without its batch (brokers before v1.3.46).
    #[error(
        "byte {position}: a WalRecord V1 frame (brokers before v1.3.46 wrote records without their \
         batch; Chronik Tier reads V2 frames only)"
    )]
    V1Frame {
        /// Where the frame starts.
        position: usize,
    },
    /// A frame version other than 1 or 2.
    #[error("byte {position}: unknown WalRecord version {version}")]
    UnknownVersion {
        /// Where the frame starts.
        position: usize,
        /// The version byte.
        version: u8,
    },
    /// Flag bits set (no broker sets any).
    #[error("byte {position}: WalRecord flags {flags:#04x} set, none are defined")]
    UnknownFlags {
        /// Where the frame starts.
        position: usize,
        /// The flags byte.
        flags: u8,
    },
    /// The length field disagrees with the topic and payload lengths inside the frame.
    #[error("byte {position}: frame length {length} does not fit its fields ({reason})")]
    BadLength {
        /// Where the frame starts.
        position: usize,
        /// The length field.
        length: u32,
        /// What does not fit.
        reason: String,
    },
    /// The CRC-32 matches neither rule brokers used.
    #[error(
        "byte {position}: frame CRC {stored:#010x} matches neither rule (current {current:#010x}, \
         before v2.4.0 {legacy:#010x})"
    )]
    Checksum {
        /// Where the frame starts.
        position: usize,
        /// The CRC field.
        stored: u32,
        /// CRC-32 over the frame with the length field as written.
        current: u32,
        /// CRC-32 with the length field hashed as 0 (brokers before v2.4.0).
        legacy: u32,
    },
    /// The frame's topic or partition is not a valid name.
    #[error("byte {position}: {reason}")]
    InvalidName {
        /// Where the frame starts.
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// The payload is not a current `CanonicalRecord`.
    #[error("byte {position}: {source}")]
    Payload {
        /// Where the frame starts.
        position: usize,
        /// Why.
        source: CanonicalError,
    },
    /// The `CanonicalRecord` holds no v2 batch to serve.
    #[error("byte {position}: the record holds no original v2 batch ({reason})")]
    NoOriginalBatch {
        /// Where the frame starts.
        position: usize,
        /// What it holds instead.
        reason: &'static str,
    },
    /// The stored batch is invalid (truncated, bad CRC-32C, trailing bytes).
    #[error("byte {position}: stored batch: {source}")]
    Batch {
        /// Where the frame starts.
        position: usize,
        /// What is wrong.
        source: KafkaError,
    },
    /// The frame trailer or the `CanonicalRecord` disagrees with the batch header.
    #[error("byte {position}: {what} {field} is {found} but the batch says {batch}")]
    Mismatch {
        /// Where the frame starts.
        position: usize,
        /// `trailer` or `record`.
        what: &'static str,
        /// The field.
        field: &'static str,
        /// Its value there.
        found: i64,
        /// The batch header's value.
        batch: i64,
    },
    /// Frames of more than one partition (a segment holds one).
    #[error("byte {position}: a frame of {found} in a segment of {expected}")]
    MixedPartitions {
        /// Where the frame starts.
        position: usize,
        /// The segment's partition (from its first frame).
        expected: TopicPartition,
        /// The frame's.
        found: TopicPartition,
    },
    /// Two frames cover overlapping offsets with different batches.
    #[error(
        "{tp}: frames at bytes {first} and {second} both hold offset {offset} with different batches"
    )]
    ConflictingFrames {
        /// The partition.
        tp: TopicPartition,
        /// An offset both cover.
        offset: i64,
        /// One frame's position.
        first: usize,
        /// The other's.
        second: usize,
    },
    /// The path names another partition than the frames.
    #[error("the path names {path} but the frames hold {frames}")]
    PathMismatch {
        /// From the path.
        path: TopicPartition,
        /// From the frames.
        frames: TopicPartition,
    },
}
