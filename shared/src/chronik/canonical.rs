//! Chronik's `CanonicalRecord`, the payload of every data frame, in bincode 1's encoding
//! (little-endian, fixed-width integers, `u64` lengths, one tag byte per `Option`, `u32` enum
//! variant indexes) — bincode 2's `legacy` configuration. Field order is Chronik's declaration
//! order (`docs/FORMATS.md`, "Chronik WAL segment").

use bincode::{Decode, Encode};

/// The most a decoded `CanonicalRecord` may claim in memory, whatever its size on disk.
pub const MAX_CANONICAL_BYTES: usize = 1 << 30;

/// Decodes a `T` from the start of `data` in bincode 1's format, letting length prefixes claim at
/// most 8× `data.len()` bytes (rounded up to a tier, at most [`MAX_CANONICAL_BYTES`]): decoded
/// records take at most a few times their encoded size, so a damaged prefix cannot make the
/// decoder allocate more than a small multiple of the input.
fn decode_prefix<T: Decode<()>>(data: &[u8]) -> Result<(T, usize), bincode::error::DecodeError> {
    use bincode::config::legacy;
    match data.len() {
        n if n <= 1 << 17 => bincode::decode_from_slice(data, legacy().with_limit::<{ 1 << 20 }>()),
        n if n <= 1 << 21 => bincode::decode_from_slice(data, legacy().with_limit::<{ 1 << 24 }>()),
        n if n <= 1 << 24 => bincode::decode_from_slice(data, legacy().with_limit::<{ 1 << 27 }>()),
        _ => bincode::decode_from_slice(data, legacy().with_limit::<{ MAX_CANONICAL_BYTES }>()),
    }
}

/// Compression of the wrapped batch (its attribute bits 0..=2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum CompressionType {
    /// 0.
    None,
    /// 1.
    Gzip,
    /// 2.
    Snappy,
    /// 3.
    Lz4,
    /// 4.
    Zstd,
}

/// Timestamp type of the wrapped batch (its attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum TimestampType {
    /// 0.
    CreateTime,
    /// 1.
    LogAppendTime,
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct EntryHeader {
    /// Name.
    pub key: String,
    /// Value (`None`: null).
    pub value: Option<Vec<u8>>,
}

/// One decoded record of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CanonicalEntry {
    /// Absolute offset.
    pub offset: i64,
    /// Absolute timestamp (ms).
    pub timestamp: i64,
    /// Key (`None`: null).
    pub key: Option<Vec<u8>>,
    /// Value (`None`: null).
    pub value: Option<Vec<u8>>,
    /// Headers in wire order.
    pub headers: Vec<EntryHeader>,
    /// The record's attribute byte.
    pub attributes: i8,
}

/// What a Chronik broker (v2.2.0 and later) stores for one produced batch.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CanonicalRecord {
    /// The assigned base offset.
    pub base_offset: i64,
    /// The batch's partition leader epoch.
    pub partition_leader_epoch: i32,
    /// Producer id (-1: none).
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// Base sequence.
    pub base_sequence: i32,
    /// Attribute bit 4.
    pub is_transactional: bool,
    /// Attribute bit 5.
    pub is_control: bool,
    /// Attribute bits 0..=2.
    pub compression: CompressionType,
    /// Attribute bit 3.
    pub timestamp_type: TimestampType,
    /// The batch's base timestamp.
    pub base_timestamp: i64,
    /// The batch's max timestamp.
    pub max_timestamp: i64,
    /// The records, decoded.
    pub records: Vec<CanonicalEntry>,
    /// The batch's records section (bytes 61.. of the produce input).
    pub compressed_records_wire_bytes: Option<Vec<u8>>,
    /// A converted v0/v1 MessageSet's input, else `None`.
    pub original_v1_wire_format: Option<Vec<u8>>,
    /// The producer's v2 batch with its base offset patched: what fetch returns.
    pub original_v2_wire_format: Option<Vec<u8>>,
}

/// The fields a `CanonicalRecord` had before v2.2.0 (the first 12, then an optional
/// `compressed_records_wire_bytes` that was left out entirely when `None`).
#[derive(Debug, Decode)]
pub(super) struct CanonicalPrefix {
    _base_offset: i64,
    _partition_leader_epoch: i32,
    _producer_id: i64,
    _producer_epoch: i16,
    _base_sequence: i32,
    _is_transactional: bool,
    _is_control: bool,
    _compression: CompressionType,
    _timestamp_type: TimestampType,
    _base_timestamp: i64,
    _max_timestamp: i64,
    _records: Vec<CanonicalEntry>,
}

impl CanonicalRecord {
    /// Decodes `data`, which must hold exactly one record.
    pub fn decode(data: &[u8]) -> Result<CanonicalRecord, CanonicalError> {
        match decode_prefix::<CanonicalRecord>(data) {
            Ok((record, used)) if used == data.len() => Ok(record),
            Ok((_, used)) => Err(if written_before_v2_2(data) {
                CanonicalError::BeforeV2_2
            } else {
                CanonicalError::Trailing(data.len() - used)
            }),
            Err(_) if written_before_v2_2(data) => Err(CanonicalError::BeforeV2_2),
            Err(e) => Err(CanonicalError::Malformed(e.to_string())),
        }
    }

    /// What a broker stores for the (already offset-patched) v2 batch `batch`, as its produce path
    /// builds it: header fields copied, records decoded (absolute offsets and timestamps), the
    /// records section and the whole batch kept. For LogAppendTime batches the entries carry the
    /// batch's max timestamp (the decoder gives no deltas); record attributes are 0, as clients
    /// send them.
    pub fn from_batch(batch: &[u8]) -> Result<CanonicalRecord, crate::kafka::KafkaError> {
        let raw = crate::kafka::RawBatch::parse(batch)?;
        let h = *raw.header();
        let compression = match h.attributes & 0x07 {
            1 => CompressionType::Gzip,
            2 => CompressionType::Snappy,
            3 => CompressionType::Lz4,
            4 => CompressionType::Zstd,
            _ => CompressionType::None,
        };
        let records = raw
            .records()?
            .into_iter()
            .map(|r| CanonicalEntry {
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|x| EntryHeader {
                        key: x.key,
                        value: x.value,
                    })
                    .collect(),
                attributes: 0,
            })
            .collect();
        let used = raw.bytes();
        Ok(CanonicalRecord {
            base_offset: h.base_offset,
            partition_leader_epoch: h.partition_leader_epoch,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            is_transactional: h.is_transactional(),
            is_control: h.is_control(),
            compression,
            timestamp_type: if h.has_log_append_time() {
                TimestampType::LogAppendTime
            } else {
                TimestampType::CreateTime
            },
            base_timestamp: h.base_timestamp,
            max_timestamp: h.max_timestamp,
            records,
            compressed_records_wire_bytes: Some(used[crate::kafka::BatchHeader::SIZE..].to_vec()),
            original_v1_wire_format: None,
            original_v2_wire_format: Some(used.to_vec()),
        })
    }

    /// bincode 1's encoding of `self`.
    pub fn encode(&self) -> Vec<u8> {
        // Encoding into a Vec cannot fail for these types.
        bincode::encode_to_vec(self, bincode::config::legacy()).unwrap_or_default()
    }
}

/// Whether `data` is exactly a pre-v2.2.0 `CanonicalRecord`: the 12 leading fields, then nothing
/// or one `Option<Vec<u8>>`.
fn written_before_v2_2(data: &[u8]) -> bool {
    let Ok((_, used)) = decode_prefix::<CanonicalPrefix>(data) else {
        return false;
    };
    let rest = &data[used..];
    rest.is_empty()
        || matches!(
            decode_prefix::<Option<Vec<u8>>>(rest),
            Ok((_, n)) if n == rest.len()
        )
}

/// Why frame payload bytes are not a current `CanonicalRecord`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// The bytes do not decode (e.g. a Raft entry of `__meta`, or damage).
    #[error("not a CanonicalRecord: {0}")]
    Malformed(String),
    /// A record decodes but bytes follow it.
    #[error("not a CanonicalRecord: {0} bytes follow the record")]
    Trailing(usize),
    /// The layout of brokers before v2.2.0, which keeps no original batch bytes.
    #[error(
        "a CanonicalRecord written by a Chronik broker before v2.2.0: it keeps no original batch \
         bytes, and Chronik Tier does not rebuild batches"
    )]
    BeforeV2_2,
}
