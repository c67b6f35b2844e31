//! The transaction index end to end: facts derived at index time from real batches, joined across
//! segments by the catalog's readers, and the same after merges, retention and a catalog rebuild.

use tier::kafka::ControlType;
use tier::testing::TxnLog;
use tier::txn::{AbortedTxn, OpenTxn};

use crate::support::*;

fn aborted(producer_id: i64, first_offset: i64, last_offset: i64) -> AbortedTxn {
    AbortedTxn {
        producer_id,
        first_offset,
        last_offset,
    }
}

#[tokio::test]
async fn aborted_transactions_and_the_last_stable_offset_follow_the_segments() {
    let f = fixture();
    let p = &f.pipeline;
    let tp = tp(0);
    let mut log = TxnLog::default();
    log.data(7, true, 4); // 0..=3: 7's transaction, aborted in the third segment
    log.data(1, false, 2); // 4..=5
    log.data(8, true, 1); // 6
    log.marker(8, ControlType::Abort); // 7
    // second segment from batch 4
    log.data(7, true, 2); // 8..=9
    log.data(9, true, 3); // 10..=12
    log.marker(9, ControlType::Commit); // 13
    // third segment from batch 7
    log.marker(7, ControlType::Abort); // 14
    log.data(7, true, 1); // 15
    log.marker(7, ControlType::Commit); // 16
    let sources = [log.bytes(0..4), log.bytes(4..7), log.bytes(7..10)];

    p.index_source("t0", &sources[0], Some(&tp)).await.unwrap();
    let first = p.transactions(&tp).await.unwrap();
    assert_eq!(first.aborted, [aborted(8, 6, 7)]);
    assert_eq!(
        first.open,
        [OpenTxn {
            producer_id: 7,
            first_offset: 0
        }]
    );
    assert_eq!(
        first.last_stable_offset, 0,
        "7's records from 0 are not stable yet"
    );

    p.index_source("t1", &sources[1], Some(&tp)).await.unwrap();
    let second = p.transactions(&tp).await.unwrap();
    assert_eq!(second.last_stable_offset, 0, "7's transaction still runs");

    p.index_source("t2", &sources[2], Some(&tp)).await.unwrap();
    let all = p.transactions(&tp).await.unwrap();
    let expected = [aborted(7, 0, 14), aborted(8, 6, 7)];
    assert_eq!(all.aborted, expected);
    assert!(all.open.is_empty());
    assert_eq!(all.last_stable_offset, 17);

    // One segment holding the whole log says the same.
    let whole = fixture();
    whole
        .pipeline
        .index_source("all", &log.bytes(0..10), Some(&tp))
        .await
        .unwrap();
    assert_eq!(*whole.pipeline.transactions(&tp).await.unwrap(), *all);

    // So does the partition after its segments are merged.
    let segments = p.catalog().segments(&tp).await.unwrap();
    let policy = CompactionPolicy {
        target_bytes: 1 << 30,
        min_run: 2,
        fanout: 8,
    };
    let runs = plan_compaction(&segments, &policy);
    assert_eq!(runs.len(), 1);
    p.merge_run(&tp, &runs[0]).await.unwrap();
    assert_eq!(p.catalog().segments(&tp).await.unwrap().len(), 1);
    assert_eq!(*p.transactions(&tp).await.unwrap(), *all);
}

#[tokio::test]
async fn a_rebuilt_catalog_and_retention_keep_the_transaction_index() {
    let f = fixture();
    let p = &f.pipeline;
    let tp = tp(0);
    let mut log = TxnLog::default();
    log.data(5, true, 3); // 0..=2
    log.marker(5, ControlType::Abort); // 3
    log.data(6, true, 2); // 4..=5, second segment from here
    log.data(5, true, 2); // 6..=7
    log.marker(6, ControlType::Abort); // 8
    log.marker(5, ControlType::Commit); // 9
    p.index_source("r0", &log.bytes(0..2), Some(&tp))
        .await
        .unwrap();
    p.index_source("r1", &log.bytes(2..6), Some(&tp))
        .await
        .unwrap();
    let before = p.transactions(&tp).await.unwrap();
    assert_eq!(before.aborted, [aborted(5, 0, 3), aborted(6, 4, 8)]);

    // The archives' manifests carry the facts: a catalog rebuilt from them answers the same.
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(EmbeddedCatalog::open(dir.path().join("c.redb")).unwrap());
    let rebuilt = Pipeline::new(
        Arc::new(LocalStore::open(f._dir.path().join("objects")).unwrap()),
        catalog,
        Arc::new(FixedClock(0)),
        PipelineConfig::default(),
    );
    rebuilt
        .rebuild_catalog(RebuildOptions::default())
        .await
        .unwrap();
    assert_eq!(*rebuilt.transactions(&tp).await.unwrap(), *before);

    // Retention drops the first segment: what is left still names 6's abort.
    let segments = p.catalog().segments(&tp).await.unwrap();
    let version = p.catalog().partition(&tp).await.unwrap().unwrap().version;
    p.catalog()
        .swap_segments(&tp, version, &[segments[0].id.clone()], &[], 0)
        .await
        .unwrap();
    let after = p.transactions(&tp).await.unwrap();
    assert_eq!(after.aborted, [aborted(6, 4, 8)]);
    assert_eq!(after.last_stable_offset, 10);
}

#[tokio::test]
async fn a_partition_with_more_transaction_facts_than_an_entry_holds_is_refused_whole() {
    let f = fixture();
    let tp = tp(0);
    let mut log = TxnLog::default();
    for _ in 0..=tier::txn::MAX_TXN_FACTS {
        log.data(5, true, 1);
        log.marker(5, ControlType::Abort);
    }
    let err = f
        .pipeline
        .index_source("many", &log.bytes(0..log.batches.len()), Some(&tp))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::InvalidSource(SourceError::TooManyTransactions { facts, limit, .. })
                if facts > limit && limit == tier::txn::MAX_TXN_FACTS
        ),
        "{err}"
    );
    assert!(f.pipeline.catalog().partitions().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_merge_that_would_carry_too_many_transaction_facts_is_skipped_not_fatal() {
    let f = fixture();
    let p = &f.pipeline;
    let tp = tp(0);
    let mut log = TxnLog::default();
    let per_segment = tier::txn::MAX_TXN_FACTS / 4 + 10;
    let mut cuts = vec![0];
    for _ in 0..4 {
        for _ in 0..per_segment {
            log.data(5, true, 1);
            log.marker(5, ControlType::Abort);
        }
        cuts.push(log.batches.len());
    }
    for (i, w) in cuts.windows(2).enumerate() {
        p.index_source(&format!("s{i}"), &log.bytes(w[0]..w[1]), Some(&tp))
            .await
            .unwrap();
    }
    let before = p.transactions(&tp).await.unwrap();
    let report = p.compact(&CompactionRequest::default()).await.unwrap();
    assert_eq!(report.merges_executed, 0, "{report:?}");
    let skipped = report.plans.iter().find_map(|plan| plan.skipped.clone());
    assert!(
        skipped
            .as_deref()
            .is_some_and(|s| s.contains("transaction facts")),
        "{report:?}"
    );
    assert_eq!(p.catalog().segments(&tp).await.unwrap().len(), 4);
    assert_eq!(*p.transactions(&tp).await.unwrap(), *before);
}
