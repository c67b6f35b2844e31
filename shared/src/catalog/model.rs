use serde::{Deserialize, Serialize};

use crate::txn::TxnFacts;
use crate::types::{ObjectKey, Offset, SegmentId, TopicPartition};

/// One archived segment of a topic-partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Content-derived id.
    pub id: SegmentId,
    /// The partition.
    pub tp: TopicPartition,
    /// Base offset of the first batch.
    pub base_offset: Offset,
    /// Last offset of the last batch.
    pub last_offset: Offset,
    /// Records in the segment.
    pub record_count: u64,
    /// Batches in the segment.
    pub batch_count: u64,
    /// Smallest record timestamp (ms).
    pub min_timestamp: i64,
    /// Largest record timestamp (ms).
    pub max_timestamp: i64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// Where the archive is.
    pub archive_key: ObjectKey,
    /// Archive size in bytes.
    pub archive_size: u64,
    /// The archive's encoded table of contents (`docs/FORMATS.md`, "Archive TOC").
    #[serde(with = "serde_bytes_compat")]
    pub toc: Vec<u8>,
    /// The source object this segment came from.
    pub source: String,
    /// When it was registered (ms since the epoch).
    pub created_at_ms: i64,
    /// Its transaction facts (`docs/FORMATS.md`, "Transaction facts"); empty without
    /// transactional batches.
    #[serde(default)]
    pub txns: TxnFacts,
}

impl SegmentEntry {
    /// Whether `self` and `other` share any offset.
    pub fn overlaps(&self, other: &SegmentEntry) -> bool {
        self.base_offset <= other.last_offset && other.base_offset <= self.last_offset
    }
}

/// Serialises `Vec<u8>` as bytes (not a sequence of numbers) in self-describing formats.
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Vec::<u8>::deserialize(d)
    }
}

/// Summary of a partition, derived from its segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionInfo {
    /// The partition.
    pub tp: TopicPartition,
    /// Increases with every change to the partition's segments.
    pub version: u64,
    /// First tiered offset.
    pub earliest: Offset,
    /// Last tiered offset.
    pub latest: Offset,
    /// Number of segments.
    pub segment_count: u64,
    /// Records across segments.
    pub record_count: u64,
    /// Bytes of original batches across segments.
    pub data_bytes: u64,
    /// Archive bytes across segments.
    pub archive_bytes: u64,
    /// Smallest timestamp across segments.
    pub min_timestamp: i64,
    /// Largest timestamp across segments.
    pub max_timestamp: i64,
}

impl PartitionInfo {
    /// Summarises `segments` (in offset order); `None` when there are none.
    pub fn summarize<'a>(
        tp: &TopicPartition,
        version: u64,
        segments: impl IntoIterator<Item = &'a SegmentEntry>,
    ) -> Option<PartitionInfo> {
        let mut info: Option<PartitionInfo> = None;
        for s in segments {
            let i = info.get_or_insert_with(|| PartitionInfo {
                tp: tp.clone(),
                version,
                earliest: s.base_offset,
                latest: s.last_offset,
                segment_count: 0,
                record_count: 0,
                data_bytes: 0,
                archive_bytes: 0,
                min_timestamp: s.min_timestamp,
                max_timestamp: s.max_timestamp,
            });
            i.earliest = i.earliest.min(s.base_offset);
            i.latest = i.latest.max(s.last_offset);
            i.segment_count += 1;
            i.record_count += s.record_count;
            i.data_bytes += s.data_bytes;
            i.archive_bytes += s.archive_size;
            i.min_timestamp = i.min_timestamp.min(s.min_timestamp);
            i.max_timestamp = i.max_timestamp.max(s.max_timestamp);
        }
        info
    }
}

/// What happened to a source object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IngestStatus {
    /// Indexed; its segments are registered.
    Indexed,
    /// Rejected as corrupt or unsealed and copied aside.
    Quarantined {
        /// Why it was rejected.
        reason: String,
        /// Where the copy is.
        copy: String,
    },
}

/// The ledger entry of one source object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestRecord {
    /// Identifies the source (e.g. content checksum, or bucket/key/etag).
    pub source: String,
    /// Outcome.
    pub status: IngestStatus,
    /// Segments it produced.
    pub segments: Vec<SegmentId>,
    /// When it was recorded (ms since the epoch).
    pub at_ms: i64,
}

/// An archive whose segments were swapped out: still readable by whoever looked up the old catalog
/// entry, deletable once a grace period after `retired_at_ms` has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredArchive {
    /// The archive.
    pub key: ObjectKey,
    /// When it was retired (ms since the epoch).
    pub retired_at_ms: i64,
}

/// What [`super::Catalog::register`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisterOutcome {
    /// Number of segments newly committed.
    pub added: usize,
    /// Segments skipped because one with the same id was already committed (the committed entry,
    /// with its own archive, stays in force).
    pub already_present: Vec<SegmentId>,
}

/// The offset a consumer group committed for one partition (Kafka's OffsetCommit): where the
/// group's consumers continue reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// The partition.
    pub tp: TopicPartition,
    /// The next offset to read.
    pub offset: i64,
    /// The client's metadata string, if it sent one.
    pub metadata: Option<String>,
    /// When it was committed (ms since the epoch).
    pub committed_at_ms: i64,
}
