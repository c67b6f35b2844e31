//! What a source object holds: a segment of a Chronik broker's WAL, a sealed tier WAL segment, or a
//! plain Apache Kafka `.log` segment (told apart by content), read into validated per-partition
//! batch lists.
//!
//! Validation is all-or-nothing: every batch's CRC is checked, WAL metadata must agree with the batch
//! header it describes, offsets must increase within a partition. Any failure rejects the whole source.

mod chronik;
mod kafka_log;
mod read_at;
mod scan;
mod wal;

use serde::Serialize;

pub use read_at::{ReadAt, SourceFile};
pub use scan::{BatchAt, PartitionPlan, ScanError, SourcePlan};

use crate::chronik::ChronikWalError;
use crate::kafka::{BatchHeader, KafkaError};
use crate::types::{InvalidValue, TopicPartition};
use crate::wal::WalError;

/// The kind of source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// A sealed tier WAL segment, `CHRNKWAL` (`docs/FORMATS.md`, "WAL segment").
    Wal,
    /// A segment of a Chronik broker's data WAL (`docs/FORMATS.md`, "Chronik WAL segment").
    ChronikWal,
    /// Concatenated Kafka v2 batches of one partition (an Apache Kafka `.log` file).
    KafkaLog,
}

/// One original batch with its parsed header.
#[derive(Debug, Clone)]
pub struct SourceBatch {
    /// The parsed header.
    pub header: BatchHeader,
    /// The exact wire bytes.
    pub bytes: Vec<u8>,
}

/// The batches of one partition found in a source, in offset order.
#[derive(Debug, Clone)]
pub struct PartitionBatches {
    /// The partition.
    pub tp: TopicPartition,
    /// Its batches, offsets strictly increasing.
    pub batches: Vec<SourceBatch>,
}

/// Why a source was rejected. Every variant is permanent: retrying the same bytes fails the same way.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The WAL container is invalid (bad magic, not sealed, checksum, ...).
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The Chronik WAL segment is invalid.
    #[error("Chronik WAL segment: {0}")]
    ChronikWal(#[from] ChronikWalError),
    /// A batch is invalid.
    #[error("batch {index} (byte {position}): {source}")]
    Batch {
        /// Index of the batch in the source.
        index: usize,
        /// Byte position of the batch in the source (or of its frame's payload for WAL).
        position: usize,
        /// What is wrong with it.
        source: KafkaError,
    },
    /// WAL frame metadata disagrees with the batch it wraps.
    #[error("frame {index}: metadata {field} is {metadata} but the batch says {batch}")]
    MetadataMismatch {
        /// Index of the frame.
        index: usize,
        /// The field that disagrees.
        field: &'static str,
        /// Value in the frame metadata.
        metadata: i64,
        /// Value in the batch header.
        batch: i64,
    },
    /// A name in the source is not a valid topic or partition.
    #[error(transparent)]
    InvalidName(#[from] InvalidValue),
    /// Offsets go backwards or repeat within a partition.
    #[error("{tp}: batch at offset {base} does not follow offset {previous}")]
    OffsetsNotIncreasing {
        /// The partition.
        tp: TopicPartition,
        /// Base offset of the offending batch.
        base: i64,
        /// Last offset of the batch before it.
        previous: i64,
    },
    /// A Kafka log was given without a topic-partition.
    #[error(
        "a Kafka .log segment needs a topic and partition (from flags or a <topic>-<partition>/ directory)"
    )]
    MissingTopicPartition,
    /// The source holds no batch.
    #[error("the source holds no batches")]
    Empty,
    /// A partition's batches carry more transaction facts than a catalog entry may hold.
    #[error(
        "{tp} has {facts} transaction facts (aborted and open transactions, first markers), over \
         the limit of {limit} one segment may carry"
    )]
    TooManyTransactions {
        /// The partition.
        tp: crate::types::TopicPartition,
        /// How many there are.
        facts: usize,
        /// The limit ([`crate::txn::MAX_TXN_FACTS`]).
        limit: usize,
    },
    /// A batch longer than the limit a source is read with.
    #[error("batch {index} (byte {position}) is {len} bytes long, over the {limit}-byte limit")]
    BatchTooLarge {
        /// Index of the batch in the source.
        index: usize,
        /// Its byte position.
        position: usize,
        /// Its length.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// An in-memory source could not be read (never expected: reads stay within its bounds).
    #[error("the source cannot be read: {0}")]
    Unreadable(String),
    /// Neither a WAL segment nor a Kafka v2 log.
    #[error("unrecognised source format: {0}")]
    UnknownFormat(String),
}

/// Reads a source held in memory: [`scan_source`], then every batch copied out. `path_tp` is the
/// partition its path names (`--topic/--partition`, a `<topic>-<partition>/` directory, or the
/// Chronik layout `<topic>/<partition>/wal_<p>_<n>.log`): a Kafka `.log` file needs it, a Chronik
/// WAL segment must agree with it, and a tier WAL segment, which names several partitions,
/// ignores it.
pub fn read_source(
    bytes: &[u8],
    path_tp: Option<&TopicPartition>,
) -> Result<(SourceFormat, Vec<PartitionBatches>), SourceError> {
    let unreadable = |e: ScanError| match e {
        ScanError::Invalid(e) => e,
        ScanError::Io(e) => SourceError::Unreadable(e.to_string()),
    };
    let plan = scan_source(bytes, path_tp, DEFAULT_MAX_SOURCE_BATCH_BYTES).map_err(unreadable)?;
    let groups = plan
        .partitions
        .iter()
        .map(|p| p.read_all(bytes))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    Ok((plan.format, groups))
}

/// The longest batch [`read_source`] accepts (a Chronik frame may be twice as long).
pub const DEFAULT_MAX_SOURCE_BATCH_BYTES: usize = 128 << 20;

/// Validates the source in `src` and plans where its batches lie, holding one batch or frame in
/// memory at a time (see [`read_source`] for `path_tp`). A Kafka `.log` batch longer than
/// `max_batch_bytes`, or a Chronik frame longer than twice that, is rejected unread; a tier WAL
/// batch over it after its frame (at most the format's 256 MiB) is read.
pub fn scan_source(
    src: &(impl ReadAt + ?Sized),
    path_tp: Option<&TopicPartition>,
    max_batch_bytes: usize,
) -> Result<SourcePlan, ScanError> {
    let magic = src.read_up_to(0, 8)?;
    let (format, partitions) = if crate::wal::is_wal(&magic) {
        (SourceFormat::Wal, wal::scan(src, max_batch_bytes)?)
    } else if crate::chronik::is_chronik_wal(&magic) {
        let max_frame = max_batch_bytes.saturating_mul(2);
        let plan = chronik::scan(src, path_tp, max_frame)?;
        (SourceFormat::ChronikWal, plan.into_iter().collect())
    } else {
        let tp = path_tp.ok_or(SourceError::MissingTopicPartition)?;
        let plan = kafka_log::scan(src, tp, max_batch_bytes)?;
        (SourceFormat::KafkaLog, vec![plan])
    };
    if partitions.iter().all(|p| p.batches.is_empty()) {
        return Err(SourceError::Empty.into());
    }
    Ok(SourcePlan { format, partitions })
}

/// The partition a source's path names (`/`-separated; a file path or an object key): the Chronik
/// layout `<topic>/<partition>/wal_<partition>_<n>.log`, else a `<topic>-<partition>/` parent
/// directory as Apache Kafka names its log directories.
pub fn path_partition(path: &str) -> Option<TopicPartition> {
    if let Some(segment) = crate::chronik::SegmentPath::parse(path) {
        return Some(segment.tp);
    }
    let mut parts = path.rsplit('/');
    let _file = parts.next()?;
    TopicPartition::from_log_dir_name(parts.next()?).ok()
}

#[cfg(test)]
mod tests;
