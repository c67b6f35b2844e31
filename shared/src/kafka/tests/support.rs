//! Helpers shared by the test modules: sample batches, expectations, proptest strategies.

use proptest::prelude::*;

use super::super::{BatchBuilder, BatchHeader, Compression, Record, RecordHeader, RecordInput};

/// Byte range of the stored CRC and the first byte it covers.
pub const CRC_FIELD: std::ops::Range<usize> = 17..21;
pub const CRC_COVERAGE_START: usize = 21;

/// Recomputes and stores the CRC of a batch whose bytes were edited on purpose.
pub fn fix_crc(batch: &mut [u8]) {
    let crc = crc32c::crc32c(&batch[CRC_COVERAGE_START..]);
    batch[CRC_FIELD].copy_from_slice(&crc.to_be_bytes());
}

pub fn header(key: &str, value: Option<&[u8]>) -> RecordHeader {
    RecordHeader {
        key: key.to_owned(),
        value: value.map(<[u8]>::to_vec),
    }
}

/// A few records covering null/empty keys and values, headers with null
/// values, and timestamps that go backwards.
pub fn sample_inputs() -> Vec<RecordInput> {
    let filler = b"tiered storage keeps kafka segments ".repeat(4);
    vec![
        RecordInput {
            timestamp: 1_700_000_000_000,
            key: Some(b"key-0".to_vec()),
            value: Some(filler.clone()),
            headers: vec![header("trace", Some(b"abc")), header("nothing", None)],
        },
        RecordInput {
            timestamp: 1_699_999_999_990,
            key: None,
            value: Some(filler),
            headers: vec![],
        },
        RecordInput {
            timestamp: 1_700_000_000_500,
            key: Some(Vec::new()),
            value: None,
            headers: vec![header("", Some(b""))],
        },
    ]
}

pub fn build(builder: BatchBuilder, inputs: &[RecordInput]) -> Vec<u8> {
    let mut builder = builder;
    for input in inputs {
        builder.push(input.clone());
    }
    builder.build().expect("the builder accepts valid inputs")
}

/// A small valid batch of [`sample_inputs`] at base offset 100.
pub fn sample_batch(codec: Compression) -> Vec<u8> {
    build(
        BatchBuilder::new(100, codec).producer(7, 1, 0),
        &sample_inputs(),
    )
}

/// What `records()` must return for `inputs` pushed into a batch with this header.
pub fn expected_records(header: &BatchHeader, inputs: &[RecordInput]) -> Vec<Record> {
    inputs
        .iter()
        .zip(header.base_offset..)
        .map(|(input, offset)| Record {
            offset,
            timestamp: if header.has_log_append_time() {
                header.max_timestamp
            } else {
                input.timestamp
            },
            key: input.key.clone(),
            value: input.value.clone(),
            headers: input.headers.clone(),
        })
        .collect()
}

fn nullable_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..48))
}

fn record_header() -> impl Strategy<Value = RecordHeader> {
    ("\\PC{0,6}", nullable_bytes()).prop_map(|(key, value)| RecordHeader { key, value })
}

pub fn record_input() -> impl Strategy<Value = RecordInput> {
    (
        -1i64..4_000_000_000_000,
        nullable_bytes(),
        nullable_bytes(),
        proptest::collection::vec(record_header(), 0..4),
    )
        .prop_map(|(timestamp, key, value, headers)| RecordInput {
            timestamp,
            key,
            value,
            headers,
        })
}

/// Batch-level settings a round trip varies.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub producer: (i64, i16, i32),
    pub transactional: bool,
    pub log_append_time: bool,
}

impl BatchSettings {
    pub fn builder(&self, codec: Compression) -> BatchBuilder {
        let (id, epoch, sequence) = self.producer;
        BatchBuilder::new(self.base_offset, codec)
            .partition_leader_epoch(self.partition_leader_epoch)
            .producer(id, epoch, sequence)
            .transactional(self.transactional)
            .log_append_time(self.log_append_time)
    }
}

pub fn batch_settings() -> impl Strategy<Value = BatchSettings> {
    (
        0..i64::MAX / 2,
        any::<i32>(),
        (-1i64..i64::MAX, -1i16..i16::MAX, -1i32..i32::MAX),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(base_offset, partition_leader_epoch, producer, transactional, log_append_time)| {
                BatchSettings {
                    base_offset,
                    partition_leader_epoch,
                    producer,
                    transactional,
                    log_append_time,
                }
            },
        )
}
