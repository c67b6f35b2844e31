//! Segments of concatenated batches, base-offset patching, control batches.

use super::super::{
    BatchBuilder, Compression, KafkaError, RawBatch, RecordInput, batches, patch_base_offset,
};
use super::support::{build, expected_records, header, sample_batch, sample_inputs};

/// One batch per codec, laid end to end at consecutive offsets, like a `.log` segment.
fn segment() -> (Vec<u8>, Vec<usize>) {
    let mut segment = Vec::new();
    let mut starts = Vec::new();
    let mut next_offset = 0;
    for codec in Compression::ALL {
        let mut batch = sample_batch(codec);
        patch_base_offset(&mut batch, next_offset).unwrap();
        next_offset = RawBatch::parse(&batch).unwrap().header().last_offset() + 1;
        starts.push(segment.len());
        segment.extend_from_slice(&batch);
    }
    (segment, starts)
}

#[test]
fn batches_walks_a_segment() {
    let (segment, starts) = segment();
    let mut iter = batches(&segment);
    let mut offsets = Vec::new();
    for (codec, start) in Compression::ALL.into_iter().zip(&starts) {
        assert_eq!(iter.position(), *start);
        let batch = iter.next().unwrap().unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.header().compression().unwrap(), codec);
        assert_eq!(batch.bytes().as_ptr(), segment[*start..].as_ptr());
        offsets.extend(batch.records().unwrap().iter().map(|record| record.offset));
    }
    assert!(iter.next().is_none());
    assert_eq!(iter.position(), segment.len());
    let expected: Vec<i64> = (0..offsets.len() as i64).collect();
    assert_eq!(offsets, expected);
}

#[test]
fn garbage_after_the_last_batch_is_one_error_with_its_position() {
    let (segment, _) = segment();
    let garbage_cases: [&[u8]; 3] = [
        &[0xde, 0xad, 0xbe, 0xef],              // too short to be a header
        &[0; 80],                               // zeros, as in a preallocated segment
        &sample_batch(Compression::Gzip)[..70], // a batch cut short
    ];
    for garbage in garbage_cases {
        let mut buf = segment.clone();
        buf.extend_from_slice(garbage);
        let items: Vec<_> = batches(&buf).collect();
        assert_eq!(items.len(), Compression::ALL.len() + 1);
        assert!(items[..Compression::ALL.len()].iter().all(Result::is_ok));
        let err = items.last().unwrap().as_ref().unwrap_err();
        match err {
            KafkaError::AtPosition { position, .. } => assert_eq!(*position, segment.len()),
            other => panic!("expected AtPosition, got {other:?}"),
        }
        assert!(
            err.to_string().contains(&format!("byte {}", segment.len())),
            "{err}"
        );
        assert!(!matches!(err.root(), KafkaError::AtPosition { .. }));
    }
}

#[test]
fn patch_base_offset_keeps_the_crc_and_shifts_offsets() {
    for codec in Compression::ALL {
        let mut bytes = sample_batch(codec);
        let before = RawBatch::parse(&bytes).unwrap().records().unwrap();
        patch_base_offset(&mut bytes, 1_000_000).unwrap();
        let batch = RawBatch::parse(&bytes).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.header().base_offset, 1_000_000);
        let after = batch.records().unwrap();
        assert_eq!(after.len(), before.len());
        for (old, new) in before.iter().zip(&after) {
            assert_eq!(new.offset, old.offset - 100 + 1_000_000);
            assert_eq!(
                (&new.key, &new.value, new.timestamp),
                (&old.key, &old.value, old.timestamp)
            );
        }
        let original = sample_batch(codec);
        assert_eq!(bytes[8..], original[8..], "only bytes 0..8 may change");
    }
}

#[test]
fn patch_base_offset_rejects_bad_input() {
    let mut bytes = sample_batch(Compression::None);
    let err = patch_base_offset(&mut bytes, -1).unwrap_err();
    assert!(matches!(err, KafkaError::InvalidInput(_)), "{err}");
    let err = patch_base_offset(&mut bytes, i64::MAX).unwrap_err();
    assert!(matches!(err, KafkaError::InvalidInput(_)), "{err}");
    assert_eq!(
        bytes,
        sample_batch(Compression::None),
        "a rejected patch changes nothing"
    );
    let len = bytes.len();
    let err = patch_base_offset(&mut bytes[..len - 1], 5).unwrap_err();
    assert!(matches!(err, KafkaError::Truncated { .. }), "{err}");
}

/// A transaction COMMIT marker written byte by byte, independently of the builder.
fn hand_built_commit_marker() -> Vec<u8> {
    let key = [0, 0, 0, 1]; // control record version 0, type 1 = COMMIT
    let value = [0, 0, 0, 0, 0, 5]; // marker version 0, coordinator epoch 5
    let mut record = vec![0x00, 0x00, 0x00, 0x08]; // attributes, timestamp delta 0, offset delta 0, key length 4
    record.extend_from_slice(&key);
    record.push(0x0c); // value length 6
    record.extend_from_slice(&value);
    record.push(0x00); // no headers
    assert_eq!(record.len(), 16);
    let records = [&[0x20][..], &record].concat(); // record length 16 (zigzag 32)

    let mut covered = Vec::new();
    covered.extend_from_slice(&0x0030i16.to_be_bytes()); // transactional | control, no compression
    covered.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    covered.extend_from_slice(&1_700_000_000_000i64.to_be_bytes()); // base timestamp
    covered.extend_from_slice(&1_700_000_000_000i64.to_be_bytes()); // max timestamp
    covered.extend_from_slice(&4242i64.to_be_bytes()); // producer id
    covered.extend_from_slice(&3i16.to_be_bytes()); // producer epoch
    covered.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    covered.extend_from_slice(&1i32.to_be_bytes()); // records count
    covered.extend_from_slice(&records);

    let mut batch = Vec::new();
    batch.extend_from_slice(&77i64.to_be_bytes()); // base offset
    batch.extend_from_slice(&(covered.len() as i32 + 9).to_be_bytes()); // + epoch, magic, crc
    batch.extend_from_slice(&6i32.to_be_bytes()); // partition leader epoch
    batch.push(2); // magic
    batch.extend_from_slice(&crc32c::crc32c(&covered).to_be_bytes());
    batch.extend_from_slice(&covered);
    batch
}

#[test]
fn control_batch_parses_and_decodes() {
    let bytes = hand_built_commit_marker();
    let batch = RawBatch::parse(&bytes).unwrap();
    batch.verify_crc().unwrap();
    let header = batch.header();
    assert!(header.is_control() && header.is_transactional());
    assert_eq!(
        (
            header.base_offset,
            header.partition_leader_epoch,
            header.producer_id
        ),
        (77, 6, 4242)
    );
    let records = batch.records().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].offset, 77);
    assert_eq!(records[0].timestamp, 1_700_000_000_000);
    assert_eq!(records[0].key.as_deref(), Some(&[0, 0, 0, 1][..]));
    assert_eq!(records[0].value.as_deref(), Some(&[0, 0, 0, 0, 0, 5][..]));

    let marker = RecordInput {
        timestamp: 1_700_000_000_000,
        key: Some(vec![0, 0, 0, 1]),
        value: Some(vec![0, 0, 0, 0, 0, 5]),
        headers: vec![],
    };
    let builder = BatchBuilder::new(77, Compression::None)
        .partition_leader_epoch(6)
        .producer(4242, 3, -1)
        .transactional(true)
        .control(true);
    assert_eq!(
        build(builder, &[marker]),
        bytes,
        "the builder writes the same bytes"
    );
}

#[test]
fn log_append_time_reports_max_timestamp() {
    let inputs = sample_inputs();
    let bytes = build(
        BatchBuilder::new(0, Compression::Lz4).log_append_time(true),
        &inputs,
    );
    let batch = RawBatch::parse(&bytes).unwrap();
    let max = inputs.iter().map(|input| input.timestamp).max().unwrap();
    assert!(
        batch
            .records()
            .unwrap()
            .iter()
            .all(|record| record.timestamp == max)
    );
    assert_eq!(
        batch.records().unwrap(),
        expected_records(batch.header(), &inputs)
    );
}

/// The worked example of docs/FORMATS.md (section "Kafka RecordBatch v2"):
/// the builder must keep producing exactly these bytes.
const DOC_EXAMPLE_HEX: &str = concat!(
    "000000000000000a",                   // base offset 10
    "0000004c",                           // batch length 76
    "00000000",                           // partition leader epoch 0
    "02",                                 // magic 2
    "2a951b17",                           // CRC-32C of everything below
    "0000",             // attributes: no compression, create time, not transactional
    "00000001",         // last offset delta 1
    "0000018bcfe56800", // base timestamp 1700000000000
    "0000018bcfe56805", // max timestamp 1700000000005
    "ffffffffffffffff", // producer id -1
    "ffff",             // producer epoch -1
    "ffffffff",         // base sequence -1
    "00000002",         // records count 2
    "20000000026b0a68656c6c6f0202680231", // record 0: key "k", value "hello", header h=1
    "12000a02010662796500", // record 1: null key, value "bye", +5 ms
);

fn doc_example_batch() -> Vec<u8> {
    let records = [
        RecordInput {
            timestamp: 1_700_000_000_000,
            key: Some(b"k".to_vec()),
            value: Some(b"hello".to_vec()),
            headers: vec![header("h", Some(b"1"))],
        },
        RecordInput {
            timestamp: 1_700_000_000_005,
            key: None,
            value: Some(b"bye".to_vec()),
            headers: vec![],
        },
    ];
    build(BatchBuilder::new(10, Compression::None), &records)
}

#[test]
fn doc_example_bytes_are_stable() {
    let hex: String = doc_example_batch()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(hex, DOC_EXAMPLE_HEX);
}
