//! Record-level validation on hand-written records sections.

use super::super::{BatchBuilder, Compression, KafkaError, RawBatch, Record, RecordHeader};
use super::support::fix_crc;

/// An uncompressed batch at base offset 1000 holding `records` verbatim.
fn batch_with(records: &[u8], count: i32, last_offset_delta: i32) -> Vec<u8> {
    let mut batch = BatchBuilder::new(1000, Compression::None).build().unwrap();
    batch.extend_from_slice(records);
    let batch_length = batch.len() as i32 - 12;
    batch[8..12].copy_from_slice(&batch_length.to_be_bytes());
    batch[23..27].copy_from_slice(&last_offset_delta.to_be_bytes());
    batch[27..35].copy_from_slice(&500i64.to_be_bytes()); // base timestamp
    batch[57..61].copy_from_slice(&count.to_be_bytes());
    fix_crc(&mut batch);
    batch
}

/// A record with the given offset delta, key bytes and raw tail (value + headers).
fn record(offset_delta: u8, tail: &[u8]) -> Vec<u8> {
    let mut body = vec![0x00, 0x02, offset_delta * 2]; // attributes, timestamp delta +1, offset delta
    body.extend_from_slice(tail);
    let mut record = vec![(body.len() * 2) as u8]; // fits one varint byte in these tests
    record.extend_from_slice(&body);
    record
}

const NULL_KEY_EMPTY_VALUE: &[u8] = &[0x01, 0x00, 0x00]; // key -1, value length 0, no headers

fn decode(records: &[u8], count: i32, last_offset_delta: i32) -> Result<Vec<Record>, KafkaError> {
    let bytes = batch_with(records, count, last_offset_delta);
    let batch = RawBatch::parse(&bytes)?;
    batch.verify_crc()?;
    batch.records()
}

fn malformed(records: &[u8], count: i32, last_offset_delta: i32) -> String {
    match decode(records, count, last_offset_delta) {
        Err(KafkaError::MalformedRecord(message)) => message,
        other => panic!("expected MalformedRecord, got {other:?}"),
    }
}

#[test]
fn offset_gaps_from_compaction_are_accepted() {
    let records = [
        record(0, NULL_KEY_EMPTY_VALUE),
        record(3, NULL_KEY_EMPTY_VALUE),
    ]
    .concat();
    let decoded = decode(&records, 2, 4).unwrap();
    assert_eq!(
        decoded.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [1000, 1003]
    );
    assert_eq!(decoded[0].timestamp, 501);
    assert_eq!(
        (decoded[0].key.as_ref(), decoded[0].value.as_deref()),
        (None, Some(&[][..]))
    );
}

#[test]
fn offset_deltas_must_increase_and_stay_in_range() {
    let repeated = [
        record(1, NULL_KEY_EMPTY_VALUE),
        record(1, NULL_KEY_EMPTY_VALUE),
    ]
    .concat();
    assert!(malformed(&repeated, 2, 2).contains("does not increase"));
    let beyond = record(5, NULL_KEY_EMPTY_VALUE);
    assert!(malformed(&beyond, 1, 4).contains("outside 0..=4"));
}

#[test]
fn negative_lengths_other_than_minus_one_are_rejected() {
    let key_minus_two = record(0, &[0x03, 0x00, 0x00]);
    let message = malformed(&key_minus_two, 1, 0);
    assert!(
        message.contains("key -2") && message.contains("negative"),
        "{message}"
    );
    let negative_record_length = [0x03];
    assert!(malformed(&negative_record_length, 1, 0).contains("negative"));
    let negative_header_count = record(0, &[0x01, 0x00, 0x03]);
    assert!(malformed(&negative_header_count, 1, 0).contains("header count -2"));
}

#[test]
fn headers_need_non_null_utf8_keys() {
    let headers = |header: &[u8]| record(0, &[&[0x01, 0x00, 0x02][..], header].concat());
    let decoded = decode(&headers(&[0x02, b'a', 0x01]), 1, 0).unwrap();
    assert_eq!(
        decoded[0].headers,
        [RecordHeader {
            key: "a".to_owned(),
            value: None
        }]
    );
    assert!(malformed(&headers(&[0x01, 0x01]), 1, 0).contains("null key"));
    assert!(malformed(&headers(&[0x02, 0xff, 0x01]), 1, 0).contains("not UTF-8"));
}

#[test]
fn lengths_past_the_end_are_rejected_with_positions() {
    let value_too_long = record(0, &[0x01, 0x14, 0x00]); // value length 10, 1 byte left
    let message = malformed(&value_too_long, 1, 0);
    assert!(
        message.contains("record 0") && message.contains("runs past the end"),
        "{message}"
    );
    let record_too_long = [0x40, 0x00]; // record length 32, 1 byte left
    assert!(malformed(&record_too_long, 1, 0).contains("record body of 32 bytes at byte 1"));
    let unread = record(0, &[0x01, 0x00, 0x00, 0x00]); // one byte after the headers
    assert!(malformed(&unread, 1, 0).contains("1 unread bytes"));
}

#[test]
fn varints_must_fit_their_width() {
    // Offset delta as a 6-byte varint.
    let overlong = [
        0x10, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x00, 0x00,
    ];
    assert!(
        malformed(&overlong, 1, 0)
            .contains("offset delta varint at byte 3 does not fit in 32 bits")
    );
    // Timestamp delta as an 11-byte varlong.
    let mut overlong_long = vec![0x1c, 0x00];
    overlong_long.extend([0x80; 10]);
    overlong_long.extend([0x00, 0x00, 0x01, 0x00, 0x00]);
    assert!(malformed(&overlong_long, 1, 0).contains("timestamp delta varint"));
}

#[test]
fn timestamp_overflow_is_rejected() {
    // Timestamp delta i64::MAX (zigzag u64::MAX - 1) on base timestamp 500.
    let mut records = vec![0x1e, 0x00];
    records.extend([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    records.extend([0x00, 0x01, 0x00, 0x00]);
    assert!(malformed(&records, 1, 0).contains("overflows"));
}
