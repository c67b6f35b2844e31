//! Maintenance: merges, retention, garbage collection and compaction runs.

use crate::support::*;

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
    assert!(err.is_lost_race(), "{err}");
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

#[tokio::test]
async fn garbage_collection_waits_for_the_grace_period_and_keeps_live_archives() {
    use tier::clock::{Clock, SystemClock};
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
async fn a_merge_costs_catalog_reads_per_merged_segment_not_per_partition_segment() {
    use tier::catalog::CountingCatalog;
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
    use tier::testing::{Fault, FaultKind, FaultyCatalog, FaultyStore, Fuse};
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
