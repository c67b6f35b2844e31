//! What a source object holds: a segment of a Chronik broker's WAL, a sealed tier WAL segment, or a
//! plain Apache Kafka `.log` segment (told apart by content), read into validated per-partition
//! batch lists.
//!
//! Validation is all-or-nothing: every batch's CRC is checked, WAL metadata must agree with the batch
//! header it describes, offsets must increase within a partition. Any failure rejects the whole source.

use serde::Serialize;

use crate::chronik::ChronikWalError;
use crate::kafka::{self, BatchHeader, KafkaError, RawBatch};
use crate::types::{InvalidValue, Partition, Topic, TopicPartition};
use crate::wal::{CanonicalRecord, WalError, WalSegment};

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
    /// Neither a WAL segment nor a Kafka v2 log.
    #[error("unrecognised source format: {0}")]
    UnknownFormat(String),
}

/// Reads a source. `path_tp` is the partition its path names (`--topic/--partition`, a
/// `<topic>-<partition>/` directory, or the Chronik layout `<topic>/<partition>/wal_<p>_<n>.log`):
/// a Kafka `.log` file needs it, a Chronik WAL segment must agree with it, and a tier WAL segment,
/// which names several partitions, ignores it.
pub fn read_source(
    bytes: &[u8],
    path_tp: Option<&TopicPartition>,
) -> Result<(SourceFormat, Vec<PartitionBatches>), SourceError> {
    let groups = if crate::wal::is_wal(bytes) {
        (SourceFormat::Wal, read_wal(bytes)?)
    } else if crate::chronik::is_chronik_wal(bytes) {
        (SourceFormat::ChronikWal, read_chronik_wal(bytes, path_tp)?)
    } else {
        let tp = path_tp.ok_or(SourceError::MissingTopicPartition)?;
        (SourceFormat::KafkaLog, vec![read_kafka_log(bytes, tp)?])
    };
    if groups.1.iter().all(|g| g.batches.is_empty()) {
        return Err(SourceError::Empty);
    }
    Ok(groups)
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

fn read_kafka_log(bytes: &[u8], tp: &TopicPartition) -> Result<PartitionBatches, SourceError> {
    if bytes.is_empty() {
        return Err(SourceError::Empty);
    }
    let mut group = PartitionBatches {
        tp: tp.clone(),
        batches: Vec::new(),
    };
    let mut position = 0;
    for (index, batch) in kafka::batches(bytes).enumerate() {
        let batch = batch.map_err(|e| match e {
            // The batch iterator wraps errors with their position: look through it.
            e if index == 0 && matches!(e.root(), KafkaError::UnsupportedMagic(_)) => {
                SourceError::UnknownFormat(format!(
                    "neither a WAL segment (tier or Chronik) nor a Kafka v2 log ({})",
                    e.root()
                ))
            }
            source => SourceError::Batch {
                index,
                position,
                source,
            },
        })?;
        batch.verify_crc().map_err(|source| SourceError::Batch {
            index,
            position,
            source,
        })?;
        position += batch.bytes().len();
        push(&mut group, batch)?;
    }
    Ok(group)
}

fn read_chronik_wal(
    bytes: &[u8],
    path_tp: Option<&TopicPartition>,
) -> Result<Vec<PartitionBatches>, SourceError> {
    let segment = crate::chronik::read_segment(bytes)?;
    let Some(tp) = segment.tp else {
        return Ok(Vec::new());
    };
    if let Some(path) = path_tp.filter(|p| **p != tp) {
        return Err(ChronikWalError::PathMismatch {
            path: path.clone(),
            frames: tp,
        }
        .into());
    }
    let mut group = PartitionBatches {
        tp,
        batches: Vec::with_capacity(segment.batches.len()),
    };
    for stored in segment.batches {
        push(&mut group, stored.batch)?;
    }
    Ok(vec![group])
}

fn read_wal(bytes: &[u8]) -> Result<Vec<PartitionBatches>, SourceError> {
    let segment = WalSegment::parse(bytes)?;
    let mut groups: Vec<PartitionBatches> = Vec::new();
    for (index, record) in segment.records.iter().enumerate() {
        let tp = TopicPartition::new(
            Topic::try_from(record.topic.clone())?,
            Partition::try_from(i64::from(record.partition))?,
        );
        let batch = RawBatch::parse(&record.batch)
            .and_then(|b| b.verify_crc().map(|()| b))
            .map_err(|source| SourceError::Batch {
                index,
                position: 0,
                source,
            })?;
        if batch.bytes().len() != record.batch.len() {
            return Err(SourceError::Batch {
                index,
                position: 0,
                source: KafkaError::InvalidLength(record.batch.len() as i32),
            });
        }
        check_metadata(index, record, batch.header())?;
        let group = match groups.iter_mut().position(|g| g.tp == tp) {
            Some(i) => &mut groups[i],
            None => {
                groups.push(PartitionBatches {
                    tp,
                    batches: Vec::new(),
                });
                groups.last_mut().ok_or(SourceError::Empty)?
            }
        };
        push(group, batch)?;
    }
    Ok(groups)
}

fn check_metadata(index: usize, r: &CanonicalRecord, h: &BatchHeader) -> Result<(), SourceError> {
    let pairs: [(&'static str, i64, i64); 7] = [
        ("base_offset", r.base_offset, h.base_offset),
        ("last_offset", r.last_offset, h.last_offset()),
        (
            "record_count",
            r.record_count.into(),
            h.records_count.into(),
        ),
        ("producer_id", r.producer_id, h.producer_id),
        (
            "producer_epoch",
            r.producer_epoch.into(),
            h.producer_epoch.into(),
        ),
        (
            "base_sequence",
            r.base_sequence.into(),
            h.base_sequence.into(),
        ),
        ("attributes", r.attributes.into(), h.attributes.into()),
    ];
    match pairs.into_iter().find(|(_, m, b)| m != b) {
        Some((field, metadata, batch)) => Err(SourceError::MetadataMismatch {
            index,
            field,
            metadata,
            batch,
        }),
        None => Ok(()),
    }
}

fn push(group: &mut PartitionBatches, batch: RawBatch<'_>) -> Result<(), SourceError> {
    let header = *batch.header();
    if let Some(prev) = group.batches.last() {
        let previous = prev.header.last_offset();
        if header.base_offset <= previous {
            return Err(SourceError::OffsetsNotIncreasing {
                tp: group.tp.clone(),
                base: header.base_offset,
                previous,
            });
        }
    }
    if header.base_offset < 0 || header.last_offset() < header.base_offset {
        return Err(SourceError::Batch {
            index: group.batches.len(),
            position: 0,
            source: KafkaError::MalformedRecord(format!(
                "offsets {}..={} are not a valid range",
                header.base_offset,
                header.last_offset()
            )),
        });
    }
    group.batches.push(SourceBatch {
        header,
        bytes: batch.bytes().to_vec(),
    });
    Ok(())
}
