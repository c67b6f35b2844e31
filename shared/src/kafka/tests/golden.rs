//! Cross-checks against kafka-python, an implementation nobody here wrote.
//!
//! `tests/data/v2/<name>.bin` were written by kafka-python's
//! `DefaultRecordBatchBuilder` (see `scripts/make_golden.py`), and
//! `<name>.json` lists the records they hold. The other direction: batches our
//! builder makes from the same records are written to `$KAFKA_BUILDER_OUT`
//! (when set) for `scripts/check_builder.py` to read with kafka-python.

use std::path::{Path, PathBuf};

use super::super::{BatchBuilder, Compression, RawBatch, Record, RecordHeader, RecordInput};
use super::json::Json;

const GOLDEN_CASES: [&str; 7] = [
    "none",
    "gzip",
    "snappy",
    "snappy_raw",
    "lz4",
    "zstd",
    "transactional",
];

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/v2")
}

fn load(name: &str) -> (Vec<u8>, Json) {
    let dir = data_dir();
    let bytes = std::fs::read(dir.join(format!("{name}.bin"))).expect("golden .bin");
    let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("golden .json");
    (bytes, Json::parse(&json))
}

fn expected_records(spec: &Json) -> Vec<Record> {
    let records = spec.get("records").array();
    records
        .iter()
        .map(|record| Record {
            offset: record.get("offset").int(),
            timestamp: record.get("timestamp").int(),
            key: record.get("key").hex_bytes(),
            value: record.get("value").hex_bytes(),
            headers: record
                .get("headers")
                .array()
                .iter()
                .map(|header| RecordHeader {
                    key: header.get("key").str().to_owned(),
                    value: header.get("value").hex_bytes(),
                })
                .collect(),
        })
        .collect()
}

#[test]
fn kafka_python_batches_decode_as_expected() {
    for name in GOLDEN_CASES {
        let (bytes, spec) = load(name);
        let batch = RawBatch::parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(
            batch.bytes().len(),
            bytes.len(),
            "{name}: one batch per file"
        );
        batch
            .verify_crc()
            .unwrap_or_else(|err| panic!("{name}: {err}"));

        let header = batch.header();
        let codec: Compression = spec.get("codec").str().parse().unwrap();
        assert_eq!(header.compression().unwrap(), codec, "{name}");
        assert_eq!(header.base_offset, spec.get("base_offset").int(), "{name}");
        assert_eq!(
            header.is_transactional(),
            spec.get("transactional").bool(),
            "{name}"
        );
        assert_eq!(header.producer_id, spec.get("producer_id").int(), "{name}");
        assert_eq!(
            i64::from(header.producer_epoch),
            spec.get("producer_epoch").int(),
            "{name}"
        );
        assert_eq!(
            i64::from(header.base_sequence),
            spec.get("base_sequence").int(),
            "{name}"
        );
        assert_eq!(
            header.base_timestamp,
            spec.get("base_timestamp").int(),
            "{name}"
        );
        assert_eq!(
            header.max_timestamp,
            spec.get("max_timestamp").int(),
            "{name}"
        );
        assert!(
            !header.is_control() && !header.has_log_append_time(),
            "{name}"
        );

        let expected = expected_records(&spec);
        assert_eq!(header.records_count as usize, expected.len(), "{name}");
        assert_eq!(batch.records().unwrap(), expected, "{name}");
    }
}

/// Rebuilds every golden case with our builder; the batch must decode to the
/// same records. With `KAFKA_BUILDER_OUT=<dir>`, also writes `<dir>/<name>.bin`
/// for `scripts/check_builder.py`.
#[test]
fn builder_reproduces_golden_records() {
    let out_dir = std::env::var_os("KAFKA_BUILDER_OUT").map(PathBuf::from);
    for name in GOLDEN_CASES {
        let (golden_bytes, spec) = load(name);
        let expected = expected_records(&spec);
        let mut builder = BatchBuilder::new(
            spec.get("base_offset").int(),
            spec.get("codec").str().parse().unwrap(),
        )
        .producer(
            spec.get("producer_id").int(),
            spec.get("producer_epoch").int().try_into().unwrap(),
            spec.get("base_sequence").int().try_into().unwrap(),
        )
        .transactional(spec.get("transactional").bool());
        for record in &expected {
            builder.push(RecordInput {
                timestamp: record.timestamp,
                key: record.key.clone(),
                value: record.value.clone(),
                headers: record.headers.clone(),
            });
        }
        let bytes = builder.build().unwrap();
        if name == "none" {
            // Without a codec nothing is left to choice: same bytes as kafka-python.
            assert_eq!(
                bytes, golden_bytes,
                "{name}: bytes differ from kafka-python's"
            );
        }
        let batch = RawBatch::parse(&bytes).unwrap();
        batch.verify_crc().unwrap();
        assert_eq!(batch.records().unwrap(), expected, "{name}");
        if let Some(dir) = &out_dir {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.bin")), &bytes).unwrap();
        }
    }
}
