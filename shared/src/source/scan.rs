//! The plan of a source: where each validated batch lies, per partition in offset order. A source
//! of any size is scanned a frame at a time; only the plan (a few dozen bytes per batch) is kept,
//! and the batches are read back from the source when archives are built.

use super::{PartitionBatches, SourceBatch, SourceError, SourceFormat};
use crate::kafka::{KafkaError, RawBatch};
use crate::source::ReadAt;
use crate::types::TopicPartition;

/// Where one validated batch lies in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchAt {
    /// Its first offset.
    pub base_offset: i64,
    /// Its last offset.
    pub last_offset: i64,
    /// Byte position of its first byte in the source.
    pub position: u64,
    /// Its length in bytes.
    pub len: u32,
}

/// The batches of one partition in a source, offsets strictly increasing.
#[derive(Debug, Clone)]
pub struct PartitionPlan {
    /// The partition.
    pub tp: TopicPartition,
    /// Its batches, in offset order.
    pub batches: Vec<BatchAt>,
}

/// A validated source: its format and, per partition, where its batches lie.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    /// The format the content was recognised as.
    pub format: SourceFormat,
    /// One plan per partition, in order of first appearance.
    pub partitions: Vec<PartitionPlan>,
}

/// Why a source could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The content is invalid: permanent.
    #[error(transparent)]
    Invalid(#[from] SourceError),
    /// The source could not be read (a local file's I/O error): not the content's fault.
    #[error("cannot read the source: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::wal::WalError> for ScanError {
    fn from(e: crate::wal::WalError) -> Self {
        ScanError::Invalid(e.into())
    }
}

impl From<crate::chronik::ChronikWalError> for ScanError {
    fn from(e: crate::chronik::ChronikWalError) -> Self {
        ScanError::Invalid(e.into())
    }
}

impl PartitionPlan {
    pub(super) fn new(tp: TopicPartition) -> Self {
        PartitionPlan {
            tp,
            batches: Vec::new(),
        }
    }

    /// Appends `batch`, which must follow the last one.
    pub(super) fn push(&mut self, batch: BatchAt) -> Result<(), SourceError> {
        if let Some(prev) = self.batches.last()
            && batch.base_offset <= prev.last_offset
        {
            return Err(SourceError::OffsetsNotIncreasing {
                tp: self.tp.clone(),
                base: batch.base_offset,
                previous: prev.last_offset,
            });
        }
        if batch.base_offset < 0 || batch.last_offset < batch.base_offset {
            return Err(SourceError::Batch {
                index: self.batches.len(),
                position: usize::try_from(batch.position).unwrap_or(usize::MAX),
                source: KafkaError::MalformedRecord(format!(
                    "offsets {}..={} are not a valid range",
                    batch.base_offset, batch.last_offset
                )),
            });
        }
        self.batches.push(batch);
        Ok(())
    }

    /// The batch bytes of this partition, `batches` of them from number `first` on, read from
    /// `src` (the source it was planned on) and parsed again.
    pub fn read(
        &self,
        src: &(impl ReadAt + ?Sized),
        first: usize,
        batches: usize,
    ) -> Result<Vec<SourceBatch>, ScanError> {
        let end = first.saturating_add(batches).min(self.batches.len());
        self.batches
            .get(first..end)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, at)| read_batch(src, at, first + i))
            .collect()
    }

    /// All its batches, read from `src`.
    pub fn read_all(&self, src: &(impl ReadAt + ?Sized)) -> Result<PartitionBatches, ScanError> {
        Ok(PartitionBatches {
            tp: self.tp.clone(),
            batches: self.read(src, 0, self.batches.len())?,
        })
    }
}

/// The batch `at` (number `index` of its partition) read from `src`, its header parsed and its
/// CRC checked again (a local file may have changed since it was scanned).
fn read_batch(
    src: &(impl ReadAt + ?Sized),
    at: &BatchAt,
    index: usize,
) -> Result<SourceBatch, ScanError> {
    let bytes = src.read_vec(at.position, at.len as usize)?;
    let invalid = |source| SourceError::Batch {
        index,
        position: usize::try_from(at.position).unwrap_or(usize::MAX),
        source,
    };
    let batch = RawBatch::parse(&bytes).map_err(invalid)?;
    batch.verify_crc().map_err(invalid)?;
    let header = *batch.header();
    if header.base_offset != at.base_offset || batch.bytes().len() != bytes.len() {
        return Err(ScanError::Io(std::io::Error::other(format!(
            "the source changed while it was read (the batch at byte {})",
            at.position
        ))));
    }
    Ok(SourceBatch { header, bytes })
}
