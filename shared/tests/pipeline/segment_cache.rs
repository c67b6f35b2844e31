//! Fetch with the segment cache on: warm fetches skip the catalog, and no answer changes through
//! retention, new segments, merges and garbage collection beyond what the TTL allows.

use tier::catalog::{Catalog, CountingCatalog};
use tier::store::ObjectStore;
use tier::testing::ManualClock;

use crate::support::*;

const TTL_MS: i64 = 1_000;
const MAX_BYTES: usize = 2_000;

struct Cached {
    writer: Pipeline,
    reader: Pipeline,
    counting: CountingCatalog,
    clock: ManualClock,
    batches: Vec<(u32, Vec<u8>)>,
}

impl Cached {
    async fn fetch(&self, offset: i64) -> PipelineResult<Vec<u8>> {
        let req = FetchRequest {
            tp: tp(0),
            offset,
            max_bytes: MAX_BYTES,
        };
        Ok(self.reader.fetch(&req).await?.batches)
    }

    /// Fetches at each offset, checks the bytes against the generated batches, and returns the
    /// catalog requests the reader made.
    async fn fetch_all(&self, offsets: &[i64]) -> u64 {
        let before = self.counting.counts();
        for &offset in offsets {
            let want = expected_fetch(&partition_batches(&self.batches, 0), offset, MAX_BYTES);
            match self.fetch(offset).await {
                Ok(got) => assert!(got == want, "fetch at {offset} changed"),
                Err(e) => panic!("fetch at {offset}: {e}"),
            }
        }
        self.counting.counts().since(&before).reads
    }
}

async fn cached_reader_through_retention_merges_and_gc(
    store: Arc<dyn ObjectStore>,
    catalog: Arc<dyn Catalog>,
) {
    let clock = ManualClock::at(1_800_000_000_000);
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    let writer = Pipeline::new(
        store.clone(),
        catalog.clone(),
        Arc::new(clock.clone()),
        config.clone(),
    );
    let counting = CountingCatalog::new(catalog.clone());
    config.segment_cache = SegmentCacheConfig {
        max_bytes: 1 << 20,
        ttl_ms: TTL_MS,
    };
    let reader = Pipeline::new(
        store.clone(),
        Arc::new(counting.clone()),
        Arc::new(clock.clone()),
        config,
    );
    let batches = four_segments(&writer).await;
    let mut t = Cached {
        writer,
        reader,
        counting,
        clock,
        batches,
    };
    let segments = catalog.segments(&tp(0)).await.unwrap();
    // Offsets well inside each segment: a 2,000-byte fetch never reaches the next one.
    let inside: Vec<i64> = (0..4).flat_map(|s| [s * 250 + 5, s * 250 + 120]).collect();

    assert_eq!(
        t.fetch_all(&inside).await,
        4,
        "cold: one lookup per segment"
    );
    assert_eq!(t.fetch_all(&inside).await, 0, "warm: no catalog request");

    // A fetch reaching the partition's end stops there, as every fetch stops at its segment's
    // end: nothing to ask the catalog.
    let before = t.counting.counts();
    let tail = t
        .reader
        .fetch(&FetchRequest {
            tp: tp(0),
            offset: 990,
            max_bytes: 1 << 20,
        })
        .await
        .unwrap();
    let want = expected_fetch(&partition_batches(&t.batches, 0), 990, 1 << 20);
    assert!(tail.batches == want && tail.next_offset == 1_000);
    assert_eq!(t.counting.counts().since(&before).reads, 0);

    // Retention drops segment 0: served from memory (its archive is retired, not deleted) until
    // the TTL of the entry has passed, then out of range.
    let rest: u64 = segments[1..].iter().map(|s| s.data_bytes).sum();
    let dropped = t
        .writer
        .apply_retention(&tp(0), &Retention::from_hours_and_bytes(0, rest), false)
        .await
        .unwrap();
    assert_eq!(dropped.removed, [segments[0].id.clone()]);
    t.clock.advance(TTL_MS / 2);
    assert_eq!(t.fetch_all(&inside[..2]).await, 0);
    t.clock.advance(TTL_MS / 2);
    match t.fetch(5).await {
        Err(PipelineError::OffsetOutOfRange { earliest, .. }) => assert_eq!(earliest.get(), 250),
        other => panic!("past the TTL, a retention cut holds: {other:?}"),
    }

    // A segment after the newest cached one is found in the catalog.
    let spec = SynthSpec {
        seed: 9,
        start_timestamp_ms: 1_700_000_400_000,
        ..spec(250, 1, Compression::Gzip, 1_000)
    };
    let fifth = synth::batches(&spec).unwrap();
    index_wal(&t.writer, "w4", &fifth).await;
    t.batches.extend(fifth);
    let inside: Vec<i64> = (1..5).flat_map(|s| [s * 250 + 5, s * 250 + 120]).collect();
    assert!(
        t.fetch_all(&inside).await >= 1,
        "the new segment is looked up"
    );
    assert_eq!(t.fetch_all(&inside).await, 0, "and cached");

    // A merge replaces the cached segments: within the TTL the old archives still answer, with
    // the same bytes, from memory.
    let live = catalog.segments(&tp(0)).await.unwrap();
    let run = plan_compaction(&live, &CompactionPolicy::default()).remove(0);
    assert!(run.segments.len() >= 2, "{run:?}");
    t.writer.merge_run(&tp(0), &run).await.unwrap();
    assert_eq!(t.fetch_all(&inside).await, 0);

    // A collector deleting them early (a grace period shorter than the TTL, or skewed clocks):
    // a reader finding its cached archive gone evicts it and asks the catalog once more.
    let gc = t.writer.delete_retired(0, false).await.unwrap();
    assert!(gc.retired_deleted >= run.segments.len(), "{gc:?}");
    assert!(t.fetch_all(&inside).await >= 1);
    let stats = t.reader.segment_cache_stats();
    assert!(stats.evicted_stale >= 1, "{stats:?}");
    assert_eq!(
        t.fetch_all(&inside).await,
        0,
        "the merged segment is cached"
    );

    // A consumer crossing segment boundaries reads the same bytes; the reader never wrote to the
    // catalog.
    assert_fetch_matches(&t.reader, &t.batches, 250, 1 << 20).await;
    assert_eq!(t.counting.counts().writes, 0);
    assert!(stats.hits > stats.misses, "{stats:?}");
}

#[tokio::test]
async fn a_cached_reader_on_the_embedded_backends() {
    let backends = Backends::new();
    cached_reader_through_retention_merges_and_gc(backends.store.clone(), backends.catalog.clone())
        .await;
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn a_cached_reader_on_s3_and_dynamodb() {
    let (store, _bucket) = tier::testing::s3::store().await;
    let (catalog, _table) = tier::testing::dynamo::catalog().await;
    cached_reader_through_retention_merges_and_gc(Arc::new(store), Arc::new(catalog)).await;
}
