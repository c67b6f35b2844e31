//! Build -> parse -> verify -> decode round trips, for every codec.

use proptest::prelude::*;

use super::super::{BatchBuilder, BatchHeader, Compression, KafkaError, RawBatch, RecordInput};
use super::support::{
    BatchSettings, batch_settings, build, expected_records, record_input, sample_batch,
};

fn assert_round_trip(codec: Compression, settings: &BatchSettings, inputs: &[RecordInput]) {
    let bytes = build(settings.builder(codec), inputs);
    let batch = RawBatch::parse(&bytes).unwrap();
    assert_eq!(batch.bytes(), &bytes[..]);
    batch.verify_crc().unwrap();

    let header = batch.header();
    assert_eq!(header.base_offset, settings.base_offset);
    assert_eq!(header.total_size(), bytes.len());
    assert_eq!(
        header.partition_leader_epoch,
        settings.partition_leader_epoch
    );
    assert_eq!(header.magic, 2);
    assert_eq!(header.compression().unwrap(), codec);
    assert_eq!(header.is_transactional(), settings.transactional);
    assert_eq!(header.has_log_append_time(), settings.log_append_time);
    assert!(!header.is_control());
    assert_eq!(
        (
            header.producer_id,
            header.producer_epoch,
            header.base_sequence
        ),
        settings.producer
    );
    assert_eq!(header.records_count as usize, inputs.len());
    assert_eq!(
        header.last_offset(),
        settings.base_offset + inputs.len().max(1) as i64 - 1
    );
    let timestamps = inputs.iter().map(|input| input.timestamp);
    assert_eq!(
        header.base_timestamp,
        inputs.first().map_or(-1, |input| input.timestamp)
    );
    assert_eq!(header.max_timestamp, timestamps.max().unwrap_or(-1));

    assert_eq!(batch.records().unwrap(), expected_records(header, inputs));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip_none(settings in batch_settings(), inputs in proptest::collection::vec(record_input(), 0..12)) {
        assert_round_trip(Compression::None, &settings, &inputs);
    }

    #[test]
    fn round_trip_gzip(settings in batch_settings(), inputs in proptest::collection::vec(record_input(), 0..12)) {
        assert_round_trip(Compression::Gzip, &settings, &inputs);
    }

    #[test]
    fn round_trip_snappy(settings in batch_settings(), inputs in proptest::collection::vec(record_input(), 0..12)) {
        assert_round_trip(Compression::Snappy, &settings, &inputs);
    }

    #[test]
    fn round_trip_lz4(settings in batch_settings(), inputs in proptest::collection::vec(record_input(), 0..12)) {
        assert_round_trip(Compression::Lz4, &settings, &inputs);
    }

    #[test]
    fn round_trip_zstd(settings in batch_settings(), inputs in proptest::collection::vec(record_input(), 0..12)) {
        assert_round_trip(Compression::Zstd, &settings, &inputs);
    }
}

/// Values larger than one snappy xerial block (32 KiB) and one LZ4 block (64 KiB).
#[test]
fn round_trip_multi_block_payloads() {
    let settings = BatchSettings {
        base_offset: 5,
        partition_leader_epoch: 3,
        producer: (-1, -1, -1),
        transactional: false,
        log_append_time: false,
    };
    let inputs: Vec<RecordInput> = (0..3u8)
        .map(|i| RecordInput {
            timestamp: 1_000 + i64::from(i),
            key: Some(vec![i; 10]),
            value: Some((0..150_000u32).map(|n| (n % 251) as u8 ^ i).collect()),
            headers: vec![],
        })
        .collect();
    for codec in Compression::ALL {
        assert_round_trip(codec, &settings, &inputs);
    }
}

#[test]
fn compressed_batches_are_smaller_for_repetitive_data() {
    let plain = sample_batch(Compression::None).len();
    for codec in &Compression::ALL[1..] {
        let compressed = sample_batch(*codec).len();
        assert!(compressed < plain, "{codec}: {compressed} >= {plain}");
    }
}

#[test]
fn compression_names_round_trip() {
    for codec in Compression::ALL {
        assert_eq!(codec.to_string().parse::<Compression>().unwrap(), codec);
        assert_eq!(Compression::from_code(codec.code()).unwrap(), codec);
    }
    assert_eq!(
        Compression::ALL.map(|codec| codec.name()),
        ["none", "gzip", "snappy", "lz4", "zstd"]
    );
    assert!("GZIP".parse::<Compression>().is_err());
    assert!(matches!(
        Compression::from_code(5),
        Err(KafkaError::UnsupportedCompression(5))
    ));
}

#[test]
fn empty_batch_round_trips() {
    let bytes = BatchBuilder::new(42, Compression::Gzip).build().unwrap();
    let batch = RawBatch::parse(&bytes).unwrap();
    batch.verify_crc().unwrap();
    let header: &BatchHeader = batch.header();
    assert_eq!((header.records_count, header.last_offset_delta), (0, 0));
    assert_eq!((header.base_timestamp, header.max_timestamp), (-1, -1));
    assert!(batch.records().unwrap().is_empty());
}
