//! The fixed 61-byte header of a RecordBatch v2 and its attribute bits.

use super::compression::Compression;
use super::error::KafkaError;
use super::record::Record;

/// Bytes before the batch length field's coverage starts: base offset (8) + batch length (4).
pub(crate) const LOG_OVERHEAD: usize = 12;
/// Position of the batch length field.
const BATCH_LENGTH_OFFSET: usize = 8;
/// Position of the magic byte; the same in legacy v0/v1 messages.
const MAGIC_OFFSET: usize = 16;
/// Position of the first byte covered by the CRC (the attributes field).
pub(crate) const CRC_COVERAGE_START: usize = 21;
/// The only supported magic value.
pub(crate) const MAGIC_V2: i8 = 2;
/// Smallest valid batch length: the header bytes after the length field.
const MIN_BATCH_LENGTH: i32 = (BatchHeader::SIZE - LOG_OVERHEAD) as i32;

/// Attribute bits 0..=2: compression codec.
const COMPRESSION_MASK: i16 = 0x07;
/// Attribute bit 3: timestamps are log-append time (else create time).
pub(crate) const LOG_APPEND_TIME_FLAG: i16 = 0x08;
/// Attribute bit 4: the batch belongs to a transaction.
pub(crate) const TRANSACTIONAL_FLAG: i16 = 0x10;
/// Attribute bit 5: the batch holds control records (commit/abort markers).
pub(crate) const CONTROL_FLAG: i16 = 0x20;
/// Attribute bit 6: `base_timestamp` holds the delete horizon (set by the log cleaner).
const DELETE_HORIZON_FLAG: i16 = 0x40;

/// The fixed 61-byte header of a RecordBatch v2, all fields big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (bytes 0..8). Outside the CRC; set by the broker.
    pub base_offset: i64,
    /// Bytes after this field (bytes 8..12): the batch is `batch_length + 12` bytes long.
    pub batch_length: i32,
    /// Leader epoch of the partition when the batch was appended (bytes 12..16). Outside the CRC.
    pub partition_leader_epoch: i32,
    /// Format version (byte 16), always 2 here.
    pub magic: i8,
    /// CRC-32C of bytes 21..end (bytes 17..21).
    pub crc: u32,
    /// Codec and flags (bytes 21..23).
    pub attributes: i16,
    /// Offset delta of the last offset the batch covers (bytes 23..27).
    pub last_offset_delta: i32,
    /// Timestamp the record deltas are relative to (bytes 27..35).
    pub base_timestamp: i64,
    /// Largest record timestamp, or the log-append time (bytes 35..43).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, -1 if none (bytes 43..51).
    pub producer_id: i64,
    /// Producer epoch, -1 if none (bytes 51..53).
    pub producer_epoch: i16,
    /// Sequence number of the first record, -1 if none (bytes 53..57).
    pub base_sequence: i32,
    /// Number of records in the batch (bytes 57..61).
    pub records_count: i32,
}

impl BatchHeader {
    /// Size of the header in bytes.
    pub const SIZE: usize = 61;

    /// Parses the header at the start of `buf` (which may hold more than one batch).
    ///
    /// Checks, in this order:
    /// - fewer than 17 bytes (magic not yet readable): [`KafkaError::Truncated`];
    /// - magic other than 2 (including legacy v0/v1): [`KafkaError::UnsupportedMagic`];
    /// - batch length below 49: [`KafkaError::InvalidLength`];
    /// - fewer than 61 bytes: [`KafkaError::Truncated`] with `needed` = 61;
    /// - compression code above 4: [`KafkaError::UnsupportedCompression`];
    /// - negative base offset, last offset delta or records count, a last
    ///   offset that overflows i64, or more records than offset deltas:
    ///   [`KafkaError::InvalidHeader`].
    ///
    /// The CRC is not checked here: see [`RawBatch::verify_crc`](super::RawBatch::verify_crc).
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, KafkaError> {
        let header = Self::read(buf)?;
        header.validate()?;
        Ok(header)
    }

    /// Reads the fields, checking only what framing needs: magic, length, size.
    pub(crate) fn read(buf: &[u8]) -> Result<BatchHeader, KafkaError> {
        let truncated = || KafkaError::Truncated {
            needed: Self::SIZE,
            available: buf.len(),
        };
        let &magic = buf.get(MAGIC_OFFSET).ok_or_else(truncated)?;
        let magic = i8::from_be_bytes([magic]);
        if magic != MAGIC_V2 {
            return Err(KafkaError::UnsupportedMagic(magic));
        }
        let batch_length = buf
            .get(BATCH_LENGTH_OFFSET..)
            .and_then(<[u8]>::first_chunk)
            .map(|field| i32::from_be_bytes(*field))
            .ok_or_else(truncated)?;
        if batch_length < MIN_BATCH_LENGTH {
            return Err(KafkaError::InvalidLength(batch_length));
        }
        let mut fields = Fields(buf.first_chunk::<{ Self::SIZE }>().ok_or_else(truncated)?);
        let header = BatchHeader {
            base_offset: i64::from_be_bytes(fields.next()),
            batch_length: i32::from_be_bytes(fields.next()),
            partition_leader_epoch: i32::from_be_bytes(fields.next()),
            magic: i8::from_be_bytes(fields.next()),
            crc: u32::from_be_bytes(fields.next()),
            attributes: i16::from_be_bytes(fields.next()),
            last_offset_delta: i32::from_be_bytes(fields.next()),
            base_timestamp: i64::from_be_bytes(fields.next()),
            max_timestamp: i64::from_be_bytes(fields.next()),
            producer_id: i64::from_be_bytes(fields.next()),
            producer_epoch: i16::from_be_bytes(fields.next()),
            base_sequence: i32::from_be_bytes(fields.next()),
            records_count: i32::from_be_bytes(fields.next()),
        };
        Ok(header)
    }

    /// Checks the fields framing does not need: codec and offsets.
    pub(crate) fn validate(&self) -> Result<(), KafkaError> {
        self.compression()?;
        let (base, last_delta, count) =
            (self.base_offset, self.last_offset_delta, self.records_count);
        let problem = if base < 0 || last_delta < 0 || count < 0 {
            "base offset, last offset delta and records count must not be negative"
        } else if !offsets_fit(base, last_delta) {
            "the last offset overflows i64"
        } else if i64::from(count) > i64::from(last_delta) + 1 {
            "more records than offset deltas 0..=last_offset_delta"
        } else {
            return Ok(());
        };
        Err(KafkaError::InvalidHeader(format!(
            "{problem} (base offset {base}, last offset delta {last_delta}, records count {count})"
        )))
    }

    /// Offset of the last offset the batch covers: `base_offset + last_offset_delta`.
    /// (Cannot overflow for a parsed header; saturates for a hand-made one.)
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// Total bytes of the batch on the wire: `batch_length + 12` (0 + 12 if negative).
    pub fn total_size(&self) -> usize {
        usize::try_from(self.batch_length).unwrap_or(0) + LOG_OVERHEAD
    }

    /// The codec in attribute bits 0..=2; [`KafkaError::UnsupportedCompression`] for codes 5..=7.
    pub fn compression(&self) -> Result<Compression, KafkaError> {
        // The mask keeps the value in 0..=7, so the cast cannot truncate.
        Compression::from_code((self.attributes & COMPRESSION_MASK) as u8)
    }

    /// Attribute bit 4: the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_FLAG != 0
    }

    /// Attribute bit 5: the batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_FLAG != 0
    }

    /// Attribute bit 3: record timestamps are the log-append time (`max_timestamp`).
    pub fn has_log_append_time(&self) -> bool {
        self.attributes & LOG_APPEND_TIME_FLAG != 0
    }

    /// Attribute bit 6: `base_timestamp` is the log cleaner's delete horizon.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_FLAG != 0
    }

    /// The timestamp of `record` (from this batch) as Kafka reports it: the batch's max timestamp
    /// under LogAppendTime, else the record's own.
    pub fn effective_timestamp(&self, record: &Record) -> i64 {
        if self.has_log_append_time() {
            self.max_timestamp
        } else {
            record.timestamp
        }
    }

    /// The smallest and largest effective timestamps of `records` (this batch's, decoded); the
    /// header's base and max timestamps for a batch without records. What archives record per
    /// batch and per chunk.
    pub fn timestamp_range(&self, records: &[Record]) -> (i64, i64) {
        if records.is_empty() {
            return (self.base_timestamp, self.max_timestamp);
        }
        records.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| {
            let ts = self.effective_timestamp(r);
            (lo.min(ts), hi.max(ts))
        })
    }
}

/// Whether a batch may start at `base_offset`: it is not negative and its
/// last offset, `base_offset + last_offset_delta`, fits in an i64.
pub(crate) fn offsets_fit(base_offset: i64, last_offset_delta: i32) -> bool {
    base_offset >= 0
        && base_offset
            .checked_add(i64::from(last_offset_delta))
            .is_some()
}

/// Reads the header's consecutive big-endian fields. Built only over exactly
/// [`BatchHeader::SIZE`] bytes, which the header's fields add up to, so a
/// read never runs short (a short read would yield zeros, never panic).
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn next<const N: usize>(&mut self) -> [u8; N] {
        match self.0.split_first_chunk::<N>() {
            Some((field, rest)) => {
                self.0 = rest;
                *field
            }
            None => [0; N],
        }
    }
}
