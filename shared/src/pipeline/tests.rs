//! End-to-end pipeline tests on the embedded backends, checked against brute-force oracles built from
//! the generated batches.

use std::sync::Arc;

use super::*;
use crate::catalog::{CatalogError, EmbeddedCatalog};
use crate::clock::FixedClock;
use crate::kafka::{BatchBuilder, Compression, RawBatch, RecordInput};
use crate::source::SourceError;
use crate::store::LocalStore;
use crate::synth::{self, SynthSpec, ValueShape};
use crate::types::{ObjectKey, Partition, Topic, TopicPartition};
use crate::wal::WalError;

struct Fixture {
    pipeline: Pipeline,
    _dir: tempfile::TempDir,
}

fn fixture_with(config: PipelineConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::embedded(dir.path(), Arc::new(FixedClock(1_000)), config).unwrap();
    Fixture {
        pipeline,
        _dir: dir,
    }
}

/// Small chunks so that even small tests span many chunks.
fn fixture() -> Fixture {
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    fixture_with(config)
}

/// Embedded backends in a temporary directory shared by several pipelines (several "processes"),
/// and the small-chunk configuration of [`fixture`].
struct Backends {
    store: Arc<dyn crate::store::ObjectStore>,
    catalog: Arc<dyn crate::catalog::Catalog>,
    config: PipelineConfig,
    _dir: tempfile::TempDir,
}

impl Backends {
    fn new() -> Backends {
        let dir = tempfile::tempdir().unwrap();
        let mut config = PipelineConfig::default();
        config.archive.chunk_target_bytes = 8 * 1024;
        Backends {
            store: Arc::new(LocalStore::open(dir.path().join("objects")).unwrap()),
            catalog: Arc::new(EmbeddedCatalog::open(dir.path().join("catalog.redb")).unwrap()),
            config,
            _dir: dir,
        }
    }

    /// A pipeline ("process") over these backends, reading time from `clock`.
    fn pipeline(&self, clock: Arc<dyn crate::clock::Clock>) -> Pipeline {
        Pipeline::new(
            self.store.clone(),
            self.catalog.clone(),
            clock,
            self.config.clone(),
        )
    }
}

fn spec(records: u64, partitions: u32, compression: Compression, start_offset: i64) -> SynthSpec {
    SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions,
        records,
        batch_records: 20,
        compression,
        shape: ValueShape::Json,
        start_offset,
        start_timestamp_ms: 1_700_000_000_000,
        seed: 3,
    }
}

fn tp(p: u32) -> TopicPartition {
    TopicPartition::new(
        "orders".parse().unwrap(),
        Partition::try_from(i64::from(p)).unwrap(),
    )
}

/// The batches of partition `p`, in order, with their (base, last) offsets.
fn partition_batches(batches: &[(u32, Vec<u8>)], p: u32) -> Vec<(i64, i64, &[u8])> {
    batches
        .iter()
        .filter(|(q, _)| *q == p)
        .map(|(_, b)| {
            let h = *RawBatch::parse(b).unwrap().header();
            (h.base_offset, h.last_offset(), b.as_slice())
        })
        .collect()
}

/// Kafka fetch semantics computed directly from the original batches.
fn expected_fetch(batches: &[(i64, i64, &[u8])], offset: i64, max_bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, last, bytes) in batches.iter().filter(|(_, last, _)| *last >= offset) {
        let _ = last;
        if !out.is_empty() && out.len() + bytes.len() > max_bytes {
            break;
        }
        out.extend_from_slice(bytes);
    }
    out
}

/// Fetches partition 0 of `p` and asserts the bytes are exactly what Kafka semantics give over the
/// original batches.
async fn assert_fetch_matches(
    p: &Pipeline,
    originals: &[(u32, Vec<u8>)],
    offset: i64,
    max_bytes: usize,
) {
    let got = p
        .fetch(&FetchRequest {
            tp: tp(0),
            offset,
            max_bytes,
        })
        .await
        .unwrap();
    let want = expected_fetch(&partition_batches(originals, 0), offset, max_bytes);
    assert!(
        got.batches == want,
        "offset {offset} max_bytes {max_bytes}: bytes differ"
    );
}

async fn index_wal(p: &Pipeline, id: &str, batches: &[(u32, Vec<u8>)]) -> IndexReport {
    let wal = synth::wal_segment(&"orders".parse().unwrap(), batches).unwrap();
    p.index_source(id, &wal, None).await.unwrap()
}

#[tokio::test]
async fn fetch_is_byte_exact_across_segments_and_chunks() {
    let f = fixture();
    let first = synth::batches(&spec(3_000, 2, Compression::Lz4, 0)).unwrap();
    let next_start = 1_500; // 3,000 records in batches of 20 round-robin over 2 partitions
    let second = synth::batches(&SynthSpec {
        seed: 4,
        ..spec(2_000, 2, Compression::Gzip, next_start)
    })
    .unwrap();
    let r1 = index_wal(&f.pipeline, "seg-1", &first).await;
    let r2 = index_wal(&f.pipeline, "seg-2", &second).await;
    assert_eq!((r1.segments.len(), r2.segments.len()), (2, 2));
    assert!(r1.segments.iter().all(|s| s.added));

    for p in 0..2 {
        let all: Vec<(u32, Vec<u8>)> = first.iter().chain(&second).cloned().collect();
        let originals = partition_batches(&all, p);
        let last = originals.last().unwrap().1;
        for offset in (0..=last).step_by(37).chain([0, 1_499, 1_500, last]) {
            for max_bytes in [0, 5_000, 40_000, 1 << 20] {
                let got = f
                    .pipeline
                    .fetch(&FetchRequest {
                        tp: tp(p),
                        offset,
                        max_bytes,
                    })
                    .await
                    .unwrap();
                let want = expected_fetch(&originals, offset, max_bytes);
                assert_eq!(
                    got.batches.len(),
                    want.len(),
                    "p{p} offset {offset} max {max_bytes}"
                );
                assert!(got.batches == want, "bytes differ at p{p} offset {offset}");
                assert_eq!(got.next_offset, got.last_offset + 1);
            }
        }
    }
}

#[tokio::test]
async fn out_of_range_and_unknown_partitions_are_distinct_errors() {
    let f = fixture();
    index_wal(
        &f.pipeline,
        "s",
        &synth::batches(&spec(400, 1, Compression::None, 100)).unwrap(),
    )
    .await;
    let pipeline = &f.pipeline;
    let fetch = |offset| async move {
        pipeline
            .fetch(&FetchRequest {
                tp: tp(0),
                offset,
                max_bytes: 100,
            })
            .await
    };
    for offset in [0, 99, 500, i64::MAX] {
        match fetch(offset).await {
            Err(PipelineError::OffsetOutOfRange {
                earliest,
                latest,
                requested,
                ..
            }) => {
                assert_eq!(
                    (earliest.get(), latest.get(), requested),
                    (100, 499, offset)
                );
            }
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    assert_eq!(fetch(-1).await.unwrap_err().code(), ErrorCode::BadRequest);
    let err = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(9),
            offset: 0,
            max_bytes: 1,
        })
        .await;
    assert!(matches!(err, Err(PipelineError::UnknownPartition(_))));
    assert_eq!(err.unwrap_err().code().http_status(), 404);
}

#[tokio::test]
async fn reindexing_is_a_no_op_and_leaves_no_extra_objects() {
    let f = fixture();
    let batches = synth::batches(&spec(500, 2, Compression::Snappy, 0)).unwrap();
    index_wal(&f.pipeline, "a", &batches).await;
    let objects = f.pipeline.store().list("").await.unwrap();
    let again = index_wal(&f.pipeline, "a", &batches).await;
    assert!(again.already_indexed);
    let other_name = index_wal(&f.pipeline, "b", &batches).await;
    assert!(!other_name.already_indexed);
    assert!(other_name.segments.iter().all(|s| !s.added));
    assert_eq!(f.pipeline.store().list("").await.unwrap(), objects);
}

#[tokio::test]
async fn conflicting_overlap_is_rejected_and_nothing_is_published() {
    let f = fixture();
    index_wal(
        &f.pipeline,
        "a",
        &synth::batches(&spec(500, 1, Compression::None, 0)).unwrap(),
    )
    .await;
    let objects = f.pipeline.store().list("").await.unwrap();
    let before = f.pipeline.catalog().partitions().await.unwrap();
    let clash = synth::batches(&SynthSpec {
        seed: 99,
        ..spec(100, 1, Compression::None, 450)
    })
    .unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &clash).unwrap();
    let err = f
        .pipeline
        .index_source("clash", &wal, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::Catalog(CatalogError::Conflict { .. })),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(f.pipeline.catalog().partitions().await.unwrap(), before);
    assert_eq!(f.pipeline.store().list("").await.unwrap(), objects);
    assert!(
        f.pipeline
            .catalog()
            .ingest_record("clash")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn corrupt_or_unsealed_sources_change_nothing() {
    let f = fixture();
    let batches = synth::batches(&spec(200, 2, Compression::Zstd, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let mut flipped = wal.clone();
    flipped[wal.len() / 2] ^= 0x10;
    let unsealed = &wal[..wal.len() - 3];
    for (bytes, name) in [
        (&flipped[..], "flipped"),
        (unsealed, "unsealed"),
        (&b"hello"[..], "junk"),
    ] {
        let err = f
            .pipeline
            .index_source(name, bytes, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::CorruptInput, "{name}: {err}");
    }
    let err = f
        .pipeline
        .index_source("u", unsealed, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PipelineError::InvalidSource(SourceError::Wal(WalError::NotSealed))
    ));
    assert!(f.pipeline.store().list("").await.unwrap().is_empty());
    assert!(f.pipeline.catalog().partitions().await.unwrap().is_empty());
}

#[tokio::test]
async fn kafka_log_sources_need_a_partition_and_keep_special_batches_intact() {
    let f = fixture();
    let mut log = Vec::new();
    let mut txn = BatchBuilder::new(0, Compression::Gzip)
        .producer(77, 1, 0)
        .transactional(true);
    txn.push(RecordInput {
        timestamp: 5,
        key: None,
        value: Some(b"in a txn".to_vec()),
        headers: vec![],
    });
    log.extend(txn.build().unwrap());
    let mut marker = BatchBuilder::new(1, Compression::None)
        .producer(77, 1, -1)
        .transactional(true)
        .control(true);
    marker.push(RecordInput {
        timestamp: 6,
        key: Some(vec![0, 0, 0, 1]),
        value: Some(vec![0, 0, 0, 0, 0, 0]),
        headers: vec![],
    });
    log.extend(marker.build().unwrap());
    let err = f
        .pipeline
        .index_source("log", &log, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PipelineError::InvalidSource(SourceError::MissingTopicPartition)
    ));
    let report = f
        .pipeline
        .index_source("log", &log, Some(&tp(3)))
        .await
        .unwrap();
    assert_eq!(report.format, Some(crate::source::SourceFormat::KafkaLog));
    let got = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(3),
            offset: 0,
            max_bytes: 1 << 20,
        })
        .await
        .unwrap();
    assert_eq!(got.batches, log);
    assert_eq!(got.batch_count, 2);
}

#[tokio::test]
async fn offsets_for_time_match_a_scan_of_the_records() {
    let f = fixture();
    let batches = synth::batches(&spec(1_000, 1, Compression::Lz4, 10)).unwrap();
    index_wal(&f.pipeline, "t", &batches).await;
    let records: Vec<(i64, i64)> = batches
        .iter()
        .flat_map(|(_, b)| RawBatch::parse(b).unwrap().records().unwrap())
        .map(|r| (r.offset, r.timestamp))
        .collect();
    let (first_ts, last_ts) = (records[0].1, records.last().unwrap().1);
    for ts in [
        0,
        first_ts,
        first_ts + 1,
        (first_ts + last_ts) / 2,
        last_ts,
        last_ts + 1,
    ] {
        let want = records.iter().find(|(_, t)| *t >= ts).map(|(o, _)| *o);
        let got = f
            .pipeline
            .offsets(&tp(0), OffsetQuery::Timestamp(ts))
            .await
            .unwrap();
        assert_eq!(got.offset, want, "timestamp {ts}");
    }
    let earliest = f
        .pipeline
        .offsets(&tp(0), OffsetQuery::Earliest)
        .await
        .unwrap();
    let latest = f
        .pipeline
        .offsets(&tp(0), OffsetQuery::Latest)
        .await
        .unwrap();
    assert_eq!((earliest.offset, latest.offset), (Some(10), Some(1_010)));
}

#[tokio::test]
async fn search_matches_an_oracle_over_the_decoded_records() {
    let f = fixture();
    let batches = synth::batches(&spec(1_500, 2, Compression::Zstd, 0)).unwrap();
    index_wal(&f.pipeline, "s", &batches).await;
    let mut oracle = Vec::new();
    for (p, b) in &batches {
        for r in RawBatch::parse(b).unwrap().records().unwrap() {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
            if v["country"] == "ES" && v["event"] == "purchase" {
                oracle.push((*p, r.offset, r.value.clone()));
            }
        }
    }
    oracle.sort();
    let req = SearchRequest {
        topic: Some("orders".parse::<Topic>().unwrap()),
        query: "value.country:ES AND value.event:purchase".into(),
        limit: 10_000,
        ..Default::default()
    };
    let hits = f.pipeline.search(&req).await.unwrap();
    let got: Vec<_> = hits
        .iter()
        .map(|h| {
            (
                h.partition,
                h.record.offset,
                h.record.value.clone().map(String::into_bytes),
            )
        })
        .collect();
    assert!(!oracle.is_empty());
    assert_eq!(got, oracle);
    let limited = f
        .pipeline
        .search(&SearchRequest {
            limit: 3,
            ..req.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited, hits[..3].to_vec());
    let bad = f
        .pipeline
        .search(&SearchRequest {
            query: "value:(".into(),
            ..req
        })
        .await;
    assert_eq!(bad.unwrap_err().code(), ErrorCode::BadRequest);
}

#[tokio::test]
async fn archives_extract_with_system_tar_and_the_index_opens() {
    let f = fixture();
    index_wal(
        &f.pipeline,
        "x",
        &synth::batches(&spec(300, 1, Compression::None, 0)).unwrap(),
    )
    .await;
    let seg = f
        .pipeline
        .catalog()
        .segments(&tp(0))
        .await
        .unwrap()
        .remove(0);
    let archive = f.pipeline.store().get(&seg.archive_key).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar.gz");
    std::fs::write(&path, &archive).unwrap();
    let status = std::process::Command::new("tar")
        .args(["xzf", "a.tar.gz"])
        .current_dir(dir.path())
        .status()
        .expect("system tar runs");
    assert!(status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["record_count"], 300);
    let index = tantivy::Index::open_in_dir(dir.path().join("index")).unwrap();
    let searcher = index.reader().unwrap().searcher();
    assert_eq!(searcher.num_docs(), 300);
    let mut batches = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir.path().join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for n in names {
        batches.extend(std::fs::read(n).unwrap());
    }
    let got = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(0),
            offset: 0,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap();
    assert_eq!(batches, got.batches);
}

#[tokio::test]
async fn ingest_object_indexes_or_quarantines_for_good() {
    let f = fixture();
    let store = f.pipeline.store();
    let batches = synth::batches(&spec(300, 1, Compression::Lz4, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let source = |key: &str| SourceObject {
        key: key.parse().unwrap(),
        version: "etag1".into(),
    };

    store
        .put(&"wal/a.wal".parse().unwrap(), wal.clone())
        .await
        .unwrap();
    let outcome = f
        .pipeline
        .ingest_object(&source("wal/a.wal"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Indexed(ref r) if r.segments.len() == 1),
        "{outcome:?}"
    );

    let log: Vec<u8> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    store
        .put(
            &"kafka-logs/orders.eu-7/00000000000000000000.log"
                .parse()
                .unwrap(),
            log,
        )
        .await
        .unwrap();
    let log_source = source("kafka-logs/orders.eu-7/00000000000000000000.log");
    assert_eq!(
        log_source
            .log_partition()
            .map(|tp| tp.to_string())
            .as_deref(),
        Some("orders.eu/7")
    );
    let outcome = f.pipeline.ingest_object(&log_source).await.unwrap();
    assert!(matches!(outcome, IngestOutcome::Indexed(_)), "{outcome:?}");

    let mut corrupt = wal.clone();
    corrupt[100] ^= 1;
    store
        .put(&"wal/b.wal".parse().unwrap(), corrupt.clone())
        .await
        .unwrap();
    let first = f
        .pipeline
        .ingest_object(&source("wal/b.wal"))
        .await
        .unwrap();
    let IngestOutcome::Quarantined { reason, copy } = &first else {
        panic!("{first:?}")
    };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert_eq!(copy, "quarantine/wal/b.wal");
    assert_eq!(store.get(&copy.parse().unwrap()).await.unwrap(), corrupt);
    let ledger = f
        .pipeline
        .catalog()
        .ingest_record("wal/b.wal#etag1")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        ledger.status,
        crate::catalog::IngestStatus::Quarantined { .. }
    ));
    store.delete(&copy.parse().unwrap()).await.unwrap();
    assert_eq!(
        f.pipeline
            .ingest_object(&source("wal/b.wal"))
            .await
            .unwrap(),
        first
    );
    assert!(
        !store.exists(&copy.parse().unwrap()).await.unwrap(),
        "a recorded quarantine is not redone"
    );

    let clash = synth::batches(&SynthSpec {
        seed: 9,
        ..spec(10, 1, Compression::None, 5)
    })
    .unwrap();
    store
        .put(
            &"wal/c.wal".parse().unwrap(),
            synth::wal_segment(&"orders".parse().unwrap(), &clash).unwrap(),
        )
        .await
        .unwrap();
    let outcome = f
        .pipeline
        .ingest_object(&source("wal/c.wal"))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, IngestOutcome::Quarantined { reason, .. } if reason.contains("overlaps")),
        "{outcome:?}"
    );

    let missing = f
        .pipeline
        .ingest_object(&source("wal/missing.wal"))
        .await
        .unwrap_err();
    assert_eq!(
        missing.code(),
        ErrorCode::Internal,
        "a missing object is not quarantined"
    );
}

#[tokio::test]
async fn the_read_cache_serves_repeated_fetches_and_searches() {
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    config.cache_bytes = 64 << 20;
    let f = fixture_with(config);
    let batches = synth::batches(&spec(2_000, 1, Compression::Gzip, 0)).unwrap();
    index_wal(&f.pipeline, "c", &batches).await;
    let req = FetchRequest {
        tp: tp(0),
        offset: 700,
        max_bytes: 50_000,
    };
    let cold = f.pipeline.fetch(&req).await.unwrap();
    let after_cold = f.pipeline.cache_stats();
    let warm = f.pipeline.fetch(&req).await.unwrap();
    let after_warm = f.pipeline.cache_stats();
    assert_eq!(cold.batches, warm.batches);
    assert_eq!(
        after_warm.misses, after_cold.misses,
        "warm fetch read nothing from the store"
    );
    assert!(after_warm.hits > after_cold.hits);
    let search = SearchRequest {
        query: "value.country:ES".into(),
        limit: 5,
        ..Default::default()
    };
    let a = f.pipeline.search(&search).await.unwrap();
    let misses = f.pipeline.cache_stats().misses;
    assert_eq!(f.pipeline.search(&search).await.unwrap(), a);
    assert_eq!(f.pipeline.cache_stats().misses, misses);
    assert!(f.pipeline.cache_stats().bytes <= 64 << 20);
}

#[tokio::test]
async fn a_fetch_within_a_segment_costs_one_catalog_lookup_and_one_ranged_read() {
    use crate::catalog::CountingCatalog;
    use crate::store::CountingStore;
    let dir = tempfile::tempdir().unwrap();
    let store = CountingStore::new(Arc::new(LocalStore::open(dir.path().join("o")).unwrap()));
    let catalog = CountingCatalog::new(Arc::new(
        EmbeddedCatalog::open(dir.path().join("c")).unwrap(),
    ));
    let pipeline = Pipeline::new(
        Arc::new(store.clone()),
        Arc::new(catalog.clone()),
        Arc::new(FixedClock(1)),
        PipelineConfig::default(),
    );
    let batches = synth::batches(&spec(5_000, 1, Compression::Lz4, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let (s0, c0) = (store.counts(), catalog.counts());
    pipeline.index_source("w", &wal, None).await.unwrap();
    let (s1, c1) = (store.counts(), catalog.counts());
    assert_eq!(
        (s1.since(&s0).put, s1.since(&s0).total()),
        (1, 1),
        "indexing one segment: one put"
    );
    assert_eq!(
        c1.since(&c0).writes,
        1,
        "indexing one segment: one catalog transaction"
    );
    for offset in [0, 1_234, 4_999] {
        let (s, c) = (store.counts(), catalog.counts());
        let got = pipeline
            .fetch(&FetchRequest {
                tp: tp(0),
                offset,
                max_bytes: 64 << 10,
            })
            .await
            .unwrap();
        assert!(got.batch_count > 0);
        let (ds, dc) = (store.counts().since(&s), catalog.counts().since(&c));
        // The tail of the last segment also asks for the next segment (there is none).
        let lookups = if got.next_offset > 4_999 { 2 } else { 1 };
        assert_eq!(
            (ds.get_range, ds.total()),
            (1, 1),
            "offset {offset}: one ranged GET"
        );
        assert_eq!(
            (dc.segment_covering, dc.reads),
            (lookups, lookups),
            "offset {offset}"
        );
    }
}

/// Four contiguous segments of partition 0 (250 records each), indexed from four WAL sources.
async fn four_segments(p: &Pipeline) -> Vec<(u32, Vec<u8>)> {
    let mut all = Vec::new();
    for i in 0..4 {
        let spec = SynthSpec {
            seed: i,
            // Each segment its own 100-second slice of time, in offset order.
            start_timestamp_ms: 1_700_000_000_000 + i as i64 * 100_000,
            ..spec(250, 1, Compression::Gzip, i as i64 * 250)
        };
        let batches = synth::batches(&spec).unwrap();
        index_wal(p, &format!("w{i}"), &batches).await;
        all.extend(batches);
    }
    all
}

/// Everything a reader can observe of partition 0: fetches, search hits, offsets by time.
async fn observe(p: &Pipeline) -> (Vec<Vec<u8>>, Vec<SearchHit>, Vec<Option<i64>>) {
    let mut fetches = Vec::new();
    for offset in (0..1_000).step_by(37) {
        for max_bytes in [1, 20_000] {
            fetches.push(
                p.fetch(&FetchRequest {
                    tp: tp(0),
                    offset,
                    max_bytes,
                })
                .await
                .unwrap()
                .batches,
            );
        }
    }
    let req = SearchRequest {
        query: "value.country:ES".into(),
        limit: 1_000,
        ..Default::default()
    };
    let hits = p.search(&req).await.unwrap();
    let mut times = Vec::new();
    for ts in (1_699_999_999_000..1_700_000_400_000).step_by(7_777) {
        times.push(
            p.offsets(&tp(0), OffsetQuery::Timestamp(ts))
                .await
                .unwrap()
                .offset,
        );
    }
    (fetches, hits, times)
}

#[tokio::test]
async fn merging_segments_changes_nothing_a_reader_can_observe() {
    let f = fixture();
    four_segments(&f.pipeline).await;
    let before = observe(&f.pipeline).await;
    let segments = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let runs = plan_compaction(&segments, &CompactionPolicy::default());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].segments.len(), 4);
    let old_keys: Vec<_> = segments.iter().map(|s| s.archive_key.clone()).collect();
    let outcome = f.pipeline.merge_run(&tp(0), &runs[0]).await.unwrap();
    assert_eq!(
        (
            outcome.added.base_offset,
            outcome.added.last_offset,
            outcome.added.records
        ),
        (0, 999, 1_000)
    );
    assert_eq!(
        f.pipeline.catalog().segments(&tp(0)).await.unwrap().len(),
        1
    );
    assert_eq!(
        observe(&f.pipeline).await,
        before,
        "fetch, search and offsets are unchanged"
    );
    for key in old_keys {
        assert!(
            f.pipeline.store().exists(&key).await.unwrap(),
            "superseded archives stay for readers"
        );
    }
}

#[tokio::test]
async fn a_stale_merge_changes_nothing() {
    let f = fixture();
    four_segments(&f.pipeline).await;
    let segments = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let run = plan_compaction(&segments, &CompactionPolicy::default()).remove(0);
    let partial = MergeRun {
        segments: run.segments[..2].to_vec(),
        ..run.clone()
    };
    f.pipeline.merge_run(&tp(0), &partial).await.unwrap();
    let objects = f.pipeline.store().list("").await.unwrap();
    let state = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let err = f.pipeline.merge_run(&tp(0), &run).await.unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::InvalidRequest(_) | PipelineError::Catalog(_)
        ),
        "{err}"
    );
    assert_eq!(f.pipeline.catalog().segments(&tp(0)).await.unwrap(), state);
    assert_eq!(
        f.pipeline.store().list("").await.unwrap(),
        objects,
        "the unused merge output is removed"
    );
}

#[tokio::test]
async fn retention_drops_the_oldest_segments_and_moves_the_earliest_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    let setup = Pipeline::embedded(dir.path(), Arc::new(FixedClock(0)), config.clone()).unwrap();
    let f = Fixture {
        pipeline: setup,
        _dir: tempfile::tempdir().unwrap(),
    };
    four_segments(&f.pipeline).await;
    let segments = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    // "Now" is one hour after segment 1's newest record: segments 0 and 1 are past a one-hour retention.
    let now = segments[1].max_timestamp + 3_600_000 + 1;
    drop(f);
    let p = Pipeline::embedded(dir.path(), Arc::new(FixedClock(now)), config).unwrap();
    let hour = Retention::from_hours_and_bytes(1, 0);
    let planned = p.apply_retention(&tp(0), &hour, true).await.unwrap();
    assert_eq!(
        p.catalog().segments(&tp(0)).await.unwrap().len(),
        4,
        "a dry run changes nothing"
    );
    let outcome = p.apply_retention(&tp(0), &hour, false).await.unwrap();
    assert_eq!(outcome, planned);
    assert_eq!(
        outcome.removed,
        vec![segments[0].id.clone(), segments[1].id.clone()]
    );
    assert_eq!(outcome.earliest, Some(500));
    match p
        .fetch(&FetchRequest {
            tp: tp(0),
            offset: 10,
            max_bytes: 1,
        })
        .await
    {
        Err(PipelineError::OffsetOutOfRange { earliest, .. }) => assert_eq!(earliest.get(), 500),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        p.apply_retention(&tp(0), &hour, false)
            .await
            .unwrap()
            .removed,
        vec![]
    );
}

#[tokio::test]
async fn compaction_applies_each_topics_retention_and_reports_the_cut_point() {
    let f = fixture();
    four_segments(&f.pipeline).await;
    let audit: Topic = "audit".parse().unwrap();
    let audit_tp = TopicPartition::new(audit.clone(), Partition::try_from(0).unwrap());
    for i in 0..2 {
        let spec = SynthSpec {
            topic: audit.clone(),
            seed: 10 + i,
            ..spec(100, 1, Compression::None, i as i64 * 100)
        };
        let wal = synth::wal_segment(&audit, &synth::batches(&spec).unwrap()).unwrap();
        f.pipeline
            .index_source(&format!("a{i}"), &wal, None)
            .await
            .unwrap();
    }
    let orders = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    // Keep one segment's worth of bytes by default; the audit topic keeps everything.
    let req = CompactionRequest {
        retention: RetentionPolicy {
            default: Retention::from_hours_and_bytes(0, orders[3].data_bytes),
            topics: RetentionPolicy::parse_overrides(r#"{"audit": {"bytes": 0}}"#).unwrap(),
        },
        ..Default::default()
    };
    let dry = f
        .pipeline
        .compact(&CompactionRequest {
            dry_run: true,
            ..req.clone()
        })
        .await
        .unwrap();
    assert_eq!(f.pipeline.catalog().segments(&tp(0)).await.unwrap(), orders);
    let report = f.pipeline.compact(&req).await.unwrap();
    for r in [&dry, &report] {
        assert_eq!(r.segments_expired, 3);
        assert_eq!(r.plans.len(), 1, "only orders had something to do");
        assert_eq!(
            (r.plans[0].topic.as_str(), r.plans[0].expired),
            ("orders", 3)
        );
        assert_eq!(r.plans[0].earliest_after_retention, Some(750));
    }
    assert_eq!(
        f.pipeline.catalog().segments(&tp(0)).await.unwrap(),
        orders[3..]
    );
    assert_eq!(
        f.pipeline
            .catalog()
            .segments(&audit_tp)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        f.pipeline.catalog().retired_archives().await.unwrap().len(),
        3,
        "dropped archives wait for garbage collection"
    );
    match f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(0),
            offset: 0,
            max_bytes: 1,
        })
        .await
    {
        Err(PipelineError::OffsetOutOfRange { earliest, .. }) => assert_eq!(earliest.get(), 750),
        other => panic!("{other:?}"),
    }
}

/// A catalog that answers the first `segment_covering` with entries captured before compaction, as a
/// fetch racing a compactor would see them.
#[derive(Debug)]
struct StaleOnce {
    inner: Arc<dyn crate::catalog::Catalog>,
    stale: std::sync::Mutex<Option<crate::catalog::SegmentEntry>>,
    stale_list: std::sync::Mutex<Option<Vec<crate::catalog::SegmentEntry>>>,
    stale_by_time: std::sync::Mutex<Option<crate::catalog::SegmentEntry>>,
}

#[async_trait::async_trait]
impl crate::catalog::Catalog for StaleOnce {
    async fn register(
        &self,
        i: &crate::catalog::IngestRecord,
        s: &[crate::catalog::SegmentEntry],
    ) -> crate::catalog::CatalogResult<crate::catalog::RegisterOutcome> {
        self.inner.register(i, s).await
    }
    async fn ingest_record(
        &self,
        s: &str,
    ) -> crate::catalog::CatalogResult<Option<crate::catalog::IngestRecord>> {
        self.inner.ingest_record(s).await
    }
    async fn record_ingest(
        &self,
        r: &crate::catalog::IngestRecord,
    ) -> crate::catalog::CatalogResult<()> {
        self.inner.record_ingest(r).await
    }
    async fn partition(
        &self,
        tp: &TopicPartition,
    ) -> crate::catalog::CatalogResult<Option<crate::catalog::PartitionInfo>> {
        self.inner.partition(tp).await
    }
    async fn partitions(
        &self,
    ) -> crate::catalog::CatalogResult<Vec<crate::catalog::PartitionInfo>> {
        self.inner.partitions().await
    }
    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        o: crate::types::Offset,
    ) -> crate::catalog::CatalogResult<Option<crate::catalog::SegmentEntry>> {
        if let Some(stale) = self.stale.lock().unwrap().take() {
            return Ok(Some(stale));
        }
        self.inner.segment_covering(tp, o).await
    }
    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        t: i64,
    ) -> crate::catalog::CatalogResult<Option<crate::catalog::SegmentEntry>> {
        if let Some(stale) = self.stale_by_time.lock().unwrap().take() {
            return Ok(Some(stale));
        }
        self.inner.segment_for_timestamp(tp, t).await
    }
    async fn segments(
        &self,
        tp: &TopicPartition,
    ) -> crate::catalog::CatalogResult<Vec<crate::catalog::SegmentEntry>> {
        if let Some(stale) = self.stale_list.lock().unwrap().take() {
            return Ok(stale);
        }
        self.inner.segments(tp).await
    }
    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        v: u64,
        r: &[crate::types::SegmentId],
        a: &[crate::catalog::SegmentEntry],
        at: i64,
    ) -> crate::catalog::CatalogResult<u64> {
        self.inner.swap_segments(tp, v, r, a, at).await
    }
    async fn retired_archives(
        &self,
    ) -> crate::catalog::CatalogResult<Vec<crate::catalog::RetiredArchive>> {
        self.inner.retired_archives().await
    }
    async fn forget_retired(&self, keys: &[ObjectKey]) -> crate::catalog::CatalogResult<()> {
        self.inner.forget_retired(keys).await
    }
}

#[tokio::test]
async fn readers_that_find_their_archive_gone_reread_the_catalog_once() {
    let backends = Backends::new();
    let clock = Arc::new(FixedClock(1));
    let compactor = backends.pipeline(clock.clone());
    let (store, catalog, config) = (
        backends.store.clone(),
        backends.catalog.clone(),
        backends.config.clone(),
    );
    let originals = four_segments(&compactor).await;
    let segments = catalog.segments(&tp(0)).await.unwrap();
    let run = plan_compaction(&segments, &CompactionPolicy::default()).remove(0);
    compactor.merge_run(&tp(0), &run).await.unwrap();
    for seg in &segments {
        store.delete(&seg.archive_key).await.unwrap();
    }
    // This reader looked up segment 1 before the merge; its archive is gone by the time it reads.
    let stale = StaleOnce {
        inner: catalog,
        stale: std::sync::Mutex::new(Some(segments[1].clone())),
        stale_list: std::sync::Mutex::new(Some(segments.clone())),
        stale_by_time: std::sync::Mutex::new(Some(segments[2].clone())),
    };
    let reader = Pipeline::new(store, Arc::new(stale), clock, config);
    assert_fetch_matches(&reader, &originals, 300, 1 << 20).await;
    // A search that listed the segments before the merge retries the partition from a fresh list.
    let query = SearchRequest {
        query: "value.country:ES".into(),
        limit: 1_000,
        ..Default::default()
    };
    let hits = reader.search(&query).await.unwrap();
    assert!(!hits.is_empty());
    assert_eq!(hits, compactor.search(&query).await.unwrap());
    // So does an offset-for-time lookup that found segment 2 before the merge.
    let ts = segments[2].min_timestamp + 1;
    let found = reader
        .offsets(&tp(0), OffsetQuery::Timestamp(ts))
        .await
        .unwrap();
    assert_eq!(
        found,
        compactor
            .offsets(&tp(0), OffsetQuery::Timestamp(ts))
            .await
            .unwrap()
    );
    assert!(found.offset.is_some_and(|o| (500..750).contains(&o)));
}

#[tokio::test]
async fn garbage_collection_waits_for_the_grace_period_and_keeps_live_archives() {
    use crate::clock::{Clock, SystemClock};
    let dir = tempfile::tempdir().unwrap();
    let now = SystemClock.now_ms();
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    let at =
        |ms: i64| Pipeline::embedded(dir.path(), Arc::new(FixedClock(ms)), config.clone()).unwrap();
    let f = Fixture {
        pipeline: at(now),
        _dir: tempfile::tempdir().unwrap(),
    };
    let originals = four_segments(&f.pipeline).await;
    let old = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let run = plan_compaction(&old, &CompactionPolicy::default()).remove(0);
    f.pipeline.merge_run(&tp(0), &run).await.unwrap();
    let stray: ObjectKey = "archives/orders/0/stray.tar.gz".parse().unwrap();
    f.pipeline
        .store()
        .put(&stray, b"left by a crash".to_vec())
        .await
        .unwrap();
    let grace = 15 * 60_000;

    let early = f.pipeline.collect_garbage(grace, false).await.unwrap();
    assert_eq!(
        (
            early.retired_deleted,
            early.retired_waiting,
            early.orphans_deleted
        ),
        (0, 4, 0)
    );
    drop(f);

    // Two hours on: past the grace period and the orphans' minimum age.
    let later = at(now + 7_200_000);
    let dry = later.collect_garbage(grace, true).await.unwrap();
    assert_eq!((dry.retired_deleted, dry.orphans_deleted), (4, 1));
    assert!(
        later.store().exists(&stray).await.unwrap(),
        "a dry run deletes nothing"
    );
    let done = later.collect_garbage(grace, false).await.unwrap();
    assert_eq!(done, dry);
    for seg in &old {
        assert!(!later.store().exists(&seg.archive_key).await.unwrap());
    }
    assert!(!later.store().exists(&stray).await.unwrap());
    assert!(later.catalog().retired_archives().await.unwrap().is_empty());
    let live = later.catalog().segments(&tp(0)).await.unwrap();
    assert!(
        later.store().exists(&live[0].archive_key).await.unwrap(),
        "the live archive stays"
    );
    assert_fetch_matches(&later, &originals, 0, 64 << 20).await;
    assert_eq!(
        later
            .collect_garbage(grace, false)
            .await
            .unwrap()
            .retired_deleted,
        0
    );
}

/// What readers of partition 0 see: fetches at every `STRIDE`th offset, search hits, offsets by time.
struct ReaderView {
    fetches: Vec<(i64, Vec<u8>)>,
    hits: Vec<SearchHit>,
    times: Vec<(i64, Option<i64>)>,
}

const STRIDE: usize = 61;

impl ReaderView {
    async fn read(p: &Pipeline, end: i64) -> ReaderView {
        let mut view = ReaderView {
            fetches: Vec::new(),
            hits: p.search(&Self::query()).await.unwrap(),
            times: Vec::new(),
        };
        for offset in (0..end).step_by(STRIDE) {
            view.fetches.push((offset, Self::fetch(p, offset).await));
        }
        for ts in (1_699_999_999_000..1_700_001_300_000).step_by(97_531) {
            view.times.push((ts, Self::offset_at(p, ts).await));
        }
        view
    }

    fn query() -> SearchRequest {
        SearchRequest {
            query: "value.country:ES".into(),
            limit: 10_000,
            ..Default::default()
        }
    }

    async fn fetch(p: &Pipeline, offset: i64) -> Vec<u8> {
        let req = FetchRequest {
            tp: tp(0),
            offset,
            max_bytes: 20_000,
        };
        match p.fetch(&req).await {
            Ok(got) => got.batches,
            Err(e) => panic!("fetch at {offset}: {e}"),
        }
    }

    async fn offset_at(p: &Pipeline, ts: i64) -> Option<i64> {
        match p.offsets(&tp(0), OffsetQuery::Timestamp(ts)).await {
            Ok(found) => found.offset,
            Err(e) => panic!("offset at {ts}: {e}"),
        }
    }

    /// Reads in a loop, each reader from its own starting point, until `done` and one more
    /// pass; every answer must equal this view's. Returns the reads made.
    async fn check_until(
        &self,
        p: Pipeline,
        reader: usize,
        done: Arc<std::sync::atomic::AtomicBool>,
    ) -> usize {
        let mut reads = 0;
        let mut last_pass = false;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            for (i, (offset, want)) in self.fetches.iter().enumerate().skip(reader) {
                assert!(
                    Self::fetch(&p, *offset).await == *want,
                    "fetch at {offset} changed"
                );
                reads += 1;
                if i % 8 == 0 {
                    let (ts, want) = self.times[(i / 8) % self.times.len()];
                    assert_eq!(Self::offset_at(&p, ts).await, want, "offset at {ts}");
                }
            }
            assert!(
                p.search(&Self::query()).await.unwrap() == self.hits,
                "search changed"
            );
            reads += 1;
            if last_pass {
                return reads;
            }
            last_pass = finished;
        }
    }
}

/// Two compactors merge the same partition at once while a collector deletes every retired archive
/// once a (test-scaled) grace period has passed, and readers fetch, search and look up offsets in a
/// loop throughout: every read succeeds with the same answer as before, and the catalog stays valid.
/// (A reader that finds an archive gone despite the grace period is tested deterministically in
/// `readers_that_find_their_archive_gone_reread_the_catalog_once`.)
async fn compactors_collector_and_readers_race(
    store: Arc<dyn crate::store::ObjectStore>,
    catalog: Arc<dyn crate::catalog::Catalog>,
) {
    use crate::clock::SystemClock;
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    // Longer than any single read takes here, far shorter than the run.
    const GRACE_MS: i64 = 3_000;
    let process = || {
        Pipeline::new(
            store.clone(),
            catalog.clone(),
            Arc::new(SystemClock),
            config.clone(),
        )
    };
    let f = Fixture {
        pipeline: process(),
        _dir: tempfile::tempdir().unwrap(),
    };
    // Twelve like-sized segments: three runs of four, each merged once (three merged segments are
    // too few for another level, so no archive is merged twice).
    let mut originals = Vec::new();
    for i in 0..12 {
        let spec = SynthSpec {
            seed: i,
            start_timestamp_ms: 1_700_000_000_000 + i as i64 * 100_000,
            ..spec(250, 1, Compression::Gzip, i as i64 * 250)
        };
        let batches = synth::batches(&spec).unwrap();
        index_wal(&f.pipeline, &format!("w{i}"), &batches).await;
        originals.extend(batches);
    }
    let baseline = Arc::new(ReaderView::read(&f.pipeline, 3_000).await);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|reader| {
            // Slow reads: a merged-away archive is often deleted between a lookup and its read.
            let slow = crate::pipeline::faults::FaultyStore::new(store.clone(), Default::default())
                .with_read_delay(std::time::Duration::from_millis(3));
            let p = Pipeline::new(
                Arc::new(slow),
                catalog.clone(),
                Arc::new(SystemClock),
                config.clone(),
            );
            let (baseline, done) = (baseline.clone(), done.clone());
            tokio::spawn(async move { baseline.check_until(p, reader * 7, done).await })
        })
        .collect();
    let collector = {
        let p = process();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let mut deleted = 0;
            while deleted < 12 && started.elapsed() < std::time::Duration::from_secs(120) {
                let report = p.delete_retired(GRACE_MS, false).await.unwrap();
                deleted += report.retired_deleted;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            deleted
        })
    };
    let req = CompactionRequest::default();
    let (one, two) = (process(), process());
    let (a, b) = tokio::join!(one.compact(&req), two.compact(&req));
    // The readers go on until the collector has deleted every merged-away archive.
    let deleted = collector.await.unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (a, b) = (a.unwrap(), b.unwrap());
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
    let merges = a.merges_executed + b.merges_executed;
    assert_eq!(
        merges, 3,
        "three runs of four, each merged once: {a:?} {b:?}"
    );
    assert_eq!(deleted, 12, "every merged-away archive deleted");
    let segments = catalog.segments(&tp(0)).await.unwrap();
    assert_eq!(segments.len(), 3);
    assert!(
        segments
            .windows(2)
            .all(|w| w[0].last_offset < w[1].base_offset),
        "no overlaps"
    );
    assert_fetch_matches(&f.pipeline, &originals, 0, 64 << 20).await;
    for seg in &segments {
        assert!(
            store.exists(&seg.archive_key).await.unwrap(),
            "no entry points to a missing object"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactors_a_collector_and_readers_at_once_on_the_embedded_backends() {
    let backends = Backends::new();
    compactors_collector_and_readers_race(backends.store.clone(), backends.catalog.clone()).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactors_a_collector_and_readers_at_once_on_s3_and_dynamodb() {
    let (store, _bucket) = crate::store::s3::testing::store().await;
    let (catalog, _table) = crate::catalog::dynamo::testing::catalog().await;
    compactors_collector_and_readers_race(Arc::new(store), Arc::new(catalog)).await;
}

#[tokio::test]
async fn a_spent_time_budget_stops_cleanly_and_the_next_run_finishes() {
    let f = fixture();
    four_segments(&f.pipeline).await;
    let before = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let spent = CompactionRequest {
        time_budget: Some(std::time::Duration::ZERO),
        ..Default::default()
    };
    let report = f.pipeline.compact(&spent).await.unwrap();
    assert!(report.stopped_early);
    assert_eq!((report.partitions_examined, report.merges_executed), (0, 0));
    assert_eq!(f.pipeline.catalog().segments(&tp(0)).await.unwrap(), before);
    let generous = CompactionRequest {
        time_budget: Some(std::time::Duration::from_secs(600)),
        ..Default::default()
    };
    let report = f.pipeline.compact(&generous).await.unwrap();
    assert!(!report.stopped_early);
    assert_eq!(report.merges_executed, 1);
}

#[tokio::test]
async fn garbage_collection_racing_a_merge_keeps_the_archives_it_retires() {
    use crate::clock::{Clock, SystemClock};
    use crate::pipeline::faults::{FaultyCatalog, Fuse};
    let Backends {
        store,
        catalog,
        config,
        _dir,
    } = Backends::new();
    // Two hours from now: every object is past the grace period and the orphans' minimum age, so
    // only references protect it.
    let clock = Arc::new(FixedClock(SystemClock.now_ms() + 7_200_000));
    let compactor = Pipeline::new(
        store.clone(),
        catalog.clone(),
        clock.clone(),
        config.clone(),
    );
    let f = Fixture {
        pipeline: compactor.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let originals = four_segments(&f.pipeline).await;
    let old = catalog.segments(&tp(0)).await.unwrap();
    let run = plan_compaction(&old, &CompactionPolicy::default()).remove(0);
    // The merge commits while the collector is between its reads of the catalog.
    let observed = FaultyCatalog::new(catalog.clone(), Arc::new(Fuse::default()));
    *observed.before_segments.lock().unwrap() = Some(Box::pin(async move {
        compactor.merge_run(&tp(0), &run).await.unwrap();
    }));
    let collector = Pipeline::new(store.clone(), Arc::new(observed), clock, config.clone());
    let report = collector.collect_garbage(15 * 60_000, false).await.unwrap();
    assert_eq!(
        (report.orphans_deleted, report.retired_waiting),
        (0, 4),
        "{report:?}"
    );
    for seg in &old {
        assert!(
            store.exists(&seg.archive_key).await.unwrap(),
            "a retired archive must outlive its grace period"
        );
    }
    assert_fetch_matches(&f.pipeline, &originals, 0, 64 << 20).await;
}

#[tokio::test]
async fn a_merge_costs_catalog_reads_per_merged_segment_not_per_partition_segment() {
    use crate::catalog::CountingCatalog;
    let dir = tempfile::tempdir().unwrap();
    let catalog = CountingCatalog::new(Arc::new(
        EmbeddedCatalog::open(dir.path().join("c")).unwrap(),
    ));
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    let pipeline = Pipeline::new(
        Arc::new(LocalStore::open(dir.path().join("o")).unwrap()),
        Arc::new(catalog.clone()),
        Arc::new(FixedClock(1)),
        config,
    );
    let f = Fixture {
        pipeline,
        _dir: tempfile::tempdir().unwrap(),
    };
    let mut originals = Vec::new();
    for i in 0..12 {
        let spec = SynthSpec {
            seed: i,
            ..spec(100, 1, Compression::Lz4, i as i64 * 100)
        };
        let batches = synth::batches(&spec).unwrap();
        index_wal(&f.pipeline, &format!("w{i}"), &batches).await;
        originals.extend(batches);
    }
    let segments = f.pipeline.catalog().segments(&tp(0)).await.unwrap();
    let runs = plan_compaction(&segments, &CompactionPolicy::default());
    assert_eq!(runs.len(), 3);
    // The last run: its segments are found by offset, not by listing the twelve.
    let before = catalog.counts();
    f.pipeline.merge_run(&tp(0), &runs[2]).await.unwrap();
    let spent = catalog.counts().since(&before);
    assert_eq!(
        (
            spent.partition,
            spent.segment_covering,
            spent.reads,
            spent.writes
        ),
        (1, 4, 5, 1),
        "{spent:?}"
    );
    assert_fetch_matches(&f.pipeline, &originals, 0, 64 << 20).await;
}

#[tokio::test]
async fn retention_of_every_partition_comes_before_any_merge() {
    use crate::pipeline::faults::{Fault, FaultKind, FaultyCatalog, FaultyStore, Fuse};
    let backends = Backends::new();
    let healthy = backends.pipeline(Arc::new(FixedClock(1)));
    let (store, catalog, config) = (
        backends.store.clone(),
        backends.catalog.clone(),
        backends.config.clone(),
    );
    four_segments(&healthy).await; // orders/0: the neediest partition, one merge to do
    let audit: Topic = "audit".parse().unwrap();
    for i in 0..2 {
        let spec = SynthSpec {
            topic: audit.clone(),
            seed: 30 + i,
            ..spec(50, 1, Compression::None, i as i64 * 50)
        };
        let wal = synth::wal_segment(&audit, &synth::batches(&spec).unwrap()).unwrap();
        healthy
            .index_source(&format!("a{i}"), &wal, None)
            .await
            .unwrap();
    }
    // A compactor that dies at its second write: the first must have been audit's retention.
    let fuse = Arc::new(Fuse::default());
    fuse.arm(Fault {
        after_writes: 1,
        kind: FaultKind::Crash,
    });
    let dying = Pipeline::new(
        Arc::new(FaultyStore::new(store, fuse.clone())),
        Arc::new(FaultyCatalog::new(catalog.clone(), fuse.clone())),
        Arc::new(FixedClock(1)),
        config,
    );
    let req = CompactionRequest {
        retention: RetentionPolicy {
            topics: RetentionPolicy::parse_overrides(r#"{"audit": {"bytes": 1}}"#).unwrap(),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(dying.compact(&req).await.is_err());
    assert!(fuse.fired());
    let audit_tp = TopicPartition::new(audit, Partition::try_from(0).unwrap());
    let kept = catalog.segments(&audit_tp).await.unwrap();
    assert_eq!(kept.len(), 1, "audit's retention was applied first");
    assert_eq!(kept[0].base_offset.get(), 50);
    assert_eq!(catalog.segments(&tp(0)).await.unwrap().len(), 4);
}
