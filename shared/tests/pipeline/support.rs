//! Fixtures and oracles shared by the pipeline tests.

pub use std::sync::Arc;

pub use tier::catalog::{CatalogError, EmbeddedCatalog};
pub use tier::index::{
    ChunkFilters, FILTERS_FILE, IndexDoc, IndexLayout, IndexPolicies, IndexPolicy, record_keys,
};
pub use tier::kafka::{BatchBuilder, Compression, RawBatch, RecordInput};
pub use tier::pipeline::*;
pub use tier::source::SourceError;
pub use tier::store::LocalStore;
pub use tier::synth::{self, SynthSpec, ValueShape};
pub use tier::testing::FixedClock;
pub use tier::types::{ObjectKey, Offset, Partition, Topic, TopicPartition};
pub use tier::wal::WalError;

pub struct Fixture {
    pub pipeline: Pipeline,
    pub _dir: tempfile::TempDir,
}

pub fn fixture_with(config: PipelineConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = Pipeline::embedded(dir.path(), Arc::new(FixedClock(1_000)), config).unwrap();
    Fixture {
        pipeline,
        _dir: dir,
    }
}

/// Small chunks so that even small tests span many chunks.
pub fn fixture() -> Fixture {
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    fixture_with(config)
}

/// Embedded backends in a temporary directory shared by several pipelines (several "processes"),
/// and the small-chunk configuration of [`fixture`].
pub struct Backends {
    pub store: Arc<dyn tier::store::ObjectStore>,
    pub catalog: Arc<dyn tier::catalog::Catalog>,
    pub config: PipelineConfig,
    pub _dir: tempfile::TempDir,
}

impl Backends {
    pub fn new() -> Backends {
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
    pub fn pipeline(&self, clock: Arc<dyn tier::clock::Clock>) -> Pipeline {
        Pipeline::new(
            self.store.clone(),
            self.catalog.clone(),
            clock,
            self.config.clone(),
        )
    }
}

pub fn spec(
    records: u64,
    partitions: u32,
    compression: Compression,
    start_offset: i64,
) -> SynthSpec {
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

pub fn tp(p: u32) -> TopicPartition {
    TopicPartition::new(
        "orders".parse().unwrap(),
        Partition::try_from(i64::from(p)).unwrap(),
    )
}

/// The batches of partition `p`, in order, with their (base, last) offsets.
pub fn partition_batches(batches: &[(u32, Vec<u8>)], p: u32) -> Vec<(i64, i64, &[u8])> {
    batches
        .iter()
        .filter(|(q, _)| *q == p)
        .map(|(_, b)| {
            let h = *RawBatch::parse(b).unwrap().header();
            (h.base_offset, h.last_offset(), b.as_slice())
        })
        .collect()
}

/// What a consumer reading from `offset` receives, computed directly from the original batches:
/// the batches whose last offset is `>= offset`, in order, while they fit `max_bytes` (at least one).
pub fn expected_fetch(batches: &[(i64, i64, &[u8])], offset: i64, max_bytes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, _, bytes) in batches.iter().filter(|(_, last, _)| *last >= offset) {
        if !out.is_empty() && out.len() + bytes.len() > max_bytes {
            break;
        }
        out.extend_from_slice(bytes);
    }
    out
}

/// A consumer: fetches `tp` from `offset` on, following `next_offset`, until `max_bytes` are read
/// (a batch that would overshoot them is left out unless it is the first) or the log ends. Returns
/// the bytes and the number of fetches they came from; asserts each fetch holds batches of a
/// single segment and ends at the budget or at that segment's end.
pub async fn consume(
    p: &Pipeline,
    tp: &TopicPartition,
    offset: i64,
    max_bytes: usize,
) -> (Vec<u8>, usize) {
    consume_checking(p, tp, offset, max_bytes, true).await
}

/// [`consume`] while the layout may change under it (merges, retention): where each fetch ends is
/// not checked, only the bytes read.
pub async fn consume_racing(
    p: &Pipeline,
    tp: &TopicPartition,
    offset: i64,
    max_bytes: usize,
) -> Vec<u8> {
    consume_checking(p, tp, offset, max_bytes, false).await.0
}

async fn consume_checking(
    p: &Pipeline,
    tp: &TopicPartition,
    offset: i64,
    max_bytes: usize,
    check_layout: bool,
) -> (Vec<u8>, usize) {
    let (mut out, mut fetches, mut next) = (Vec::<u8>::new(), 0, offset);
    while out.is_empty() || out.len() < max_bytes {
        let budget = max_bytes - out.len().min(max_bytes);
        let limit = budget.min(p.config().max_fetch_bytes);
        let got = match p
            .fetch(&FetchRequest {
                tp: tp.clone(),
                offset: next,
                max_bytes: budget,
            })
            .await
        {
            Ok(got) => got,
            Err(PipelineError::OffsetOutOfRange { latest, .. }) if next > latest.get() => break,
            Err(e) => panic!("fetch {tp} at {next}: {e}"),
        };
        assert!(got.batch_count >= 1, "fetch {tp} at {next}: no batch");
        assert_eq!(got.next_offset, got.last_offset + 1);
        if check_layout {
            assert_one_segment(p, &got, next, limit).await;
        }
        if !out.is_empty() && got.batches.len() > budget {
            break; // its first batch overshoots the consumer's budget
        }
        out.extend_from_slice(&got.batches);
        fetches += 1;
        next = got.next_offset;
    }
    (out, fetches)
}

/// Asserts `got`, fetched from `from` with a budget of `limit` bytes, holds batches of a single
/// segment and ends at the budget or at that segment's end.
pub async fn assert_one_segment(p: &Pipeline, got: &FetchResult, from: i64, limit: usize) {
    let tp = &got.tp;
    let first = Offset::try_from(got.first_offset.max(from)).unwrap();
    let segment = p
        .catalog()
        .segment_covering(tp, first)
        .await
        .unwrap()
        .unwrap();
    assert!(
        got.last_offset <= segment.last_offset.get(),
        "fetch {tp} at {from} crossed the end of segment {} ({})",
        segment.id,
        segment.last_offset
    );
    if got.batches.len() < limit && got.last_offset < segment.last_offset.get() {
        // Stopped inside the segment: only because the next batch did not fit.
        let following = p
            .fetch(&FetchRequest {
                tp: tp.clone(),
                offset: got.next_offset,
                max_bytes: 1,
            })
            .await
            .unwrap();
        assert!(
            got.batches.len() + following.batches.len() > limit,
            "fetch {tp} at {from} stopped short of its budget inside a segment"
        );
    }
}

/// Consumes partition 0 of `p` from `offset` and asserts the bytes are exactly what Kafka fetch
/// semantics give over the original batches.
pub async fn assert_fetch_matches(
    p: &Pipeline,
    originals: &[(u32, Vec<u8>)],
    offset: i64,
    max_bytes: usize,
) {
    let (got, _) = consume(p, &tp(0), offset, max_bytes).await;
    let want = expected_fetch(&partition_batches(originals, 0), offset, max_bytes);
    assert!(
        got == want,
        "offset {offset} max_bytes {max_bytes}: bytes differ"
    );
}

pub async fn index_wal(p: &Pipeline, id: &str, batches: &[(u32, Vec<u8>)]) -> IndexReport {
    let wal = synth::wal_segment(&"orders".parse().unwrap(), batches).unwrap();
    p.index_source(id, &wal, None).await.unwrap()
}

/// Four contiguous segments of partition 0 (250 records each), indexed from four WAL sources.
pub async fn four_segments(p: &Pipeline) -> Vec<(u32, Vec<u8>)> {
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
pub async fn observe(p: &Pipeline) -> (Vec<Vec<u8>>, Vec<SearchHit>, Vec<Option<i64>>) {
    // What consumers read, whatever the segment layout (where single fetches end depends on it).
    let mut fetches = Vec::new();
    for offset in (0..1_000).step_by(37) {
        for max_bytes in [1, 20_000] {
            fetches.push(consume(p, &tp(0), offset, max_bytes).await.0);
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
