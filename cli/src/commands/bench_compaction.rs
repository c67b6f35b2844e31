//! `tierctl bench --compaction`: a partition of many small segments, compacted until nothing is left
//! to merge; segments, bytes and search latency before and after, and how much was rewritten.

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde::Serialize;
use tier::pipeline::{CompactionRequest, Pipeline, SearchRequest};
use tier::types::{Partition, TopicPartition};

use super::Status;
use super::bench::{bench_spec, percentile_us};
use crate::args::BenchArgs;
use crate::output;

const QUERIES: [&str; 3] = [
    "value.country:ES",
    "refund",
    "value.event:purchase AND value.country:FR",
];

#[derive(Serialize)]
struct CompactionBenchReport {
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
    search_p50_ms_before: f64,
    search_p50_ms_after: f64,
    search_speedup: f64,
}

/// Median latency of the benchmark queries (each run 5 times), in ms.
async fn search_p50(pipeline: &Pipeline) -> anyhow::Result<f64> {
    let mut samples: Vec<Duration> = Vec::new();
    for _ in 0..5 {
        for q in QUERIES {
            let started = Instant::now();
            pipeline
                .search(&SearchRequest {
                    query: q.into(),
                    limit: 20,
                    ..Default::default()
                })
                .await?;
            samples.push(started.elapsed());
        }
    }
    Ok(percentile_us(&mut samples, 0.5) / 1e3)
}

pub async fn run(args: BenchArgs, json: bool) -> anyhow::Result<Status> {
    let dir = tempfile::tempdir()?;
    let pipeline = super::open(dir.path())?;
    let tp = TopicPartition::new("compaction".parse()?, Partition::try_from(0)?);
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
            .index_source(&format!("bench-{i}"), &wal, None)
            .await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    let before = pipeline
        .catalog()
        .partition(&tp)
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing indexed"))?;
    let search_before = search_p50(&pipeline).await?;

    let started = Instant::now();
    let (mut runs, mut merges, mut rewritten) = (0, 0, 0);
    loop {
        let report = pipeline.compact(&CompactionRequest::default()).await?;
        runs += 1;
        merges += report.merges_executed;
        rewritten += report.bytes_written;
        if report.merges_executed == 0 {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = pipeline
        .catalog()
        .partition(&tp)
        .await?
        .ok_or_else(|| anyhow::anyhow!("partition vanished"))?;
    let search_after = search_p50(&pipeline).await?;
    let report = CompactionBenchReport {
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
        search_p50_ms_before: search_before,
        search_p50_ms_after: search_after,
        search_speedup: search_before / search_after.max(f64::EPSILON),
    };
    if json {
        output::json(&report)?;
    } else {
        output::text(format!(
            "segments {} -> {}, archives {} -> {} ({} runs, {} merges)\n\
             rewritten {} = {:.2} bytes per byte ingested, at {:.1} MB/s\n\
             search p50 {:.1} ms -> {:.1} ms ({:.1}x)",
            report.segments_before,
            report.segments_after,
            output::bytes(report.archive_bytes_before),
            output::bytes(report.archive_bytes_after),
            report.compaction_runs,
            report.merges,
            output::bytes(report.bytes_rewritten),
            report.bytes_rewritten_per_byte_ingested,
            report.compaction_mb_per_s,
            report.search_p50_ms_before,
            report.search_p50_ms_after,
            report.search_speedup
        ))?;
    }
    Ok(Status::Success)
}
