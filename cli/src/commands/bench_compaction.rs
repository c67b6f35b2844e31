//! `tierctl bench --compaction`: a partition of many small segments, compacted until nothing is left
//! to merge; segments, bytes and search latency before and after, and how much was rewritten.

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde::Serialize;
use std::sync::Arc;

use tier::catalog::CountingCatalog;
use tier::clock::SystemClock;
use tier::pipeline::{CompactionRequest, Pipeline, PipelineConfig, SearchRequest};
use tier::store::CountingStore;
use tier::types::{Partition, Topic, TopicPartition};

use super::Status;
use super::bench::{bench_spec, percentile_us};
use crate::args::BenchArgs;
use crate::output;

/// Common terms, first 20 hits: answered from the first segments that have them.
const COMMON: [&str; 3] = [
    "value.country:ES",
    "refund",
    "value.event:purchase AND value.country:FR",
];
/// Rare terms, every hit: every segment's index has to be consulted.
const RARE: [&str; 3] = [
    "key:\"user-4242\"",
    "value.user.id:17",
    "value.amount:123.45",
];

#[derive(Serialize)]
struct CompactionBenchReport {
    backend: &'static str,
    records: u64,
    segments_before: u64,
    segments_after: u64,
    archive_bytes_before: u64,
    archive_bytes_after: u64,
    data_bytes: u64,
    compaction_runs: usize,
    merges: usize,
    bytes_rewritten: u64,
    bytes_rewritten_per_byte_ingested: f64,
    compaction_seconds: f64,
    compaction_mb_per_s: f64,
    /// Requests of the whole compaction (all runs, planning included) per merge.
    store_reads_per_merge: f64,
    store_puts_per_merge: f64,
    catalog_reads_per_merge: f64,
    catalog_writes_per_merge: f64,
    /// First 20 hits of common terms.
    common_search_p50_ms_before: f64,
    common_search_p50_ms_after: f64,
    /// Every hit of rare terms.
    rare_search_p50_ms_before: f64,
    rare_search_p50_ms_after: f64,
    rare_search_speedup: f64,
}

/// Median latency of `queries` over `topic` (each run 5 times) returning up to `limit` hits, in ms.
async fn search_p50(
    pipeline: &Pipeline,
    topic: &Topic,
    queries: &[&str],
    limit: usize,
) -> anyhow::Result<f64> {
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..5 {
        for q in queries {
            let req = SearchRequest {
                topic: Some(topic.clone()),
                query: (*q).into(),
                limit,
                ..Default::default()
            };
            let started = Instant::now();
            pipeline.search(&req).await?;
            samples.push(started.elapsed());
        }
    }
    Ok(percentile_us(&mut samples, 0.5) / 1e3)
}

pub async fn run(args: BenchArgs, json: bool) -> anyhow::Result<Status> {
    let dir = tempfile::tempdir()?;
    let (store, catalog) = super::bench_backends(&args, dir.path()).await?;
    let (store, catalog) = (CountingStore::new(store), CountingCatalog::new(catalog));
    // No read cache: searches read from the store, as a cold reader would.
    let pipeline = Pipeline::new(
        Arc::new(store.clone()),
        Arc::new(catalog.clone()),
        Arc::new(SystemClock),
        PipelineConfig::default(),
    );
    // A fresh topic: on S3 + DynamoDB the bucket and table may hold earlier runs.
    let topic: Topic = format!("compaction-{:08x}", rand::random::<u32>()).parse()?;
    let tp = TopicPartition::new(topic.clone(), Partition::try_from(0)?);
    let segments = args.segments.max(1);
    let per_segment = (args.records / segments).max(1);
    let progress = ProgressBar::new(segments);
    for i in 0..segments {
        let mut spec = bench_spec(
            tp.topic.clone(),
            &BenchArgs {
                records: per_segment,
                ..args.clone()
            },
        );
        spec.batch_records = 20;
        spec.start_offset = (i * per_segment) as i64;
        spec.start_timestamp_ms += i as i64 * 60_000;
        spec.seed = i;
        let wal = tier::synth::wal_segment(&spec.topic, &tier::synth::batches(&spec)?)?;
        pipeline
            .index_source(&format!("bench/{topic}/{i}"), &wal, None)
            .await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let nothing = || anyhow::anyhow!("nothing indexed");
    let before = pipeline
        .catalog()
        .partition(&tp)
        .await?
        .ok_or_else(nothing)?;
    let common_before = search_p50(&pipeline, &topic, &COMMON, 20).await?;
    let rare_before = search_p50(&pipeline, &topic, &RARE, 10_000).await?;

    let (s0, c0) = (store.counts(), catalog.counts());
    let started = Instant::now();
    let (mut runs, mut merges, mut rewritten) = (0, 0, 0);
    loop {
        let req = CompactionRequest {
            topics: vec![topic.to_string()],
            ..Default::default()
        };
        let report = pipeline.compact(&req).await?;
        runs += 1;
        merges += report.merges_executed;
        rewritten += report.bytes_written;
        if report.merges_executed == 0 {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (s1, c1) = (store.counts().since(&s0), catalog.counts().since(&c0));
    let per_merge = |n: u64| n as f64 / merges.max(1) as f64;
    let after = pipeline
        .catalog()
        .partition(&tp)
        .await?
        .ok_or_else(nothing)?;
    let common_after = search_p50(&pipeline, &topic, &COMMON, 20).await?;
    let rare_after = search_p50(&pipeline, &topic, &RARE, 10_000).await?;
    let report = CompactionBenchReport {
        backend: if args.aws { "s3+dynamodb" } else { "embedded" },
        records: per_segment * segments,
        segments_before: before.segment_count,
        segments_after: after.segment_count,
        archive_bytes_before: before.archive_bytes,
        archive_bytes_after: after.archive_bytes,
        data_bytes: before.data_bytes,
        compaction_runs: runs,
        merges,
        bytes_rewritten: rewritten,
        bytes_rewritten_per_byte_ingested: rewritten as f64 / before.archive_bytes.max(1) as f64,
        compaction_seconds: seconds,
        compaction_mb_per_s: rewritten as f64 / 1e6 / seconds.max(f64::EPSILON),
        store_reads_per_merge: per_merge(s1.get + s1.get_range + s1.size),
        store_puts_per_merge: per_merge(s1.put),
        catalog_reads_per_merge: per_merge(c1.reads),
        catalog_writes_per_merge: per_merge(c1.writes),
        common_search_p50_ms_before: common_before,
        common_search_p50_ms_after: common_after,
        rare_search_p50_ms_before: rare_before,
        rare_search_p50_ms_after: rare_after,
        rare_search_speedup: rare_before / rare_after.max(f64::EPSILON),
    };
    if json {
        output::json(&report)?;
        return Ok(Status::Success);
    }
    output::text(format!(
        "{}: segments {} -> {}, archives {} -> {} ({} runs, {} merges)\n\
         rewritten {} = {:.2} bytes per byte ingested, at {:.1} MB/s\n\
         per merge: {:.1} store reads, {:.1} puts, {:.1} catalog reads, {:.1} catalog writes\n\
         search, first 20 hits of common terms: p50 {:.1} ms -> {:.1} ms\n\
         search, every hit of rare terms:       p50 {:.1} ms -> {:.1} ms ({:.1}x faster)",
        report.backend,
        report.segments_before,
        report.segments_after,
        output::bytes(report.archive_bytes_before),
        output::bytes(report.archive_bytes_after),
        report.compaction_runs,
        report.merges,
        output::bytes(report.bytes_rewritten),
        report.bytes_rewritten_per_byte_ingested,
        report.compaction_mb_per_s,
        report.store_reads_per_merge,
        report.store_puts_per_merge,
        report.catalog_reads_per_merge,
        report.catalog_writes_per_merge,
        report.common_search_p50_ms_before,
        report.common_search_p50_ms_after,
        report.rare_search_p50_ms_before,
        report.rare_search_p50_ms_after,
        report.rare_search_speedup
    ))?;
    Ok(Status::Success)
}
