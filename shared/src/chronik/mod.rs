//! The data write-ahead log of a Chronik broker (chronik-stream v2.2.0 and later), as an input:
//! one segment file `<data_dir>/wal/<topic>/<partition>/wal_<partition>_<segment>.log` holds
//! `WalRecord` V2 frames back to back (`frame.rs`), each wrapping a bincode `CanonicalRecord`
//! (`canonical.rs`) whose `original_v2_wire_format` is the producer's batch with only its base
//! offset patched — the bytes fetch serves. `docs/FORMATS.md`, "Chronik WAL segment", specifies
//! what is read and why; `path.rs` knows the directory layout and what "sealed" means.
//!
//! [`read_segment`] validates every frame or rejects the whole segment: bounds, magic, version,
//! flags, CRC-32 (either rule brokers used), the payload's structure, the trailer and the
//! `CanonicalRecord` against the batch header, the batch's CRC-32C. It orders batches by offset
//! (brokers may write them out of order), keeps offset gaps, skips zero-record frames and
//! identical repeated frames, and rejects two different frames over the same offsets.

mod canonical;
mod error;
mod frame;
mod path;

pub use canonical::{
    CanonicalEntry, CanonicalError, CanonicalRecord, CompressionType, EntryHeader,
    MAX_CANONICAL_BYTES, TimestampType,
};
pub use error::ChronikWalError;
pub use frame::{
    CrcRule, FRAME_MAGIC, FRAME_VERSION, Frame, HEADER_LEN, LENGTH_FIELD, TRAILER_LEN,
    encode_frame, frame_crc, parse_frame, parse_frame_bytes,
};
pub use path::{SegmentPath, is_data_topic_dir};

use crate::kafka::{KafkaError, RawBatch};
use crate::types::{Partition, Topic, TopicPartition};

/// Whether `bytes` start like a Chronik WAL segment (a V1 or V2 frame's magic and version).
pub fn is_chronik_wal(bytes: &[u8]) -> bool {
    bytes.len() >= 3 && bytes[..2] == FRAME_MAGIC.to_le_bytes() && matches!(bytes[2], 1 | 2)
}

/// One stored batch of a segment.
#[derive(Debug, Clone, Copy)]
pub struct StoredBatch<'a> {
    /// Byte offset of its frame in the segment.
    pub frame_position: usize,
    /// The batch, exactly as stored.
    pub batch: RawBatch<'a>,
}

/// A validated segment: one partition's batches in offset order.
#[derive(Debug, Clone)]
pub struct ChronikSegment<'a> {
    /// The partition the frames name (`None` for a segment without data frames).
    pub tp: Option<TopicPartition>,
    /// Its batches, offsets strictly increasing (gaps possible).
    pub batches: Vec<StoredBatch<'a>>,
    /// Frames read.
    pub frames: usize,
    /// Zero-record frames skipped.
    pub empty_frames: usize,
    /// Identical repeated frames skipped.
    pub duplicate_frames: usize,
    /// Frames written under the CRC rule of brokers before v2.4.0.
    pub legacy_crc_frames: usize,
}

/// Reads and validates a whole segment (see the module docs); an empty file is a valid segment
/// without batches.
pub fn read_segment(bytes: &[u8]) -> Result<ChronikSegment<'_>, ChronikWalError> {
    let mut segment = ChronikSegment {
        tp: None,
        batches: Vec::new(),
        frames: 0,
        empty_frames: 0,
        duplicate_frames: 0,
        legacy_crc_frames: 0,
    };
    let mut position = 0;
    while position < bytes.len() {
        let frame = parse_frame(bytes, position)?;
        position += frame.len;
        segment.frames += 1;
        if frame.crc_rule == CrcRule::LengthAsZero {
            segment.legacy_crc_frames += 1;
        }
        let tp = frame_partition(&frame)?;
        match &segment.tp {
            Some(expected) if *expected != tp => {
                return Err(ChronikWalError::MixedPartitions {
                    position: frame.position,
                    expected: expected.clone(),
                    found: tp,
                });
            }
            Some(_) => {}
            None => segment.tp = Some(tp),
        }
        match stored_batch(&frame)? {
            Some(batch) => segment.batches.push(batch),
            None => segment.empty_frames += 1,
        }
    }
    if let Some(tp) = &segment.tp {
        segment.duplicate_frames = order(tp, &mut segment.batches)?;
    }
    Ok(segment)
}

pub(crate) fn frame_partition(frame: &Frame<'_>) -> Result<TopicPartition, ChronikWalError> {
    let name = |e: crate::types::InvalidValue| ChronikWalError::InvalidName {
        position: frame.position,
        reason: e.to_string(),
    };
    Ok(TopicPartition::new(
        Topic::try_from(frame.topic.to_owned()).map_err(name)?,
        Partition::try_from(i64::from(frame.partition)).map_err(name)?,
    ))
}

/// The batch of a data frame, checked against its trailer and `CanonicalRecord`; `None` for a
/// zero-record frame (an empty produce, which consumed no offset).
pub(crate) fn stored_batch<'a>(
    frame: &Frame<'a>,
) -> Result<Option<StoredBatch<'a>>, ChronikWalError> {
    let position = frame.position;
    let record = CanonicalRecord::decode(frame.canonical_data)
        .map_err(|source| ChronikWalError::Payload { position, source })?;
    let original = match &record.original_v2_wire_format {
        Some(bytes) => bytes.len(),
        None if record.original_v1_wire_format.is_some() => {
            return Err(ChronikWalError::NoOriginalBatch {
                position,
                reason: "a v0/v1 MessageSet converted by the broker",
            });
        }
        None => {
            return Err(ChronikWalError::NoOriginalBatch {
                position,
                reason: "no batch bytes at all",
            });
        }
    };
    if frame.record_count == 0 && record.records.is_empty() && original == 0 {
        return Ok(None);
    }
    // The original batch is the payload's last field: borrow it from the segment.
    let bytes = &frame.canonical_data[frame.canonical_data.len() - original..];
    let batch_error = |source| ChronikWalError::Batch { position, source };
    let batch = RawBatch::parse(bytes).map_err(batch_error)?;
    if batch.bytes().len() != bytes.len() {
        return Err(batch_error(KafkaError::InvalidLength(
            i32::try_from(bytes.len()).unwrap_or(i32::MAX),
        )));
    }
    batch.verify_crc().map_err(batch_error)?;
    check_agreement(frame, &record, &batch)?;
    Ok(Some(StoredBatch {
        frame_position: position,
        batch,
    }))
}

/// The trailer and the `CanonicalRecord` must describe the batch they wrap.
fn check_agreement(
    frame: &Frame<'_>,
    r: &CanonicalRecord,
    batch: &RawBatch<'_>,
) -> Result<(), ChronikWalError> {
    let h = batch.header();
    let codec = i64::from(h.attributes & 0x07);
    let codec = if codec > 4 { 0 } else { codec };
    let log_append = r.timestamp_type == TimestampType::LogAppendTime;
    let checks: [(&'static str, &'static str, i64, i64); 15] = [
        ("trailer", "base_offset", frame.base_offset, h.base_offset),
        ("trailer", "last_offset", frame.last_offset, h.last_offset()),
        (
            "trailer",
            "record_count",
            frame.record_count.into(),
            h.records_count.into(),
        ),
        ("record", "base_offset", r.base_offset, h.base_offset),
        (
            "record",
            "record count",
            r.records.len() as i64,
            h.records_count.into(),
        ),
        (
            "record",
            "partition_leader_epoch",
            r.partition_leader_epoch.into(),
            h.partition_leader_epoch.into(),
        ),
        ("record", "producer_id", r.producer_id, h.producer_id),
        (
            "record",
            "producer_epoch",
            r.producer_epoch.into(),
            h.producer_epoch.into(),
        ),
        (
            "record",
            "base_sequence",
            r.base_sequence.into(),
            h.base_sequence.into(),
        ),
        (
            "record",
            "is_transactional",
            r.is_transactional.into(),
            h.is_transactional().into(),
        ),
        (
            "record",
            "is_control",
            r.is_control.into(),
            h.is_control().into(),
        ),
        ("record", "compression", r.compression as i64, codec),
        (
            "record",
            "base_timestamp",
            r.base_timestamp,
            h.base_timestamp,
        ),
        ("record", "max_timestamp", r.max_timestamp, h.max_timestamp),
        (
            "record",
            "timestamp_type (1: log-append time)",
            log_append.into(),
            h.has_log_append_time().into(),
        ),
    ];
    if let Some((what, field, found, expected)) = checks.into_iter().find(|(_, _, a, b)| a != b) {
        return Err(ChronikWalError::Mismatch {
            position: frame.position,
            what,
            field,
            found,
            batch: expected,
        });
    }
    // Entry offsets increase within the batch's range; the first that does not is named.
    let mut previous = h.base_offset - 1;
    for e in &r.records {
        if e.offset <= previous || e.offset > h.last_offset() {
            return Err(ChronikWalError::Mismatch {
                position: frame.position,
                what: "record",
                field: "entry offset",
                found: e.offset,
                batch: previous + 1,
            });
        }
        previous = e.offset;
    }
    Ok(())
}

/// Sorts the batches of `tp` by offset; drops a batch repeated byte for byte (returns how many),
/// rejects overlapping different ones.
fn order(
    tp: &TopicPartition,
    batches: &mut Vec<StoredBatch<'_>>,
) -> Result<usize, ChronikWalError> {
    batches.sort_by_key(|b| (b.batch.header().base_offset, b.frame_position));
    let mut duplicates = 0;
    let mut kept: Vec<StoredBatch<'_>> = Vec::with_capacity(batches.len());
    for b in batches.drain(..) {
        if let Some(prev) = kept.last() {
            let (p, h) = (prev.batch.header(), b.batch.header());
            if h.base_offset <= p.last_offset() {
                if prev.batch.bytes() == b.batch.bytes() {
                    duplicates += 1;
                    continue;
                }
                return Err(ChronikWalError::ConflictingFrames {
                    tp: tp.clone(),
                    offset: h.base_offset,
                    first: prev.frame_position,
                    second: b.frame_position,
                });
            }
        }
        kept.push(b);
    }
    *batches = kept;
    Ok(duplicates)
}

/// The V2 frame a broker writes for `record` of `tp` (trailer from the record's offsets).
pub fn encode_data_frame(tp: &TopicPartition, record: &CanonicalRecord, rule: CrcRule) -> Vec<u8> {
    let count = i32::try_from(record.records.len()).unwrap_or(i32::MAX);
    let trailer = (
        record.base_offset,
        record.base_offset + i64::from(count) - 1,
        count,
    );
    encode_frame(
        tp.topic.as_str(),
        i32::try_from(tp.partition.get()).unwrap_or(i32::MAX),
        &record.encode(),
        trailer,
        rule,
    )
}

#[cfg(test)]
mod tests;
