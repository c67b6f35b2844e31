//! Model test: random sequences of index / redeliver / compact / retention / garbage collection /
//! time passing, with a fault injected at any write of any step — a crash before or after the write,
//! or a lost response the process survives — on the embedded backends and on S3 + DynamoDB (the
//! local stack). After every step, failed or not, the backends must satisfy:
//!
//! - the committed segments of the partition never overlap (and, as sources arrive in order, leave
//!   no gap);
//! - every offset ever indexed and not expired is fetchable, byte for byte; a failed indexing is
//!   all or nothing; the earliest offset only moves forward, and only as retention allows;
//! - no catalog entry points to a missing object, and a retired archive is kept for its grace period;
//! - after a garbage collection, no object under `archives/` older than the grace period (and the
//!   orphans' minimum age) is unreferenced.
//!
//! A failed indexing is retried (as S3 / SQS redeliver); other failed steps are simply left behind,
//! as the compactor's next scheduled run would find them.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use proptest::prelude::*;
use proptest::sample::Index;

use tier::catalog::Catalog;

use crate::support::consume;
use tier::clock::{Clock, SystemClock};
use tier::kafka::{Compression, RawBatch};
use tier::pipeline::*;
use tier::store::ObjectStore;
use tier::synth::{self, SynthSpec, ValueShape};
use tier::testing::{Fault, FaultKind, FaultyCatalog, FaultyStore, Fuse};
use tier::types::{ObjectKey, Topic, TopicPartition};

const GRACE_MS: i64 = 15 * 60_000;
const SOURCES: usize = 10;

/// Real time plus a test-controlled shift, so that the store's own last-modified times (real) and
/// the pipeline's notion of "now" agree until the test lets time pass.
#[derive(Debug, Default)]
struct ShiftedClock(AtomicI64);

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
struct Batch {
    base: i64,
    last: i64,
    max_timestamp: i64,
    bytes: Vec<u8>,
}

#[derive(Debug)]
struct Source {
    id: String,
    wal: Vec<u8>,
    batches: Vec<Batch>,
}

fn topic() -> Topic {
    "model".parse().unwrap()
}

fn tp() -> TopicPartition {
    TopicPartition::from_log_dir_name("model-0").unwrap()
}

/// Contiguous sources of varied size and codec, each an hour of records, ending a day ago.
fn sources(now_ms: i64) -> Vec<Source> {
    let mut offset = 0;
    (0..SOURCES)
        .map(|i| {
            let records = [30, 50, 20, 40, 60][i % 5];
            let spec = SynthSpec {
                topic: topic(),
                partitions: 1,
                records,
                batch_records: 10,
                compression: [Compression::None, Compression::Lz4, Compression::Gzip][i % 3],
                shape: ValueShape::Json,
                start_offset: offset,
                start_timestamp_ms: now_ms - 86_400_000 - (SOURCES - i) as i64 * 3_600_000,
                seed: i as u64,
            };
            offset += records as i64;
            let raw = synth::batches(&spec).unwrap();
            let batches = raw
                .iter()
                .map(|(_, bytes)| {
                    let h = *RawBatch::parse(bytes).unwrap().header();
                    Batch {
                        base: h.base_offset,
                        last: h.base_offset + i64::from(h.last_offset_delta),
                        max_timestamp: h.max_timestamp,
                        bytes: bytes.clone(),
                    }
                })
                .collect();
            Source {
                id: format!("wal/model/{i:04}.wal"),
                wal: synth::wal_segment(&topic(), &raw).unwrap(),
                batches,
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Step {
    /// Index the next source.
    Index,
    /// Deliver an already indexed source again.
    Redeliver(Index),
    /// A compaction run merging runs of `fanout` like-sized segments.
    Compact { fanout: usize },
    /// Retention by age, the cutoff at the newest record of a chosen live batch.
    RetainByAge(Index),
    /// Retention by size, the budget the bytes from a chosen live batch to the end.
    RetainBySize(Index),
    /// Garbage collection.
    CollectGarbage,
    /// More than the grace period passes.
    Advance,
}

fn steps() -> impl Strategy<Value = Vec<(Step, Option<Fault>)>> {
    let step = prop_oneof![
        4 => Just(Step::Index),
        1 => any::<Index>().prop_map(Step::Redeliver),
        3 => (2usize..=4).prop_map(|fanout| Step::Compact { fanout }),
        1 => any::<Index>().prop_map(Step::RetainByAge),
        1 => any::<Index>().prop_map(Step::RetainBySize),
        2 => Just(Step::CollectGarbage),
        2 => Just(Step::Advance),
    ];
    let kind = prop_oneof![
        Just(FaultKind::Crash),
        Just(FaultKind::CrashAfterWrite),
        Just(FaultKind::LostResponse),
    ];
    let fault = prop::option::weighted(
        0.4,
        (0u32..6, kind).prop_map(|(after_writes, kind)| Fault { after_writes, kind }),
    );
    prop::collection::vec((step, fault), 8..28)
}

struct Harness {
    store: Arc<dyn ObjectStore>,
    catalog: Arc<dyn Catalog>,
    fuse: Arc<Fuse>,
    clock: Arc<ShiftedClock>,
    /// The pipeline of a process that may fail.
    failing: Pipeline,
    /// A healthy process: recovery and checks.
    healthy: Pipeline,
    sources: Vec<Source>,
    /// Sources certainly indexed.
    indexed: usize,
    /// The earliest offset seen so far.
    earliest: i64,
    /// Whether the current step may move the earliest offset (a retention step).
    may_expire: bool,
    log: Vec<String>,
}

impl Harness {
    fn new(store: Arc<dyn ObjectStore>, catalog: Arc<dyn Catalog>) -> Harness {
        let fuse = Arc::new(Fuse::default());
        let clock = Arc::new(ShiftedClock::default());
        let mut config = PipelineConfig::default();
        config.archive.chunk_target_bytes = 2 * 1024;
        let failing = Pipeline::new(
            Arc::new(FaultyStore::new(store.clone(), fuse.clone())),
            Arc::new(FaultyCatalog::new(catalog.clone(), fuse.clone())),
            clock.clone(),
            config.clone(),
        );
        let healthy = Pipeline::new(store.clone(), catalog.clone(), clock.clone(), config);
        let sources = sources(clock.now_ms());
        Harness {
            store,
            catalog,
            fuse,
            clock,
            failing,
            healthy,
            sources,
            indexed: 0,
            earliest: 0,
            may_expire: false,
            log: Vec::new(),
        }
    }

    /// Fails the test with the steps so far.
    fn fail(&self, what: impl std::fmt::Display) -> ! {
        panic!("{what}\nsteps:\n  {}", self.log.join("\n  "))
    }

    /// Live batches: indexed (plus, while a failed indexing is unresolved, maybe the next source)
    /// at or after the earliest offset.
    fn batches(&self, sources: usize) -> impl Iterator<Item = &Batch> {
        self.sources[..sources]
            .iter()
            .flat_map(|s| &s.batches)
            .filter(|b| b.base >= self.earliest)
    }

    async fn run(&mut self, steps: &[(Step, Option<Fault>)]) {
        for (step, fault) in steps {
            self.log.push(format!("{step:?} fault={fault:?}"));
            if let Some(fault) = fault {
                self.fuse.arm(*fault);
            }
            let outcome = self.step(step).await;
            let faulted = self.fuse.fired();
            self.fuse.disarm();
            match outcome {
                Err(e) if !faulted => self.fail(format!("{step:?} failed without a fault: {e}")),
                Err(e) => self.log.push(format!("  failed: {e}")),
                Ok(()) => {}
            }
            let gc_completed = matches!(step, Step::CollectGarbage) && !faulted;
            self.may_expire = matches!(step, Step::RetainByAge(_) | Step::RetainBySize(_));
            if matches!(step, Step::Index) && self.indexed < SOURCES {
                if faulted {
                    // The failed indexing is all or nothing; then it is redelivered and completes.
                    self.check(true, false).await;
                    let source = &self.sources[self.indexed];
                    if let Err(e) = self
                        .healthy
                        .index_source(&source.id, &source.wal, None)
                        .await
                    {
                        self.fail(format!("redelivery after a failure failed: {e}"));
                    }
                }
                self.indexed += 1;
            }
            self.check(false, gc_completed).await;
        }
    }

    async fn step(&mut self, step: &Step) -> PipelineResult<()> {
        let p = &self.failing;
        match step {
            Step::Index => {
                if let Some(source) = self.sources.get(self.indexed) {
                    let report = p.index_source(&source.id, &source.wal, None).await?;
                    if report.already_indexed {
                        self.fail("a new source was reported as already indexed");
                    }
                }
            }
            Step::Redeliver(i) => {
                if self.indexed > 0 {
                    let source = &self.sources[i.index(self.indexed)];
                    let before = p.catalog().partition(&tp()).await?;
                    let report = p.index_source(&source.id, &source.wal, None).await?;
                    if !report.already_indexed || p.catalog().partition(&tp()).await? != before {
                        self.fail("a redelivered source changed the catalog");
                    }
                }
            }
            Step::Compact { fanout } => {
                let req = CompactionRequest {
                    policy: CompactionPolicy {
                        target_bytes: 1 << 30,
                        min_run: *fanout,
                        fanout: *fanout,
                    },
                    ..Default::default()
                };
                p.compact(&req).await?;
            }
            Step::RetainByAge(i) => {
                let live: Vec<&Batch> = self.batches(self.indexed).collect();
                if !live.is_empty() {
                    // A second before the chosen batch's newest record: the time that passes
                    // before retention reads the clock cannot expire the chosen batch.
                    let cutoff = live[i.index(live.len())].max_timestamp - 1_000;
                    let retention = Retention {
                        max_age_ms: Some(self.clock.now_ms() - cutoff),
                        max_bytes: None,
                    };
                    self.retain(retention).await?;
                    // Everything old enough went: the first segment left is not.
                    let first = self.catalog.segments(&tp()).await.unwrap().remove(0);
                    if first.max_timestamp < cutoff {
                        self.fail(format!(
                            "retention by age kept segment {} (newest record {} < cutoff {cutoff})",
                            first.id, first.max_timestamp
                        ));
                    }
                    // Only segments entirely older than the cutoff went.
                    let earliest = first.base_offset.get();
                    let dropped = self.batches(self.indexed).filter(|b| b.base < earliest);
                    // `now` moved on a little since the cutoff was chosen: allow for that.
                    if let Some(b) = dropped
                        .into_iter()
                        .find(|b| b.max_timestamp >= cutoff + 60_000)
                    {
                        self.fail(format!(
                            "retention by age dropped batch {} (newer than the cutoff)",
                            b.base
                        ));
                    }
                }
            }
            Step::RetainBySize(i) => {
                let live: Vec<&Batch> = self.batches(self.indexed).collect();
                if !live.is_empty() {
                    let from = i.index(live.len());
                    let budget: u64 = live[from..].iter().map(|b| b.bytes.len() as u64).sum();
                    let retention = Retention {
                        max_age_ms: None,
                        max_bytes: Some(budget),
                    };
                    self.retain(retention).await?;
                    // Everything beyond the budget went: without the first segment left, the rest
                    // would fall short of it.
                    let left = self.catalog.segments(&tp()).await.unwrap();
                    let total: u64 = left.iter().map(|s| s.data_bytes).sum();
                    if total - left[0].data_bytes >= budget {
                        self.fail(format!(
                            "retention by size kept segment {} beyond the budget {budget}",
                            left[0].id
                        ));
                    }
                    let earliest = left[0].base_offset.get();
                    let kept: u64 = self
                        .batches(self.indexed)
                        .filter(|b| b.base >= earliest)
                        .map(|b| b.bytes.len() as u64)
                        .sum();
                    if kept < budget {
                        self.fail(format!(
                            "retention by size kept {kept} < budget {budget} bytes"
                        ));
                    }
                }
            }
            Step::CollectGarbage => {
                p.collect_garbage(GRACE_MS, false).await?;
            }
            Step::Advance => {
                self.clock.0.fetch_add(GRACE_MS + 60_000, Ordering::SeqCst);
            }
        }
        Ok(())
    }

    /// A compaction run doing retention only (merges disabled by an unreachable run length).
    async fn retain(&self, retention: Retention) -> PipelineResult<()> {
        let req = CompactionRequest {
            retention: RetentionPolicy {
                topics: [(topic(), RetentionOverride::default())].into(),
                default: retention,
            },
            policy: CompactionPolicy {
                min_run: usize::MAX,
                ..Default::default()
            },
            ..Default::default()
        };
        self.failing.compact(&req).await.map(|_| ())
    }

    /// (earliest, latest) of the committed segments.
    async fn live_range(&self) -> (i64, i64) {
        let segments = self.catalog.segments(&tp()).await.unwrap();
        match (segments.first(), segments.last()) {
            (Some(first), Some(last)) => (first.base_offset.get(), last.last_offset.get()),
            _ => (i64::MAX, -1),
        }
    }

    /// Checks every invariant; `pending`: the indexing of the next source failed and is not yet
    /// redelivered, so it may or may not be committed. `after_gc`: a garbage collection just
    /// completed.
    async fn check(&mut self, pending: bool, after_gc: bool) {
        let segments = self.catalog.segments(&tp()).await.unwrap();
        for w in segments.windows(2) {
            if w[0].last_offset.get() + 1 != w[1].base_offset.get() {
                self.fail(format!(
                    "segments {}..={} and {}..={} overlap or leave a gap",
                    w[0].base_offset, w[0].last_offset, w[1].base_offset, w[1].last_offset
                ));
            }
        }
        let last_of = |n: usize| {
            self.sources[..n]
                .iter()
                .flat_map(|s| &s.batches)
                .last()
                .map_or(-1, |b| b.last)
        };
        let (earliest, latest) = self.live_range().await;
        let committed = if latest == last_of(self.indexed) {
            self.indexed
        } else if pending && latest == last_of(self.indexed + 1) {
            self.indexed + 1
        } else {
            self.fail(format!(
                "latest offset {latest}; expected {} (indexed sources) {}",
                last_of(self.indexed),
                if pending {
                    format!("or {} (with the failed one)", last_of(self.indexed + 1))
                } else {
                    String::new()
                }
            ))
        };
        if committed == 0 {
            return;
        }
        if earliest < self.earliest || (earliest != self.earliest && !self.may_expire) {
            self.fail(format!(
                "earliest offset moved from {} to {earliest}{}",
                self.earliest,
                if self.may_expire {
                    ""
                } else {
                    " outside retention"
                }
            ));
        }
        self.earliest = earliest;
        let live: Vec<&Batch> = self.batches(committed).collect();
        if live.first().map(|b| b.base) != Some(earliest) {
            self.fail(format!(
                "earliest offset {earliest} is not a batch boundary"
            ));
        }
        let (whole, _) = consume(&self.healthy, &tp(), earliest, 64 << 20).await;
        let want: Vec<u8> = live.iter().flat_map(|b| b.bytes.iter().copied()).collect();
        if whole != want {
            self.fail(format!(
                "fetch from {earliest}: {} bytes, expected {}",
                whole.len(),
                want.len()
            ));
        }
        for b in live.iter().step_by(5) {
            let mid = (b.base + b.last) / 2;
            let one = self
                .healthy
                .fetch(&FetchRequest {
                    tp: tp(),
                    offset: mid,
                    max_bytes: 1,
                })
                .await
                .unwrap_or_else(|e| self.fail(format!("fetch at {mid}: {e}")));
            if one.batches != b.bytes {
                self.fail(format!("fetch at {mid} did not return its batch"));
            }
        }
        if earliest > 0 {
            match self
                .healthy
                .fetch(&FetchRequest {
                    tp: tp(),
                    offset: earliest - 1,
                    max_bytes: 1,
                })
                .await
            {
                Err(PipelineError::OffsetOutOfRange { earliest: e, .. }) if e.get() == earliest => {
                }
                other => self.fail(format!("fetch below earliest: {other:?}")),
            }
        }
        for seg in &segments {
            if !self.store.exists(&seg.archive_key).await.unwrap() {
                self.fail(format!("segment {} points to a missing archive", seg.id));
            }
        }
        let now = self.clock.now_ms();
        let retired = self.catalog.retired_archives().await.unwrap();
        for r in &retired {
            if r.retired_at_ms > now - GRACE_MS && !self.store.exists(&r.key).await.unwrap() {
                self.fail(format!("{} was deleted within its grace period", r.key));
            }
        }
        if after_gc {
            let referenced: std::collections::HashSet<&ObjectKey> = segments
                .iter()
                .map(|s| &s.archive_key)
                .chain(retired.iter().map(|r| &r.key))
                .collect();
            for object in self.store.list(ObjectKey::ARCHIVE_PREFIX).await.unwrap() {
                let orphan_age = GRACE_MS.max(ORPHAN_MIN_AGE_MS);
                if !referenced.contains(&object.key) && object.last_modified_ms <= now - orphan_age
                {
                    self.fail(format!(
                        "{} is unreferenced and older than the orphan age after garbage collection",
                        object.key
                    ));
                }
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_steps_with_faults_keep_the_invariants_on_the_embedded_backends(steps in steps()) {
        runtime().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = tier::store::LocalStore::open(dir.path().join("objects")).unwrap();
            let catalog =
                tier::catalog::EmbeddedCatalog::open(dir.path().join("catalog.redb")).unwrap();
            Harness::new(Arc::new(store), Arc::new(catalog)).run(&steps).await;
        });
    }
}

#[cfg(feature = "aws")]
proptest! {
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_iters: 20, ..ProptestConfig::default() })]

    #[test]
    fn random_steps_with_faults_keep_the_invariants_on_s3_and_dynamodb(steps in steps()) {
        runtime().block_on(async {
            let (store, _bucket) = tier::testing::s3::store().await;
            let (catalog, _table) = tier::testing::dynamo::catalog().await;
            Harness::new(Arc::new(store), Arc::new(catalog)).run(&steps).await;
        });
    }
}
