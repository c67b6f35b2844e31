//! Real Chronik WAL segments (`shared/tests/data/chronik-wal/demo/`, written by an encoder checked
//! byte for byte against Chronik v2.10.4's): every stored batch fetches back with the sha256 its
//! manifest records, and search and offsets-for-time find their records.

use sha2::{Digest, Sha256};

use crate::support::*;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/chronik-wal/demo");

fn manifest() -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{DEMO}/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn demo_tp(topic: &str, partition: u64) -> TopicPartition {
    TopicPartition::new(
        topic.parse().unwrap(),
        Partition::try_from(partition as i64).unwrap(),
    )
}

/// Indexes every segment of the demo tree as the broker's layout names it.
async fn index_demo(p: &Pipeline) -> serde_json::Value {
    let manifest = manifest();
    for seg in manifest["segments"].as_array().unwrap() {
        let path = seg["path"].as_str().unwrap();
        let bytes = std::fs::read(format!("{DEMO}/{path}")).unwrap();
        let tp = tier::source::path_partition(&format!("wal/{path}"));
        assert_eq!(
            tp,
            Some(demo_tp(
                seg["topic"].as_str().unwrap(),
                seg["partition"].as_u64().unwrap()
            ))
        );
        let report = p.index_source(path, &bytes, tp.as_ref()).await.unwrap();
        assert_eq!(report.format, Some(tier::source::SourceFormat::ChronikWal));
        assert_eq!(report.segments.len(), 1, "{path}");
    }
    manifest
}

/// A hit's value as text, whatever encoding its view chose.
fn value_text(hit: &SearchHit) -> String {
    use base64::Engine;
    let value = hit.record.value.clone().unwrap_or_default();
    match hit.record.encoding {
        Encoding::Utf8 => value,
        Encoding::Base64 => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

#[tokio::test]
async fn every_stored_batch_of_the_chronik_demo_fetches_back_byte_for_byte() {
    let f = fixture();
    let manifest = index_demo(&f.pipeline).await;
    let batches = manifest["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 30);
    for b in batches {
        let tp = demo_tp(
            b["topic"].as_str().unwrap(),
            b["partition"].as_u64().unwrap(),
        );
        let got = f
            .pipeline
            .fetch(&FetchRequest {
                tp: tp.clone(),
                offset: b["base_offset"].as_i64().unwrap(),
                max_bytes: 1,
            })
            .await
            .unwrap();
        assert_eq!(got.batch_count, 1);
        assert_eq!(got.first_offset, b["base_offset"].as_i64().unwrap());
        assert_eq!(got.last_offset, b["last_offset"].as_i64().unwrap());
        let sha = format!("{:x}", Sha256::digest(&got.batches));
        assert_eq!(sha, b["stored_batch_sha256"].as_str().unwrap(), "{tp} {b}");
        // Every codec decodes, Chronik's LZ4 block framing included.
        let records = got.records(0).unwrap();
        if b["kind"] != "control" {
            assert_eq!(records.len() as u64, b["record_count"].as_u64().unwrap());
        }
    }
}

#[tokio::test]
async fn search_and_offsets_for_time_find_records_of_chronik_segments() {
    let f = fixture();
    let manifest = index_demo(&f.pipeline).await;
    let data: Vec<&serde_json::Value> = manifest["batches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] != "control")
        .collect();
    // Offsets for time: the first record at or after a batch's max timestamp is in that batch or
    // earlier, and every timestamp past the last gives none.
    for b in &data {
        let tp = demo_tp(
            b["topic"].as_str().unwrap(),
            b["partition"].as_u64().unwrap(),
        );
        let ts = b["max_timestamp"].as_i64().unwrap();
        let found = f
            .pipeline
            .offsets(&tp, OffsetQuery::Timestamp(ts))
            .await
            .unwrap();
        let offset = found.offset.unwrap();
        assert!(offset <= b["last_offset"].as_i64().unwrap(), "{tp} {ts}");
        assert!(found.timestamp.unwrap() >= ts);
    }
    // Search: every record of every data batch is found by its own offset range and an empty
    // query, and a term from the demo's values finds hits in both topics.
    let all = f
        .pipeline
        .search(&SearchRequest {
            query: String::new(),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let data_records: u64 = data
        .iter()
        .map(|b| b["record_count"].as_u64().unwrap())
        .sum();
    assert_eq!(all.len() as u64, data_records);
    let hotel = f
        .pipeline
        .search(&SearchRequest {
            query: "hotel".into(),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!hotel.is_empty());
    for hit in &hotel {
        assert!(value_text(hit).contains("hotel"), "{hit:?}");
    }
    let expected = all
        .iter()
        .filter(|h| value_text(h).contains("hotel"))
        .count();
    assert_eq!(
        hotel.len(),
        expected,
        "the index finds exactly the records holding the term"
    );
}

/// A segment of partition `orders/0`, generated from the spec with every quirk real segments have.
fn quirky_segment(seed: u64) -> Vec<u8> {
    let spec = SynthSpec {
        seed,
        batch_records: 10,
        ..spec(60, 1, Compression::Lz4, 0)
    };
    let batches: Vec<Vec<u8>> = synth::batches(&spec)
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    let quirks = synth::ChronikQuirks {
        legacy_crc: seed.is_multiple_of(2),
        lz4_blocks: true,
        order: Some(vec![1, 0, 2, 4, 3, 5]),
        empty_frame_every: Some(2),
        repeat_every: Some(3),
    };
    synth::chronik_segment(&tp(0), &batches, &quirks).unwrap()
}

/// Ingests `bytes` as the object `key` and checks the all-or-nothing rule: quarantined with nothing
/// published, or indexed with every batch intact. Returns whether it was indexed.
async fn ingest_all_or_nothing(bytes: Vec<u8>, key: &str) -> bool {
    let backends = Backends::new();
    let p = backends.pipeline(Arc::new(FixedClock(1)));
    let key: ObjectKey = key.parse().unwrap();
    backends.store.put(&key, bytes).await.unwrap();
    let source = SourceObject {
        key,
        version: "v1".into(),
    };
    match p.ingest_object(&source).await.unwrap() {
        IngestOutcome::Quarantined { .. } => {
            assert!(backends.catalog.partitions().await.unwrap().is_empty());
            let archives = backends
                .store
                .list(ObjectKey::ARCHIVE_PREFIX)
                .await
                .unwrap();
            assert!(archives.is_empty(), "nothing published: {archives:?}");
            false
        }
        IngestOutcome::Indexed(report) => {
            for s in &report.segments {
                let got = p
                    .fetch(&FetchRequest {
                        tp: tp(s.segment.partition),
                        offset: s.segment.base_offset,
                        max_bytes: 64 << 20,
                    })
                    .await
                    .unwrap();
                for batch in tier::kafka::batches(&got.batches) {
                    batch.unwrap().verify_crc().unwrap();
                }
            }
            true
        }
    }
}

#[tokio::test]
async fn adversarial_chronik_segments_publish_all_or_nothing() {
    const KEY: &str = "chronik-wal/orders/0/wal_0_3.log";
    assert!(
        ingest_all_or_nothing(quirky_segment(1), KEY).await,
        "quirks are not damage"
    );
    assert!(ingest_all_or_nothing(quirky_segment(2), KEY).await);
    // The path names partition 1, the frames partition 0.
    assert!(!ingest_all_or_nothing(quirky_segment(1), "chronik-wal/orders/1/wal_1_3.log").await);
    // A torn tail, and random damage anywhere.
    let good = quirky_segment(3);
    assert!(!ingest_all_or_nothing(good[..good.len() - 1].to_vec(), KEY).await);
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..24 {
        let mut bytes = good.clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..bytes.len());
            bytes[i] = rng.random();
        }
        if rng.random_bool(0.3) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        ingest_all_or_nothing(bytes, KEY).await;
    }
}
