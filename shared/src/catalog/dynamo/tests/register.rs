//! DynamoDB-specific tests of `register`: grouped transactions, many segments, racing writers.

use std::sync::Arc;

use crate::catalog::{Catalog, CatalogError, SegmentEntry};
use crate::testing::catalog_suite::segment;
use crate::testing::dynamo::{counted, counts, ingest, off, tp};

#[tokio::test]
async fn register_of_60_partitions_commits_in_groups() {
    let (catalog, counter, _, _) = counted().await;
    let segs: Vec<SegmentEntry> = (0..60)
        .map(|p| segment(&tp(&format!("wide-{p}")), 0, 9, p))
        .collect();
    let out = catalog
        .register(&ingest("wide", &segs), &segs)
        .await
        .unwrap();
    assert_eq!((out.added, out.already_present.len()), (60, 0));
    let requests = counter.take();
    // 50 partitions x (segment + summary) = 100 actions; then 10 x 2 + the ledger item.
    let expected = [("GetItem", 60), ("Query", 60), ("TransactWriteItems", 2)];
    assert_eq!(requests, counts(&expected));
    let listed = catalog.partitions().await.unwrap();
    assert_eq!(listed.len(), 60);
    assert!(
        listed
            .iter()
            .all(|i| i.version == 1 && i.segment_count == 1)
    );
    assert!(catalog.ingest_record("wide").await.unwrap().is_some());

    counter.take();
    let again = catalog
        .register(&ingest("wide", &segs), &segs)
        .await
        .unwrap();
    assert_eq!((again.added, again.already_present.len()), (0, 60));
    let expected = [("GetItem", 60), ("Query", 60), ("PutItem", 1)];
    assert_eq!(counter.take(), counts(&expected));
}

#[tokio::test]
async fn conflict_in_a_later_group_commits_nothing() {
    let (catalog, _, _, _) = counted().await;
    let clash = [segment(&tp("late-59"), 5, 5, 1)];
    catalog
        .register(&ingest("first", &clash), &clash)
        .await
        .unwrap();
    let segs: Vec<SegmentEntry> = (0..60)
        .map(|p| segment(&tp(&format!("late-{p}")), 0, 9, 7))
        .collect();
    let err = catalog
        .register(&ingest("wide", &segs), &segs)
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Conflict { .. }), "{err:?}");
    assert_eq!(catalog.partitions().await.unwrap().len(), 1);
    assert!(catalog.ingest_record("wide").await.unwrap().is_none());
}

#[tokio::test]
async fn segment_covering_among_1200_segments_is_one_query() {
    let (catalog, counter, _, _) = counted().await;
    let p = tp("deep-0");
    // Segment i covers 10i..=10i+7; offsets 10i+8 and 10i+9 are gaps.
    let segs: Vec<SegmentEntry> = (0..1200)
        .map(|i| segment(&p, i * 10, i * 10 + 7, 1))
        .collect();
    let started = std::time::Instant::now();
    catalog
        .register(&ingest("deep", &segs), &segs)
        .await
        .unwrap();
    let requests = counter.take();
    eprintln!(
        "register of 1,200 segments: {requests:?} in {:?}",
        started.elapsed()
    );
    assert_eq!(
        requests.get("TransactWriteItems"),
        Some(&13),
        "1,200 / 98 per group"
    );
    let info = catalog.partition(&p).await.unwrap().unwrap();
    assert_eq!((info.segment_count, info.version), (1200, 13));
    assert_eq!((info.earliest, info.latest), (off(0), off(11_997)));
    assert_eq!(info.record_count, 1200 * 8);
    counter.take();
    for (offset, expected) in [
        (0, Some(0)),
        (7, Some(0)),
        (8, Some(1)),
        (6_003, Some(600)),
        (11_990, Some(1199)),
        (11_997, Some(1199)),
        (11_998, None),
    ] {
        let started = std::time::Instant::now();
        let found = catalog.segment_covering(&p, off(offset)).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(
            found.map(|s| s.base_offset),
            expected.map(|i: i64| off(i * 10)),
            "{offset}"
        );
        assert_eq!(counter.take(), counts(&[("Query", 1)]), "offset {offset}");
        eprintln!("segment_covering({offset}): 1 Query, {elapsed:?}");
    }
    let at = catalog
        .segment_for_timestamp(&p, 119_965)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at.base_offset, off(11_990));
    eprintln!("segment_for_timestamp (last segment): {:?}", counter.take());
    assert_eq!(catalog.segments(&p).await.unwrap(), segs);
    eprintln!("segments (1,200): {:?}", counter.take());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_registers_retry_and_overlaps_still_conflict() {
    let (catalog, _, _, _) = counted().await;
    let catalog = Arc::new(catalog);
    let p = tp("race-0");
    let run = |segs: Vec<SegmentEntry>, source: &'static str| {
        let catalog = catalog.clone();
        tokio::spawn(async move { catalog.register(&ingest(source, &segs), &segs).await })
    };
    // Each lost race means another writer committed, so 5 attempts get 5 racers through.
    let disjoint: Vec<_> = (0..5)
        .map(|i| run(vec![segment(&p, i * 10, i * 10 + 9, 1)], "d"))
        .collect();
    for task in disjoint {
        assert_eq!(task.await.unwrap().unwrap().added, 1);
    }
    let info = catalog.partition(&p).await.unwrap().unwrap();
    assert_eq!((info.segment_count, info.version), (5, 5));
    let rivals = [
        run(vec![segment(&p, 100, 109, 2)], "a"),
        run(vec![segment(&p, 105, 109, 3)], "b"),
    ];
    let mut wins = 0;
    for task in rivals {
        match task.await.unwrap() {
            Ok(out) => wins += out.added,
            Err(CatalogError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(catalog.segments(&p).await.unwrap().len(), 6);
}
