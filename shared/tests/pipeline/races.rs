//! Readers, compactors and collectors at once: no reader ever sees a change.

use crate::support::*;

/// Backends holding four merge-ready segments, and a reader over them whose catalog lets a
/// compactor merge the segments and delete their archives right after the reader's next `op` call
/// is answered: the reader then holds an entry whose archive is gone, as a reader racing a
/// compactor and a collector would.
struct StaleReader {
    backends: Backends,
    compactor: Pipeline,
    reader: Pipeline,
    originals: Vec<(u32, Vec<u8>)>,
    segments: Vec<tier::catalog::SegmentEntry>,
}

impl StaleReader {
    async fn new(op: tier::catalog::CatalogOp) -> StaleReader {
        let backends = Backends::new();
        let clock = Arc::new(FixedClock(1));
        let compactor = backends.pipeline(clock.clone());
        let originals = four_segments(&compactor).await;
        let segments = backends.catalog.segments(&tp(0)).await.unwrap();
        let merge_and_delete = {
            let (compactor, store) = (compactor.clone(), backends.store.clone());
            let segments = segments.clone();
            Box::pin(async move {
                let run = plan_compaction(&segments, &CompactionPolicy::default()).remove(0);
                compactor.merge_run(&tp(0), &run).await.unwrap();
                for seg in &segments {
                    store.delete(&seg.archive_key).await.unwrap();
                }
            })
        };
        let catalog =
            tier::testing::FaultyCatalog::new(backends.catalog.clone(), Default::default());
        catalog.interleave(op, tier::testing::When::After, merge_and_delete);
        let reader = Pipeline::new(
            backends.store.clone(),
            Arc::new(catalog),
            clock,
            backends.config.clone(),
        );
        StaleReader {
            backends,
            compactor,
            reader,
            originals,
            segments,
        }
    }
}

#[tokio::test]
async fn readers_that_find_their_archive_gone_reread_the_catalog_once() {
    use tier::catalog::CatalogOp;
    // This fetch looks up segment 1 before the merge; its archive is gone by the time it reads.
    let fetch = StaleReader::new(CatalogOp::SegmentCovering).await;
    assert_fetch_matches(&fetch.reader, &fetch.originals, 300, 1 << 20).await;
    assert_eq!(
        fetch.backends.catalog.segments(&tp(0)).await.unwrap().len(),
        1,
        "merged"
    );
    // A search that listed the segments before the merge retries the partition from a fresh list.
    let search = StaleReader::new(CatalogOp::Segments).await;
    let query = SearchRequest {
        query: "value.country:ES".into(),
        limit: 1_000,
        ..Default::default()
    };
    let hits = search.reader.search(&query).await.unwrap();
    assert!(!hits.is_empty());
    assert_eq!(hits, search.compactor.search(&query).await.unwrap());
    // So does an offset-for-time lookup that found segment 2 before the merge.
    let by_time = StaleReader::new(CatalogOp::SegmentForTimestamp).await;
    let ts = by_time.segments[2].min_timestamp + 1;
    let found = by_time
        .reader
        .offsets(&tp(0), OffsetQuery::Timestamp(ts))
        .await
        .unwrap();
    assert_eq!(
        found,
        by_time
            .compactor
            .offsets(&tp(0), OffsetQuery::Timestamp(ts))
            .await
            .unwrap()
    );
    assert!(found.offset.is_some_and(|o| (500..750).contains(&o)));
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

    /// What a consumer reads from `offset` (fetches end at segment boundaries, which the
    /// compactors move; the batches a consumer reads never change).
    async fn fetch(p: &Pipeline, offset: i64) -> Vec<u8> {
        consume_racing(p, &tp(0), offset, 20_000).await
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
    store: Arc<dyn tier::store::ObjectStore>,
    catalog: Arc<dyn tier::catalog::Catalog>,
) {
    use tier::clock::SystemClock;
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
            let slow = tier::testing::FaultyStore::new(store.clone(), Default::default())
                .with_read_delay(std::time::Duration::from_millis(3));
            // With the segment cache on, as in the fetch function: its TTL is shorter than the
            // grace period, so a cached entry never names a deleted archive.
            let mut cached = config.clone();
            cached.segment_cache = SegmentCacheConfig {
                max_bytes: 1 << 20,
                ttl_ms: GRACE_MS / 3,
            };
            let p = Pipeline::new(
                Arc::new(slow),
                catalog.clone(),
                Arc::new(SystemClock),
                cached,
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
    let (store, _bucket) = tier::testing::s3::store().await;
    let (catalog, _table) = tier::testing::dynamo::catalog().await;
    compactors_collector_and_readers_race(Arc::new(store), Arc::new(catalog)).await;
}

#[tokio::test]
async fn garbage_collection_racing_a_merge_keeps_the_archives_it_retires() {
    use tier::clock::{Clock, SystemClock};
    use tier::testing::{FaultyCatalog, Fuse, When};
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
    let merge = Box::pin(async move {
        compactor.merge_run(&tp(0), &run).await.unwrap();
    });
    observed.interleave(tier::catalog::CatalogOp::Segments, When::Before, merge);
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
