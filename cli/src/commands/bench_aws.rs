//! `tierctl bench --aws`: fetch latency against S3 + DynamoDB next to a raw S3 ranged GET of the same
//! bytes in the same run, and the requests each operation costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tier::archive::Toc;
use tier::catalog::{Catalog, CountingCatalog};
use tier::clock::SystemClock;
use tier::pipeline::{FetchRequest, Pipeline, PipelineConfig, SegmentCacheConfig};
use tier::store::{CountingStore, ObjectStore};
use tier::synth;
use tier::types::{Offset, Partition, TopicPartition};

use super::Status;
use crate::args::BenchArgs;
use crate::output;

const FETCH_BYTES: usize = 1 << 20;

/// Latency and request counts of one way of fetching.
#[derive(Serialize)]
struct FetchFigures {
    fetch_p50_ms: f64,
    fetch_p99_ms: f64,
    raw_get_p50_ms: f64,
    raw_get_p99_ms: f64,
    fetch_vs_raw_p50: f64,
    s3_requests_per_fetch_mean: f64,
    s3_requests_per_fetch_max: u64,
    catalog_requests_per_fetch_mean: f64,
    catalog_requests_per_fetch_max: u64,
}

#[derive(Serialize)]
struct AwsBenchReport {
    records: u64,
    wal_bytes: usize,
    index_seconds: f64,
    index_s3_requests: u64,
    index_catalog_reads: u64,
    index_catalog_writes: u64,
    fetches: usize,
    /// Every fetch by a fresh pipeline (the fetch function's configuration, nothing cached): a
    /// cold container.
    cold: FetchFigures,
    /// The same offsets by one pipeline that has served `fetches` other random fetches first.
    warm: FetchFigures,
}

fn percentile_ms(samples: &mut [Duration], p: f64) -> f64 {
    super::bench::percentile_us(samples, p) / 1e3
}

/// The bucket and table of `args`.
pub async fn connect(
    args: &BenchArgs,
) -> anyhow::Result<(tier::store::S3Store, tier::catalog::DynamoCatalog)> {
    let bucket = args
        .bucket
        .as_deref()
        .context("--aws needs --bucket or TIER_BUCKET")?;
    let table = args
        .table
        .as_deref()
        .context("--aws needs --table or TIER_TABLE")?;
    Ok(tier::aws::connect(bucket, table).await)
}

/// The fetch function's configuration: segment cache on, no chunk cache (so every fetch reads
/// S3, and the comparison with a raw GET stays one GET against one GET).
fn fetch_function_config() -> PipelineConfig {
    PipelineConfig {
        segment_cache: SegmentCacheConfig::RECOMMENDED,
        ..PipelineConfig::default()
    }
}

struct Bench<'a> {
    tp: TopicPartition,
    raw: &'a dyn ObjectStore,
    store: &'a CountingStore,
    catalog: &'a CountingCatalog,
}

impl Bench<'_> {
    /// Times a fetch of up to 1 MiB at each offset through the pipeline `reader` gives for it,
    /// and next to it one raw ranged GET of the window that fetch reads.
    async fn run(
        &self,
        offsets: &[i64],
        reader: impl Fn() -> Pipeline,
    ) -> anyhow::Result<FetchFigures> {
        let (mut fetch, mut raw_get) = (Vec::new(), Vec::new());
        let (mut s3_per, mut catalog_per) = (Vec::new(), Vec::new());
        for &offset in offsets {
            let pipeline = reader();
            let (s, c) = (self.store.counts(), self.catalog.counts());
            let started = Instant::now();
            pipeline
                .fetch(&FetchRequest {
                    tp: self.tp.clone(),
                    offset,
                    max_bytes: FETCH_BYTES,
                })
                .await?;
            fetch.push(started.elapsed());
            s3_per.push(self.store.counts().since(&s).total());
            let dc = self.catalog.counts().since(&c);
            catalog_per.push(dc.reads + dc.writes);
            raw_get.push(self.raw_window_get(offset).await?);
        }
        let mean = |v: &[u64]| v.iter().sum::<u64>() as f64 / v.len().max(1) as f64;
        let (fetch_p50, raw_p50) = (
            percentile_ms(&mut fetch, 0.5),
            percentile_ms(&mut raw_get, 0.5),
        );
        Ok(FetchFigures {
            fetch_p50_ms: fetch_p50,
            fetch_p99_ms: percentile_ms(&mut fetch, 0.99),
            raw_get_p50_ms: raw_p50,
            raw_get_p99_ms: percentile_ms(&mut raw_get, 0.99),
            fetch_vs_raw_p50: fetch_p50 / raw_p50.max(f64::EPSILON),
            s3_requests_per_fetch_mean: mean(&s3_per),
            s3_requests_per_fetch_max: s3_per.iter().copied().max().unwrap_or(0),
            catalog_requests_per_fetch_mean: mean(&catalog_per),
            catalog_requests_per_fetch_max: catalog_per.iter().copied().max().unwrap_or(0),
        })
    }

    /// One raw ranged GET of the chunk window a fetch at `offset` plans (first chunk + following
    /// ones up to `FETCH_BYTES`), timed.
    async fn raw_window_get(&self, offset: i64) -> anyhow::Result<Duration> {
        let seg = self
            .catalog
            .segment_covering(&self.tp, Offset::try_from(offset)?)
            .await?
            .context("segment vanished")?;
        let toc = Toc::decode(&seg.toc)?;
        let chunks = toc.chunks_from(offset);
        let mut end = 1;
        let mut planned = 0;
        while end < chunks.len() && planned < FETCH_BYTES as u64 {
            planned += chunks[end].data_len;
            end += 1;
        }
        let range = chunks[0].range.start..chunks[end - 1].range.end;
        let started = Instant::now();
        self.raw.get_range(&seg.archive_key, range).await?;
        Ok(started.elapsed())
    }
}

fn figures_text(name: &str, f: &FetchFigures) -> String {
    format!(
        "{name} fetch 1 MiB  p50 {:>7.2} ms  p99 {:>7.2} ms\n\
         {name} raw GET      p50 {:>7.2} ms  p99 {:>7.2} ms  (fetch / raw p50 = {:.2}x)\n\
         {name} per fetch: {:.2} S3 requests (max {}), {:.2} catalog requests (max {})",
        f.fetch_p50_ms,
        f.fetch_p99_ms,
        f.raw_get_p50_ms,
        f.raw_get_p99_ms,
        f.fetch_vs_raw_p50,
        f.s3_requests_per_fetch_mean,
        f.s3_requests_per_fetch_max,
        f.catalog_requests_per_fetch_mean,
        f.catalog_requests_per_fetch_max
    )
}

pub async fn run(args: BenchArgs, json: bool) -> anyhow::Result<Status> {
    let (s3, dynamo) = connect(&args).await?;
    let raw: Arc<dyn ObjectStore> = Arc::new(s3);
    let store = CountingStore::new(raw.clone());
    let catalog = CountingCatalog::new(Arc::new(dynamo));
    let writer = Pipeline::new(
        Arc::new(store.clone()),
        Arc::new(catalog.clone()),
        Arc::new(SystemClock),
        PipelineConfig::default(),
    );
    let topic = format!("bench-{:08x}", rand::random::<u32>()).parse()?;
    let tp = TopicPartition::new(topic, Partition::try_from(0)?);
    let spec = super::bench::bench_spec(tp.topic.clone(), &args);
    let wal = synth::wal_segment(&spec.topic, &synth::batches(&spec)?)?;

    let (s0, c0) = (store.counts(), catalog.counts());
    let started = Instant::now();
    writer
        .index_source(&format!("bench:{}", tp.topic), &wal, None)
        .await?;
    let index_seconds = started.elapsed().as_secs_f64();
    let (s_index, c_index) = (store.counts().since(&s0), catalog.counts().since(&c0));

    let offsets = super::bench::random_offsets(&args, 1);
    let bench = Bench {
        tp: tp.clone(),
        raw: &*raw,
        store: &store,
        catalog: &catalog,
    };
    let cold = bench
        .run(&offsets, || writer.with_config(fetch_function_config()))
        .await?;
    let warm_reader = writer.with_config(fetch_function_config());
    for offset in super::bench::random_offsets(&args, 2) {
        warm_reader
            .fetch(&FetchRequest {
                tp: tp.clone(),
                offset,
                max_bytes: FETCH_BYTES,
            })
            .await?;
    }
    let warm = bench.run(&offsets, || warm_reader.clone()).await?;
    let report = AwsBenchReport {
        records: args.records,
        wal_bytes: wal.len(),
        index_seconds,
        index_s3_requests: s_index.total(),
        index_catalog_reads: c_index.reads,
        index_catalog_writes: c_index.writes,
        fetches: args.fetches,
        cold,
        warm,
    };
    if json {
        output::json(&report)?;
    } else {
        output::text(format!(
            "indexing {} records ({}): {:.2} s, {} S3 requests, {} catalog reads + {} writes\n{}\n{}",
            report.records,
            output::bytes(report.wal_bytes as u64),
            report.index_seconds,
            report.index_s3_requests,
            report.index_catalog_reads,
            report.index_catalog_writes,
            figures_text("cold", &report.cold),
            figures_text("warm", &report.warm),
        ))?;
    }
    Ok(Status::Success)
}
