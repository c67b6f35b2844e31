//! Fixtures and oracles shared by the pipeline tests.

pub use std::sync::Arc;

pub use tier::catalog::{CatalogError, EmbeddedCatalog};
pub use tier::kafka::{BatchBuilder, Compression, RawBatch, RecordInput};
pub use tier::pipeline::*;
pub use tier::source::SourceError;
pub use tier::store::LocalStore;
pub use tier::synth::{self, SynthSpec, ValueShape};
pub use tier::testing::FixedClock;
pub use tier::types::{ObjectKey, Partition, Topic, TopicPartition};
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

/// Kafka fetch semantics computed directly from the original batches.
pub fn expected_fetch(batches: &[(i64, i64, &[u8])], offset: i64, max_bytes: usize) -> Vec<u8> {
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
pub async fn assert_fetch_matches(
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
