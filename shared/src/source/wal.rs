//! Scanning a sealed tier WAL segment: frames of several partitions, each checked against the
//! batch it wraps.

use super::scan::{BatchAt, PartitionPlan, ScanError};
use super::{ReadAt, SourceError};
use crate::kafka::{BatchHeader, KafkaError, RawBatch};
use crate::types::{Partition, Topic, TopicPartition};
use crate::wal::CanonicalRecord;

/// The partition plans of the WAL segment in `src`, in order of first appearance. A batch longer
/// than `max_batch_bytes` is refused (its frame, at most the format's 256 MiB, is read first).
pub(super) fn scan(
    src: &(impl ReadAt + ?Sized),
    max_batch_bytes: usize,
) -> Result<Vec<PartitionPlan>, ScanError> {
    let mut plans: Vec<PartitionPlan> = Vec::new();
    crate::wal::scan::<ScanError>(src, |index, record, position| {
        let tp = TopicPartition::new(
            Topic::try_from(record.topic.clone()).map_err(SourceError::from)?,
            Partition::try_from(i64::from(record.partition)).map_err(SourceError::from)?,
        );
        let invalid = |source| SourceError::Batch {
            index,
            position: 0,
            source,
        };
        if record.batch.len() > max_batch_bytes {
            return Err(SourceError::BatchTooLarge {
                index,
                position: usize::try_from(position).unwrap_or(usize::MAX),
                len: record.batch.len() as u64,
                limit: max_batch_bytes,
            }
            .into());
        }
        let batch = RawBatch::parse(&record.batch)
            .and_then(|b| b.verify_crc().map(|()| b))
            .map_err(invalid)?;
        if batch.bytes().len() != record.batch.len() {
            return Err(invalid(KafkaError::InvalidLength(record.batch.len() as i32)).into());
        }
        check_metadata(index, &record, batch.header())?;
        let at = BatchAt {
            base_offset: batch.header().base_offset,
            last_offset: batch.header().last_offset(),
            position,
            len: u32::try_from(record.batch.len()).unwrap_or(u32::MAX),
        };
        match plans.iter_mut().find(|p| p.tp == tp) {
            Some(plan) => plan.push(at)?,
            None => {
                let mut plan = PartitionPlan::new(tp);
                plan.push(at)?;
                plans.push(plan);
            }
        }
        Ok(())
    })?;
    Ok(plans)
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
