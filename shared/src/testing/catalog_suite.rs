//! Conformance suite for [`Catalog`] backends.
//!
//! Each `check_*` function asserts one contract of the trait docs. A backend runs them all with
//! `catalog_test_suite!(ctor)`, where `ctor` evaluates to `(catalog, guard)`.

use std::sync::Arc;

use crate::catalog::{
    Catalog, CatalogError, CommittedOffset, IngestRecord, IngestStatus, RetiredArchive,
    SegmentEntry,
};
use crate::txn::{AbortedTxn, FirstMarker, OpenTxn, TxnFacts};
use crate::types::{GroupId, ObjectKey, Offset, SegmentId, TopicPartition};

fn tp(name: &str) -> TopicPartition {
    TopicPartition::from_log_dir_name(name).expect("valid test partition")
}

fn off(n: i64) -> Offset {
    Offset::try_from(n).expect("valid test offset")
}

/// A segment covering `base..=last` with timestamps `base*10..=last*10` and a content tag.
pub fn segment(tp: &TopicPartition, base: i64, last: i64, tag: u32) -> SegmentEntry {
    let id = SegmentId::new(off(base), off(last), tag);
    SegmentEntry {
        archive_key: ObjectKey::archive(tp, &id, u64::from(tag)),
        id,
        tp: tp.clone(),
        base_offset: off(base),
        last_offset: off(last),
        record_count: (last - base + 1) as u64,
        batch_count: 1,
        min_timestamp: base * 10,
        max_timestamp: last * 10,
        data_bytes: 100,
        archive_size: 60,
        toc: vec![1, 2, 3, tag as u8],
        source: format!("src-{tag}"),
        created_at_ms: 1,
        txns: txns(base, last, tag),
    }
}

/// Transaction facts within `base..=last`, different per tag, so backends are seen to keep them.
fn txns(base: i64, last: i64, tag: u32) -> TxnFacts {
    let producer_id = i64::from(tag) + 1_000;
    TxnFacts {
        aborted: vec![AbortedTxn {
            producer_id,
            first_offset: base,
            last_offset: last,
        }],
        open: vec![OpenTxn {
            producer_id: producer_id + 1,
            first_offset: last,
        }],
        first_markers: vec![FirstMarker {
            producer_id: producer_id + 2,
            marker_offset: base,
            aborted: tag.is_multiple_of(2),
        }],
    }
}

fn ingest(source: &str, segments: &[SegmentEntry]) -> IngestRecord {
    IngestRecord {
        source: source.into(),
        status: IngestStatus::Indexed,
        segments: segments.iter().map(|s| s.id.clone()).collect(),
        at_ms: 7,
    }
}

/// Registered segments are found by covering offset, including across gaps, and summarised.
pub async fn check_register_and_lookup(catalog: &dyn Catalog) {
    let p = tp("lookup-0");
    let segs = [
        segment(&p, 0, 9, 1),
        segment(&p, 10, 19, 2),
        segment(&p, 30, 39, 3),
    ];
    let out = catalog.register(&ingest("a", &segs), &segs).await.unwrap();
    assert_eq!((out.added, out.already_present.len()), (3, 0));
    let p = &p;
    let covering = |o| async move { catalog.segment_covering(p, off(o)).await.unwrap() };
    assert_eq!(covering(0).await.unwrap().id, segs[0].id);
    assert_eq!(covering(9).await.unwrap().id, segs[0].id);
    assert_eq!(covering(10).await.unwrap().id, segs[1].id);
    assert_eq!(
        covering(25).await.unwrap().id,
        segs[2].id,
        "a gap resolves to the next segment"
    );
    assert!(covering(40).await.is_none());
    assert_eq!(catalog.segments(p).await.unwrap(), segs.to_vec());
    let info = catalog.partition(p).await.unwrap().unwrap();
    assert_eq!(
        (info.earliest, info.latest, info.segment_count),
        (off(0), off(39), 3)
    );
    assert_eq!(
        (info.record_count, info.data_bytes, info.archive_bytes),
        (30, 300, 180)
    );
    assert!(catalog.partition(&tp("nothing-0")).await.unwrap().is_none());
    assert!(
        catalog
            .segment_covering(&tp("nothing-0"), off(0))
            .await
            .unwrap()
            .is_none()
    );
}

/// Registering the same segments again adds nothing and keeps the version.
pub async fn check_register_is_idempotent(catalog: &dyn Catalog) {
    let p = tp("idem-0");
    let segs = [segment(&p, 0, 4, 1)];
    catalog.register(&ingest("x", &segs), &segs).await.unwrap();
    let v1 = catalog.partition(&p).await.unwrap().unwrap().version;
    let out = catalog.register(&ingest("x", &segs), &segs).await.unwrap();
    assert_eq!(
        (out.added, out.already_present),
        (0, vec![segs[0].id.clone()])
    );
    assert_eq!(catalog.partition(&p).await.unwrap().unwrap().version, v1);
    assert_eq!(catalog.segments(&p).await.unwrap().len(), 1);
}

/// An overlap with different content fails the whole call and changes nothing, ledger included.
pub async fn check_overlap_conflict_changes_nothing(catalog: &dyn Catalog) {
    let p = tp("overlap-0");
    let first = [segment(&p, 10, 19, 1)];
    catalog
        .register(&ingest("first", &first), &first)
        .await
        .unwrap();
    let before = catalog.partition(&p).await.unwrap();
    let clash = [segment(&p, 0, 5, 2), segment(&p, 15, 25, 3)];
    let err = catalog
        .register(&ingest("clash", &clash), &clash)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::Conflict { existing, .. } if *existing == first[0].id),
        "{err:?}"
    );
    assert_eq!(catalog.partition(&p).await.unwrap(), before);
    assert!(catalog.ingest_record("clash").await.unwrap().is_none());
    let same_range_other_content = [segment(&p, 10, 19, 9)];
    assert!(matches!(
        catalog
            .register(
                &ingest("c2", &same_range_other_content),
                &same_range_other_content
            )
            .await,
        Err(CatalogError::Conflict { .. })
    ));
}

/// The ledger returns what was recorded.
pub async fn check_ledger(catalog: &dyn Catalog) {
    let p = tp("ledger-0");
    let segs = [segment(&p, 0, 1, 1)];
    catalog
        .register(&ingest("bucket/key/etag", &segs), &segs)
        .await
        .unwrap();
    let rec = catalog
        .ingest_record("bucket/key/etag")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec, ingest("bucket/key/etag", &segs));
    let quarantined = IngestRecord {
        source: "bad".into(),
        status: IngestStatus::Quarantined {
            reason: "not sealed".into(),
            copy: "quarantine/bad".into(),
        },
        segments: vec![],
        at_ms: 9,
    };
    catalog.record_ingest(&quarantined).await.unwrap();
    assert_eq!(
        catalog.ingest_record("bad").await.unwrap(),
        Some(quarantined)
    );
    assert!(catalog.ingest_record("never").await.unwrap().is_none());
}

/// Timestamp lookup finds the first segment in offset order whose max timestamp reaches T.
pub async fn check_timestamp_lookup(catalog: &dyn Catalog) {
    let p = tp("time-0");
    let segs = [segment(&p, 0, 9, 1), segment(&p, 10, 19, 2)];
    catalog.register(&ingest("t", &segs), &segs).await.unwrap();
    let p = &p;
    let at = |t| async move {
        catalog
            .segment_for_timestamp(p, t)
            .await
            .unwrap()
            .map(|s| s.id)
    };
    assert_eq!(at(0).await, Some(segs[0].id.clone()));
    assert_eq!(at(90).await, Some(segs[0].id.clone()));
    assert_eq!(at(91).await, Some(segs[1].id.clone()));
    assert_eq!(at(191).await, None);
}

/// Partitions are listed sorted, each with its own summary.
pub async fn check_partitions_listing(catalog: &dyn Catalog) {
    let (b1, a0, a2) = (tp("list.b-1"), tp("list.a-0"), tp("list.a-2"));
    let segs = [
        segment(&b1, 0, 0, 1),
        segment(&a2, 5, 6, 2),
        segment(&a0, 0, 3, 3),
    ];
    catalog.register(&ingest("l", &segs), &segs).await.unwrap();
    let listed: Vec<String> = catalog
        .partitions()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.tp.topic.as_str().starts_with("list."))
        .map(|i| format!("{}:{}-{}", i.tp, i.earliest, i.latest))
        .collect();
    assert_eq!(listed, ["list.a/0:0-3", "list.a/2:5-6", "list.b/1:0-0"]);
}

/// A swap applies atomically at the expected version; a stale version or unknown id changes nothing.
pub async fn check_swap_segments(catalog: &dyn Catalog) {
    let p = tp("swap-0");
    let segs = [
        segment(&p, 0, 4, 1),
        segment(&p, 5, 9, 2),
        segment(&p, 10, 14, 3),
    ];
    catalog.register(&ingest("s", &segs), &segs).await.unwrap();
    let v = catalog.partition(&p).await.unwrap().unwrap().version;
    let merged = segment(&p, 0, 9, 4);
    let ids = [segs[0].id.clone(), segs[1].id.clone()];
    let stale = catalog
        .swap_segments(&p, v + 1, &ids, std::slice::from_ref(&merged), 7)
        .await;
    assert!(
        matches!(stale, Err(CatalogError::VersionMismatch { .. })),
        "{stale:?}"
    );
    let unknown = [segs[0].id.clone(), SegmentId::new(off(5), off(9), 77)];
    let err = catalog
        .swap_segments(&p, v, &unknown, std::slice::from_ref(&merged), 7)
        .await;
    assert!(
        matches!(err, Err(CatalogError::UnknownSegment { .. })),
        "{err:?}"
    );
    assert_eq!(
        catalog.segments(&p).await.unwrap(),
        segs.to_vec(),
        "failed swaps changed state"
    );
    let v2 = catalog
        .swap_segments(&p, v, &ids, std::slice::from_ref(&merged), 7)
        .await
        .unwrap();
    assert!(v2 > v);
    assert_eq!(
        catalog.segments(&p).await.unwrap(),
        vec![merged, segs[2].clone()]
    );
}

/// A swap records the removed segments' archives as retired, atomically; forgetting is idempotent.
pub async fn check_swap_records_retired(catalog: &dyn Catalog) {
    let p = tp("retire-0");
    let segs = [segment(&p, 0, 4, 1), segment(&p, 5, 9, 2)];
    catalog
        .register(&ingest("ret", &segs), &segs)
        .await
        .unwrap();
    let v = catalog.partition(&p).await.unwrap().unwrap().version;
    let mine = |all: Vec<crate::catalog::RetiredArchive>| -> Vec<(String, i64)> {
        all.into_iter()
            .filter(|r| r.key.as_str().contains("/retire/"))
            .map(|r| (r.key.to_string(), r.retired_at_ms))
            .collect()
    };
    let failed = catalog
        .swap_segments(&p, v + 5, &[segs[0].id.clone()], &[], 1_000)
        .await;
    assert!(failed.is_err());
    assert!(
        mine(catalog.retired_archives().await.unwrap()).is_empty(),
        "a failed swap retires nothing"
    );
    catalog
        .swap_segments(&p, v, &[segs[0].id.clone()], &[], 1_000)
        .await
        .unwrap();
    let retired = mine(catalog.retired_archives().await.unwrap());
    assert_eq!(retired, vec![(segs[0].archive_key.to_string(), 1_000)]);
    catalog
        .forget_retired(&[segs[0].archive_key.clone()])
        .await
        .unwrap();
    catalog
        .forget_retired(&[segs[0].archive_key.clone()])
        .await
        .unwrap();
    assert!(mine(catalog.retired_archives().await.unwrap()).is_empty());
    // Recorded directly (a rebuilt catalog), as a swap would have; again with a later time.
    let direct = |at| RetiredArchive {
        key: segs[1].archive_key.clone(),
        retired_at_ms: at,
    };
    catalog.record_retired(&[direct(2_000)]).await.unwrap();
    catalog.record_retired(&[direct(3_000)]).await.unwrap();
    let retired = mine(catalog.retired_archives().await.unwrap());
    assert_eq!(retired, vec![(segs[1].archive_key.to_string(), 3_000)]);
    catalog
        .forget_retired(&[segs[1].archive_key.clone()])
        .await
        .unwrap();
    assert!(mine(catalog.retired_archives().await.unwrap()).is_empty());
}

/// Of two swaps racing from the same version, exactly one wins.
pub async fn check_concurrent_swaps(catalog: Arc<dyn Catalog>) {
    let p = tp("race-0");
    let segs = [segment(&p, 0, 4, 1), segment(&p, 5, 9, 2)];
    catalog.register(&ingest("r", &segs), &segs).await.unwrap();
    let v = catalog.partition(&p).await.unwrap().unwrap().version;
    let ids: Vec<SegmentId> = segs.iter().map(|s| s.id.clone()).collect();
    let tasks: Vec<_> = (0..2u32)
        .map(|i| {
            let (catalog, p, ids) = (catalog.clone(), p.clone(), ids.clone());
            tokio::spawn(async move {
                catalog
                    .swap_segments(&p, v, &ids, &[segment(&p, 0, 9, 10 + i)], 7)
                    .await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(CatalogError::VersionMismatch { .. }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(catalog.segments(&p).await.unwrap().len(), 1);
}

/// A group's committed offsets: replaced per partition, kept apart from other groups' and read
/// back in topic-partition order with their metadata; an unknown group has none.
pub async fn check_committed_offsets(catalog: &dyn Catalog) {
    let group: GroupId = "readers #1".parse().unwrap();
    let other: GroupId = "readers".parse().unwrap();
    assert!(catalog.committed_offsets(&group).await.unwrap().is_empty());
    let at = |topic: &str, partition: i64, offset: i64, metadata: Option<&str>| CommittedOffset {
        tp: TopicPartition::new(topic.parse().unwrap(), partition.try_into().unwrap()),
        offset,
        metadata: metadata.map(str::to_owned),
        committed_at_ms: offset * 10,
    };
    let first = [
        at("b", 2, 5, None),
        at("a-b", 0, 7, Some("m")),
        at("a", 10, 1, Some("")),
    ];
    catalog.commit_offsets(&group, &first).await.unwrap();
    catalog
        .commit_offsets(&other, &[at("a", 10, 99, None)])
        .await
        .unwrap();
    catalog
        .commit_offsets(&group, &[at("b", 2, 9, Some("later"))])
        .await
        .unwrap();
    let got = catalog.committed_offsets(&group).await.unwrap();
    assert_eq!(
        got,
        [
            at("a", 10, 1, Some("")),
            at("a-b", 0, 7, Some("m")),
            at("b", 2, 9, Some("later"))
        ]
    );
    assert_eq!(
        catalog.committed_offsets(&other).await.unwrap(),
        [at("a", 10, 99, None)]
    );
    // Many partitions at once (more than one DynamoDB transaction holds).
    let many: Vec<_> = (0..130).map(|p| at("many", p, p, None)).collect();
    catalog.commit_offsets(&group, &many).await.unwrap();
    assert_eq!(catalog.committed_offsets(&group).await.unwrap().len(), 133);
}

/// Segments come back with the transaction facts they were registered with, and a merge's
/// segment with its own.
pub async fn check_segments_keep_transaction_facts(catalog: &dyn Catalog) {
    let tp = tp("txns-0");
    let (a, b) = (segment(&tp, 0, 9, 1), segment(&tp, 10, 19, 2));
    assert!(!a.txns.is_empty());
    catalog
        .register(
            &ingest("s", &[a.clone(), b.clone()]),
            &[a.clone(), b.clone()],
        )
        .await
        .unwrap();
    assert_eq!(catalog.segments(&tp).await.unwrap(), [a.clone(), b.clone()]);
    let merged = SegmentEntry {
        txns: TxnFacts::default(),
        ..segment(&tp, 0, 19, 3)
    };
    let version = catalog.partition(&tp).await.unwrap().unwrap().version;
    catalog
        .swap_segments(
            &tp,
            version,
            &[a.id, b.id],
            std::slice::from_ref(&merged),
            5,
        )
        .await
        .unwrap();
    let got = catalog
        .segment_covering(&tp, off(3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, merged);
    assert!(got.txns.is_empty());
}

/// Emits one `#[tokio::test]` per conformance check for the backend built by `$ctor`, an expression
/// evaluating to `(catalog, guard)`.
#[macro_export]
macro_rules! catalog_test_suite {
    ($ctor:expr) => {
        $crate::catalog_test_suite!(@each $ctor;
            check_register_and_lookup, check_register_is_idempotent,
            check_overlap_conflict_changes_nothing, check_ledger, check_timestamp_lookup,
            check_partitions_listing, check_swap_segments, check_swap_records_retired,
            check_committed_offsets, check_segments_keep_transaction_facts);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn check_concurrent_swaps() {
            let (catalog, _guard) = $ctor;
            $crate::testing::catalog_suite::check_concurrent_swaps(std::sync::Arc::new(catalog)).await;
        }
    };
    (@each $ctor:expr; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (catalog, _guard) = $ctor;
                $crate::testing::catalog_suite::$check(&catalog).await;
            }
        )*
    };
}
