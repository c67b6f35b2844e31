//! Producer-side encoder: builds valid RecordBatch v2 bytes, for data
//! generators and tests.

use super::compression::{self, Compression};
use super::error::KafkaError;
use super::header::{
    BatchHeader, CONTROL_FLAG, CRC_COVERAGE_START, LOG_APPEND_TIME_FLAG, LOG_OVERHEAD, MAGIC_V2,
    TRANSACTIONAL_FLAG, offsets_fit,
};
use super::record::{RecordHeader, put_varint, put_varlong};

/// Timestamp Kafka writes in an empty batch's header ("no timestamp").
const NO_TIMESTAMP: i64 = -1;

/// One record to be encoded; offsets are assigned by the builder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordInput {
    /// Absolute timestamp (milliseconds since the epoch, by Kafka convention).
    pub timestamp: i64,
    /// Key bytes, or `None` for a null key.
    pub key: Option<Vec<u8>>,
    /// Value bytes, or `None` for a null value (tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers, written in this order.
    pub headers: Vec<RecordHeader>,
}

/// Builds one batch the way the Java producer does.
///
/// Records get consecutive offsets from `base_offset`; `base_timestamp` is the
/// first record's timestamp and `max_timestamp` the largest one (both -1 for
/// an empty batch). The records section is always compressed with the chosen
/// codec (unlike some clients, which fall back to none when it does not
/// shrink). Producer fields default to -1, leader epoch to 0, flags to off.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    base_offset: i64,
    compression: Compression,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    log_append_time: bool,
    records: Vec<RecordInput>,
}

impl BatchBuilder {
    /// A builder for an empty batch starting at `base_offset`, compressed with `compression`.
    pub fn new(base_offset: i64, compression: Compression) -> BatchBuilder {
        BatchBuilder {
            base_offset,
            compression,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            transactional: false,
            control: false,
            log_append_time: false,
            records: Vec::new(),
        }
    }

    /// Sets the idempotent-producer fields (id, epoch, sequence of the first record).
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Sets attribute bit 4 (transactional).
    pub fn transactional(mut self, transactional: bool) -> Self {
        self.transactional = transactional;
        self
    }

    /// Sets attribute bit 5 (control batch). Control record contents are the caller's.
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Sets the partition leader epoch (bytes 12..16).
    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets attribute bit 3 (log-append time). `max_timestamp` is still the
    /// largest record timestamp, so readers report that for every record.
    pub fn log_append_time(mut self, log_append_time: bool) -> Self {
        self.log_append_time = log_append_time;
        self
    }

    /// Appends a record; it gets offset `base_offset + (records pushed before)`.
    pub fn push(&mut self, record: RecordInput) {
        self.records.push(record);
    }

    /// Encodes the batch with a valid CRC.
    ///
    /// [`KafkaError::InvalidInput`] if a value does not fit its wire field
    /// (negative base offset, more than `i32::MAX` records, a timestamp delta
    /// that overflows, a length above `i32::MAX`, a batch over 2 GiB);
    /// [`KafkaError::Compress`] if the codec fails.
    pub fn build(&self) -> Result<Vec<u8>, KafkaError> {
        let records_count = i32::try_from(self.records.len()).map_err(|_| {
            KafkaError::InvalidInput(format!("{} records exceed i32::MAX", self.records.len()))
        })?;
        let last_offset_delta = (records_count - 1).max(0);
        if !offsets_fit(self.base_offset, last_offset_delta) {
            return Err(KafkaError::InvalidInput(format!(
                "base offset {} is negative or its last offset overflows",
                self.base_offset
            )));
        }
        let base_timestamp = self
            .records
            .first()
            .map_or(NO_TIMESTAMP, |record| record.timestamp);
        let mut body = Vec::new();
        for (index, record) in self.records.iter().enumerate() {
            encode_record(&mut body, index, base_timestamp, record)?;
        }
        let payload = compression::compress(self.compression, &body)?;
        let batch_length = i32::try_from(BatchHeader::SIZE - LOG_OVERHEAD + payload.len())
            .map_err(|_| {
                KafkaError::InvalidInput(format!(
                    "a {}-byte records section exceeds the batch size limit",
                    payload.len()
                ))
            })?;
        let mut header = BatchHeader {
            base_offset: self.base_offset,
            batch_length,
            partition_leader_epoch: self.partition_leader_epoch,
            magic: MAGIC_V2,
            crc: 0,
            attributes: self.attributes(),
            last_offset_delta,
            base_timestamp,
            max_timestamp: self
                .records
                .iter()
                .map(|record| record.timestamp)
                .max()
                .unwrap_or(NO_TIMESTAMP),
            producer_id: self.producer_id,
            producer_epoch: self.producer_epoch,
            base_sequence: self.base_sequence,
            records_count,
        };

        let mut crc_covered =
            Vec::with_capacity(BatchHeader::SIZE - CRC_COVERAGE_START + payload.len());
        write_crc_covered_header(&header, &mut crc_covered);
        crc_covered.extend_from_slice(&payload);
        header.crc = crc32c::crc32c(&crc_covered);

        let mut batch = Vec::with_capacity(header.total_size());
        write_header_prefix(&header, &mut batch);
        batch.extend_from_slice(&crc_covered);
        Ok(batch)
    }

    fn attributes(&self) -> i16 {
        let flag = |on: bool, bit: i16| if on { bit } else { 0 };
        i16::from(self.compression.code())
            | flag(self.log_append_time, LOG_APPEND_TIME_FLAG)
            | flag(self.transactional, TRANSACTIONAL_FLAG)
            | flag(self.control, CONTROL_FLAG)
    }
}

/// Appends one length-prefixed record at offset delta `index`.
fn encode_record(
    out: &mut Vec<u8>,
    index: usize,
    base_timestamp: i64,
    record: &RecordInput,
) -> Result<(), KafkaError> {
    let offset_delta = i32::try_from(index).map_err(|_| {
        KafkaError::InvalidInput(format!("record {index}: offset delta exceeds i32::MAX"))
    })?;
    let timestamp_delta = record
        .timestamp
        .checked_sub(base_timestamp)
        .ok_or_else(|| {
            KafkaError::InvalidInput(format!(
                "record {index}: timestamp {} minus base timestamp {base_timestamp} overflows",
                record.timestamp
            ))
        })?;
    let in_record = |reason: String| KafkaError::InvalidInput(format!("record {index}: {reason}"));

    let mut body = vec![0]; // attributes: unused in v2
    put_varlong(&mut body, timestamp_delta);
    put_varint(&mut body, offset_delta);
    put_nullable_bytes(&mut body, record.key.as_deref()).map_err(in_record)?;
    put_nullable_bytes(&mut body, record.value.as_deref()).map_err(in_record)?;
    put_varint(
        &mut body,
        encodable_len(record.headers.len()).map_err(in_record)?,
    );
    for header in &record.headers {
        put_nullable_bytes(&mut body, Some(header.key.as_bytes())).map_err(in_record)?;
        put_nullable_bytes(&mut body, header.value.as_deref()).map_err(in_record)?;
    }
    put_varint(out, encodable_len(body.len()).map_err(in_record)?);
    out.extend_from_slice(&body);
    Ok(())
}

/// Appends a varint length (-1 for `None`) and the bytes.
fn put_nullable_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) -> Result<(), String> {
    match bytes {
        None => put_varint(out, -1),
        Some(bytes) => {
            put_varint(out, encodable_len(bytes.len())?);
            out.extend_from_slice(bytes);
        }
    }
    Ok(())
}

fn encodable_len(len: usize) -> Result<i32, String> {
    i32::try_from(len).map_err(|_| format!("length {len} exceeds i32::MAX"))
}

/// Appends header bytes 0..21 (base offset, length, leader epoch, magic, CRC).
fn write_header_prefix(header: &BatchHeader, out: &mut Vec<u8>) {
    out.extend_from_slice(&header.base_offset.to_be_bytes());
    out.extend_from_slice(&header.batch_length.to_be_bytes());
    out.extend_from_slice(&header.partition_leader_epoch.to_be_bytes());
    out.extend_from_slice(&header.magic.to_be_bytes());
    out.extend_from_slice(&header.crc.to_be_bytes());
}

/// Appends header bytes 21..61, the part of the header covered by the CRC.
fn write_crc_covered_header(header: &BatchHeader, out: &mut Vec<u8>) {
    out.extend_from_slice(&header.attributes.to_be_bytes());
    out.extend_from_slice(&header.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&header.base_timestamp.to_be_bytes());
    out.extend_from_slice(&header.max_timestamp.to_be_bytes());
    out.extend_from_slice(&header.producer_id.to_be_bytes());
    out.extend_from_slice(&header.producer_epoch.to_be_bytes());
    out.extend_from_slice(&header.base_sequence.to_be_bytes());
    out.extend_from_slice(&header.records_count.to_be_bytes());
}
