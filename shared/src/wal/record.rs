use bincode::{Decode, Encode};

/// One Kafka batch as the broker logged it (frame payload version 1).
///
/// `batch` holds the batch's original wire bytes; the other fields repeat facts from the batch header
/// so readers can route and plan without decoding it. The indexer checks that they agree.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CanonicalRecord {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: u32,
    /// Offset of the batch's first record.
    pub base_offset: i64,
    /// Offset of the batch's last record.
    pub last_offset: i64,
    /// Number of records in the batch.
    pub record_count: u32,
    /// Smallest record timestamp (ms).
    pub min_timestamp: i64,
    /// Largest record timestamp (ms).
    pub max_timestamp: i64,
    /// Producer id, -1 if none.
    pub producer_id: i64,
    /// Producer epoch, -1 if none.
    pub producer_epoch: i16,
    /// Sequence number of the first record, -1 if none.
    pub base_sequence: i32,
    /// The batch's attributes field (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// The batch exactly as the producer sent it (Kafka RecordBatch v2 wire bytes).
    pub batch: Vec<u8>,
}

/// Per-partition summary in the seal footer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PartitionSeal {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: u32,
    /// Base offset of the partition's first frame in this segment.
    pub first_offset: i64,
    /// Last offset of the partition's last frame in this segment.
    pub last_offset: i64,
    /// Frames of this partition.
    pub batch_count: u64,
    /// Records of this partition.
    pub record_count: u64,
}

/// The seal footer (payload version 1): what the frames must add up to.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SealFooter {
    /// Number of frames.
    pub frame_count: u64,
    /// CRC-32C over every frame byte (prefixes and payloads), from the end of the header to the footer.
    pub frames_crc: u32,
    /// One entry per topic-partition, in order of first appearance.
    pub partitions: Vec<PartitionSeal>,
}

impl CanonicalRecord {
    /// Wraps one Kafka batch of `tp`, taking the metadata from its header and records. The batch
    /// bytes are copied unchanged.
    pub fn from_batch(
        tp: &crate::types::TopicPartition,
        bytes: &[u8],
    ) -> Result<CanonicalRecord, crate::kafka::KafkaError> {
        let batch = crate::kafka::RawBatch::parse(bytes)?;
        batch.verify_crc()?;
        let h = batch.header();
        let min_timestamp = batch
            .records()?
            .iter()
            .map(|r| r.timestamp)
            .min()
            .unwrap_or(h.base_timestamp);
        Ok(CanonicalRecord {
            topic: tp.topic.to_string(),
            partition: tp.partition.get(),
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            record_count: u32::try_from(h.records_count).unwrap_or_default(),
            min_timestamp,
            max_timestamp: h.max_timestamp,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            attributes: h.attributes,
            batch: bytes.to_vec(),
        })
    }
}
