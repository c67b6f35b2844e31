//! Rebuilding a lost catalog from the store (`Pipeline::rebuild_catalog`): drop the catalog, rebuild,
//! and every answer is the same — on the embedded backends and on S3 + DynamoDB.

use std::collections::BTreeMap;

use tier::catalog::{Catalog, IngestRecord, IngestStatus, PartitionInfo, SegmentEntry};
use tier::store::ObjectStore;

use crate::support::*;

const SOURCES: [&str; 7] = [
    "w0",
    "w1",
    "w2",
    "w3",
    "w4",
    "wal/bad.wal#e1",
    "wal/never-seen#e1",
];

/// A catalog with history: four segments merged into one (their archives retired, still in the
/// store), a later two-partition source, and a quarantined one.
async fn populate(p: &Pipeline) {
    four_segments(p).await;
    let report = p.compact(&CompactionRequest::default()).await.unwrap();
    assert_eq!(report.merges_executed, 1, "{report:?}");
    let spec = SynthSpec {
        seed: 9,
        start_timestamp_ms: 1_700_000_500_000,
        ..spec(300, 2, Compression::Lz4, 1_000)
    };
    index_wal(p, "w4", &synth::batches(&spec).unwrap()).await;
    let key: ObjectKey = "wal/bad.wal".parse().unwrap();
    p.store()
        .put(&key, b"not a segment".to_vec())
        .await
        .unwrap();
    let source = SourceObject {
        key,
        version: "e1".into(),
    };
    let outcome = p.ingest_object(&source).await.unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Quarantined { .. }),
        "{outcome:?}"
    );
}

/// Everything the catalog answers and every read answer that depends on it.
#[derive(Debug, PartialEq)]
struct Answers {
    partitions: Vec<PartitionInfo>,
    segments: BTreeMap<String, Vec<SegmentEntry>>,
    ledger: Vec<Option<IngestRecord>>,
    retired: Vec<ObjectKey>,
    reads: (Vec<Vec<u8>>, Vec<SearchHit>, Vec<Option<i64>>),
    partition_1: Vec<Vec<u8>>,
    search_all: Vec<SearchHit>,
    offsets: Vec<OffsetResult>,
}

async fn answers(p: &Pipeline) -> Answers {
    let catalog = p.catalog();
    let mut partitions = catalog.partitions().await.unwrap();
    // The version counts catalog writes, which a rebuild makes differently.
    partitions.iter_mut().for_each(|info| info.version = 0);
    let mut segments = BTreeMap::new();
    let mut offsets = Vec::new();
    for info in &partitions {
        segments.insert(
            info.tp.to_string(),
            catalog.segments(&info.tp).await.unwrap(),
        );
        for query in [OffsetQuery::Earliest, OffsetQuery::Latest] {
            offsets.push(p.offsets(&info.tp, query).await.unwrap());
        }
    }
    let mut ledger = Vec::new();
    for source in SOURCES {
        let mut record = catalog.ingest_record(source).await.unwrap();
        if let Some(r) = record.as_mut() {
            r.segments.sort();
        }
        ledger.push(record);
    }
    let mut partition_1 = Vec::new();
    let info = catalog.partition(&tp(1)).await.unwrap().unwrap();
    for offset in (info.earliest.get()..=info.latest.get()).step_by(29) {
        let req = FetchRequest {
            tp: tp(1),
            offset,
            max_bytes: 5_000,
        };
        partition_1.push(p.fetch(&req).await.unwrap().batches);
    }
    let search_all = p
        .search(&SearchRequest {
            query: "value.country:ES OR value.country:FR".into(),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    Answers {
        partitions,
        segments,
        ledger,
        retired: catalog
            .retired_archives()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect(),
        reads: observe(p).await,
        partition_1,
        search_all,
        offsets,
    }
}

/// Populates over `store` + `first`, drops to `second` (an empty catalog), rebuilds, compares.
async fn rebuild_answers_unchanged(
    store: Arc<dyn ObjectStore>,
    first: Arc<dyn Catalog>,
    second: Arc<dyn Catalog>,
) {
    let config = Backends::new().config;
    let clock = Arc::new(FixedClock(1_000));
    let before = Pipeline::new(store.clone(), first, clock.clone(), config.clone());
    populate(&before).await;
    let expected = answers(&before).await;
    assert_eq!(expected.retired.len(), 4, "the merge's inputs are retired");
    assert_eq!(expected.segments.len(), 2);
    assert!(matches!(
        expected.ledger[5],
        Some(IngestRecord {
            status: IngestStatus::Quarantined { .. },
            ..
        })
    ));

    let after = Pipeline::new(store, second, clock, config);
    let report = after
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap();
    assert_eq!(report.archives, 7, "{report:?}");
    assert_eq!(
        (
            report.segments_registered,
            report.archives_retired,
            report.partitions
        ),
        (3, 4, 2),
        "{report:?}"
    );
    assert_eq!((report.sources_indexed, report.sources_quarantined), (5, 1));
    assert_eq!(report.skipped, Vec::new());
    assert_eq!(answers(&after).await, expected);

    // A second rebuild is refused, and changes nothing; forced, it finds everything present.
    let err = after
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::CatalogNotEmpty {
                partitions: 2,
                retired: 4
            }
        ),
        "{err}"
    );
    let forced = after
        .rebuild_catalog(RebuildOptions {
            force: true,
            dry_run: false,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            forced.archives,
            forced.segments_registered,
            forced.segments_already_present
        ),
        (0, 0, 0),
        "every archive is known to the catalog: {forced:?}"
    );
    assert_eq!(answers(&after).await, expected);
}

#[tokio::test]
async fn a_rebuilt_catalog_answers_as_the_lost_one_did() {
    let backends = Backends::new();
    let dir = tempfile::tempdir().unwrap();
    let second = Arc::new(EmbeddedCatalog::open(dir.path().join("rebuilt.redb")).unwrap());
    rebuild_answers_unchanged(backends.store.clone(), backends.catalog.clone(), second).await;
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn a_rebuilt_catalog_answers_as_the_lost_one_did_on_s3_and_dynamodb() {
    let (store, _bucket) = tier::testing::s3::store().await;
    let (first, _table) = tier::testing::dynamo::catalog().await;
    let (second, _table) = tier::testing::dynamo::catalog().await;
    rebuild_answers_unchanged(Arc::new(store), Arc::new(first), Arc::new(second)).await;
}

/// A pipeline over `backends`' store and a new, empty catalog (the old one lost).
fn with_lost_catalog(
    backends: &Backends,
    clock: Arc<dyn tier::clock::Clock>,
) -> (Pipeline, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let empty = Arc::new(EmbeddedCatalog::open(dir.path().join("empty.redb")).unwrap());
    let p = Pipeline::new(
        backends.store.clone(),
        empty,
        clock,
        backends.config.clone(),
    );
    (p, dir)
}

#[tokio::test]
async fn a_dry_run_rebuild_reports_and_changes_nothing() {
    let backends = Backends::new();
    let p = backends.pipeline(Arc::new(FixedClock(1_000)));
    populate(&p).await;
    let (lost, _dir) = with_lost_catalog(&backends, Arc::new(FixedClock(1_000)));
    let options = RebuildOptions {
        force: false,
        dry_run: true,
    };
    let report = lost.rebuild_catalog(options).await.unwrap();
    assert_eq!(
        (
            report.archives,
            report.segments_registered,
            report.archives_retired
        ),
        (7, 3, 4)
    );
    assert!(report.dry_run);
    assert_eq!(lost.catalog().partitions().await.unwrap(), Vec::new());
    assert_eq!(lost.catalog().ingest_record("w4").await.unwrap(), None);
}

#[tokio::test]
async fn damaged_archives_are_reported_and_skipped() {
    let backends = Backends::new();
    let p = backends.pipeline(Arc::new(FixedClock(1_000)));
    let batches = synth::batches(&spec(100, 1, Compression::None, 0)).unwrap();
    index_wal(&p, "w0", &batches).await;
    let seg = p.catalog().segments(&tp(0)).await.unwrap().remove(0);
    let archive = backends.store.get(&seg.archive_key).await.unwrap();
    // Truncated, bit-flipped, and a good archive under a key naming another partition.
    let damaged = [
        (
            "archives/orders/0/truncated.0000000000000001.tar.gz",
            archive[..archive.len() / 2].to_vec(),
        ),
        ("archives/orders/0/flipped.0000000000000001.tar.gz", {
            let mut a = archive.clone();
            a[archive.len() / 3] ^= 0x40;
            a
        }),
        (
            "archives/orders/5/moved.0000000000000001.tar.gz",
            archive.clone(),
        ),
    ];
    for (key, bytes) in &damaged {
        backends
            .store
            .put(&key.parse().unwrap(), bytes.clone())
            .await
            .unwrap();
    }
    let (lost, _dir) = with_lost_catalog(&backends, Arc::new(FixedClock(1_000)));
    let report = lost
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap();
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "archives/orders/0/flipped.0000000000000001.tar.gz",
            "archives/orders/0/truncated.0000000000000001.tar.gz",
            "archives/orders/5/moved.0000000000000001.tar.gz",
        ],
        "{report:?}"
    );
    assert!(
        report.skipped[2].reason.contains("not where the key"),
        "{report:?}"
    );
    assert_eq!(lost.catalog().segments(&tp(0)).await.unwrap(), vec![seg]);
}

#[tokio::test]
async fn garbage_collection_keeps_every_archive_when_the_catalog_is_empty() {
    let backends = Backends::new();
    let p = backends.pipeline(Arc::new(FixedClock(1_000)));
    four_segments(&p).await;
    // Long after every archive was written: all of them would be orphans.
    let later = Arc::new(FixedClock(i64::MAX / 2));
    let (lost, _dir) = with_lost_catalog(&backends, later);
    let gc = lost.collect_garbage(0, false).await.unwrap();
    assert_eq!((gc.orphans_deleted, gc.orphans_held), (0, 4), "{gc:?}");
    let report = lost
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap();
    assert_eq!(report.segments_registered, 4);
    assert_eq!(observe(&lost).await, observe(&p).await);
}

#[tokio::test]
async fn an_archive_that_lost_a_registration_race_never_displaces_the_winner() {
    // S1 holds 0..=99 in the catalog; S2 (50..=149, other bytes) lost the race to register, was
    // quarantined, and its archive stayed in the store (its deletion is best-effort).
    let backends = Backends::new();
    let p = backends.pipeline(Arc::new(FixedClock(1_000)));
    let s1 = synth::batches(&spec(100, 1, Compression::None, 0)).unwrap();
    index_wal(&p, "s1", &s1).await;
    let (racer, _racer_dir) = with_lost_catalog(&backends, Arc::new(FixedClock(1_000)));
    let s2 = synth::batches(&SynthSpec {
        seed: 77,
        ..spec(100, 1, Compression::None, 50)
    })
    .unwrap();
    index_wal(&racer, "s2", &s2).await;
    let loser = racer.catalog().segments(&tp(0)).await.unwrap().remove(0);
    let report = QuarantineReport {
        source: "wal/s2".into(),
        ledger_id: "s2".into(),
        reason: "overlaps committed segment".into(),
        at_ms: 1_000,
    };
    p.store()
        .put(
            &"quarantine/wal/s2.reason.json".parse().unwrap(),
            serde_json::to_vec(&report).unwrap(),
        )
        .await
        .unwrap();
    p.store()
        .put(&"quarantine/wal/s2".parse().unwrap(), b"copy".to_vec())
        .await
        .unwrap();
    let winner = p.catalog().segments(&tp(0)).await.unwrap();

    let (lost, _dir) = with_lost_catalog(&backends, Arc::new(FixedClock(1_000)));
    let rebuilt = lost
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap();
    assert_eq!(lost.catalog().segments(&tp(0)).await.unwrap(), winner);
    assert_eq!(lost.catalog().retired_archives().await.unwrap(), Vec::new());
    let skipped: Vec<&str> = rebuilt.skipped.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(skipped, [loser.archive_key.as_str()], "{rebuilt:?}");
    assert!(matches!(
        lost.catalog().ingest_record("s2").await.unwrap(),
        Some(IngestRecord {
            status: IngestStatus::Quarantined { .. },
            ..
        })
    ));
    assert_eq!(
        lost.catalog()
            .ingest_record("s1")
            .await
            .unwrap()
            .map(|r| r.status),
        Some(IngestStatus::Indexed)
    );
}
