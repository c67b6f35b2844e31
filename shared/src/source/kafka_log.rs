//! Scanning an Apache Kafka `.log` segment: v2 batches back to back, one partition.

use super::scan::{BatchAt, PartitionPlan, ScanError};
use super::{ReadAt, SourceError};
use crate::kafka::{BatchHeader, KafkaError, RawBatch};
use crate::types::TopicPartition;

/// Validates every batch of the `.log` segment in `src` (framing, CRC, increasing offsets), one
/// batch in memory at a time; a batch longer than `max_batch_bytes` is rejected unread.
pub(super) fn scan(
    src: &(impl ReadAt + ?Sized),
    tp: &TopicPartition,
    max_batch_bytes: usize,
) -> Result<PartitionPlan, ScanError> {
    let size = src.size();
    if size == 0 {
        return Err(SourceError::Empty.into());
    }
    let mut plan = PartitionPlan::new(tp.clone());
    let mut position: u64 = 0;
    let mut index = 0;
    while position < size {
        let at = usize::try_from(position).unwrap_or(usize::MAX);
        let invalid = |source| SourceError::Batch {
            index,
            position: at,
            source,
        };
        // Errors of framing carry the batch's position, as `kafka::batches` reports them.
        let framing = |source: KafkaError| {
            invalid(KafkaError::AtPosition {
                position: at,
                source: Box::new(source),
            })
        };
        let head = src.read_up_to(position, BatchHeader::SIZE)?;
        let header = match BatchHeader::read(&head) {
            Ok(header) => header,
            Err(e @ KafkaError::UnsupportedMagic(_)) if index == 0 => {
                return Err(SourceError::UnknownFormat(format!(
                    "neither a WAL segment (tier or Chronik) nor a Kafka v2 log ({e})"
                ))
                .into());
            }
            Err(e) => return Err(framing(e).into()),
        };
        let len = header.total_size();
        if len > max_batch_bytes {
            return Err(SourceError::BatchTooLarge {
                index,
                position: at,
                len: len as u64,
                limit: max_batch_bytes,
            }
            .into());
        }
        let bytes = src.read_up_to(position, len)?;
        let batch = RawBatch::parse(&bytes).map_err(framing)?;
        batch.verify_crc().map_err(invalid)?;
        plan.push(BatchAt {
            base_offset: header.base_offset,
            last_offset: header.last_offset(),
            position,
            len: u32::try_from(len).unwrap_or(u32::MAX),
        })?;
        position += len as u64;
        index += 1;
    }
    Ok(plan)
}
