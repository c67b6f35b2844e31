//! What callers are shown of the catalog: one serialisable summary per concept — segment,
//! partition, topic — used alike by `tierctl --json`, the fetch API (`docs/openapi.yaml`,
//! `PartitionSummary` and `TopicSummary`) and indexing reports.

use serde::{Deserialize, Serialize};

use crate::catalog::{PartitionInfo, SegmentEntry};

/// One archived segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Segment id.
    pub segment_id: String,
    /// First offset.
    pub base_offset: i64,
    /// Last offset.
    pub last_offset: i64,
    /// Records.
    pub records: u64,
    /// Batches.
    pub batches: u64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// Bytes of the archive.
    pub archive_bytes: u64,
    /// The archive's key.
    pub archive_key: String,
}

impl From<&SegmentEntry> for SegmentSummary {
    fn from(s: &SegmentEntry) -> Self {
        SegmentSummary {
            topic: s.tp.topic.to_string(),
            partition: s.tp.partition.get(),
            segment_id: s.id.to_string(),
            base_offset: s.base_offset.get(),
            last_offset: s.last_offset.get(),
            records: s.record_count,
            batches: s.batch_count,
            data_bytes: s.data_bytes,
            archive_bytes: s.archive_size,
            archive_key: s.archive_key.to_string(),
        }
    }
}

/// One tiered partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSummary {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// First tiered offset.
    pub earliest: i64,
    /// Last tiered offset.
    pub latest: i64,
    /// The offset after the last tiered record (Kafka's log end offset).
    pub log_end_offset: i64,
    /// Segments.
    pub segment_count: u64,
    /// Records across segments.
    pub record_count: u64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// Bytes of archives.
    pub archive_bytes: u64,
    /// Smallest record timestamp (ms).
    pub min_timestamp: i64,
    /// Largest record timestamp (ms).
    pub max_timestamp: i64,
    /// The segments in offset order, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<SegmentSummary>>,
}

impl From<&PartitionInfo> for PartitionSummary {
    fn from(p: &PartitionInfo) -> Self {
        PartitionSummary {
            topic: p.tp.topic.to_string(),
            partition: p.tp.partition.get(),
            earliest: p.earliest.get(),
            latest: p.latest.get(),
            log_end_offset: p.latest.get() + 1,
            segment_count: p.segment_count,
            record_count: p.record_count,
            data_bytes: p.data_bytes,
            archive_bytes: p.archive_bytes,
            min_timestamp: p.min_timestamp,
            max_timestamp: p.max_timestamp,
            segments: None,
        }
    }
}

impl PartitionSummary {
    /// The summary of `info` listing `segments` (its segments, in offset order).
    pub fn with_segments(info: &PartitionInfo, segments: &[SegmentEntry]) -> Self {
        PartitionSummary {
            segments: Some(segments.iter().map(SegmentSummary::from).collect()),
            ..PartitionSummary::from(info)
        }
    }
}

/// One topic with tiered data: totals over its partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSummary {
    /// Topic.
    pub topic: String,
    /// Partitions with tiered data.
    pub partition_count: usize,
    /// Segments across partitions.
    pub segment_count: u64,
    /// Records across partitions.
    pub record_count: u64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// Bytes of archives.
    pub archive_bytes: u64,
    /// The partitions in order.
    pub partitions: Vec<PartitionSummary>,
}

impl TopicSummary {
    /// One summary per topic of `partitions`, which must be sorted by topic (as
    /// [`crate::catalog::Catalog::partitions`] returns them).
    pub fn group(partitions: Vec<PartitionSummary>) -> Vec<TopicSummary> {
        let mut topics: Vec<TopicSummary> = Vec::new();
        for p in partitions {
            match topics.last_mut() {
                Some(t) if t.topic == p.topic => t.add(p),
                _ => {
                    let mut t = TopicSummary {
                        topic: p.topic.clone(),
                        partition_count: 0,
                        segment_count: 0,
                        record_count: 0,
                        data_bytes: 0,
                        archive_bytes: 0,
                        partitions: Vec::new(),
                    };
                    t.add(p);
                    topics.push(t);
                }
            }
        }
        topics
    }

    fn add(&mut self, p: PartitionSummary) {
        self.partition_count += 1;
        self.segment_count += p.segment_count;
        self.record_count += p.record_count;
        self.data_bytes += p.data_bytes;
        self.archive_bytes += p.archive_bytes;
        self.partitions.push(p);
    }
}
