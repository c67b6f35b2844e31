//! `tierctl bench`: indexing throughput, archive size and fetch latency on the embedded backend, each
//! next to a baseline measured in the same run (ratios travel between machines; seconds do not).

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use tier::index::IndexLayout;
use tier::kafka::RawBatch;
use tier::pipeline::{FetchRequest, Pipeline, PipelineConfig, SearchRequest, SegmentCacheConfig};
use tier::synth::{self, SynthSpec, ValueShape};
use tier::types::{Partition, TopicPartition};

use super::Status;
use crate::args::BenchArgs;
use crate::output;

const FETCH_BYTES: usize = 1 << 20;

#[derive(Serialize)]
struct BenchReport {
    records: u64,
    codec: String,
    wal_bytes: u64,
    /// Baseline: decompress and decode every record (what any indexer must at least do).
    decode_mb_per_s: f64,
    index_mb_per_s: f64,
    index_vs_decode_time: f64,
    archive_bytes: u64,
    archive_to_wal: f64,
    /// Archive bytes over the original batch bytes they hold (the index's cost).
    archive_to_batches: f64,
    /// Baseline: the whole WAL gzipped at level 6.
    gzip_to_wal: f64,
    fetches: usize,
    fetch_max_bytes: usize,
    fetch_p50_us: f64,
    fetch_p99_us: f64,
    /// Baseline: open + seek + read of the same number of bytes from a local file.
    raw_read_p50_us: f64,
    raw_read_p99_us: f64,
    fetch_vs_raw_p50: f64,
    /// The same offsets through a pipeline with the segment cache on, after other fetches.
    warm_fetch_p50_us: f64,
    warm_fetch_p99_us: f64,
    warm_raw_read_p50_us: f64,
    warm_fetch_vs_raw_p50: f64,
    /// Searches of a unique trace id (one hit), every hit; no read cache.
    search_rare_p50_us: f64,
    /// Searches of a common word (`payment`, in ~40 % of the records), first 20 hits; no read cache.
    search_common_first20_p50_us: f64,
    /// Baseline: the same WAL indexed in layout 1 (one Tantivy document per record).
    v1_archive_to_batches: f64,
    v1_index_vs_decode_time: f64,
    v1_search_rare_p50_us: f64,
    v1_search_common_first20_p50_us: f64,
    search_rare_vs_v1_p50: f64,
    search_common_first20_vs_v1_p50: f64,
}

const SEARCHES: usize = 30;

/// Search latency: unique trace ids of random records (every hit), then a common word (first 20).
async fn time_searches(
    pipeline: &Pipeline,
    batches: &[(u32, Vec<u8>)],
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let mut rng = StdRng::seed_from_u64(7);
    let (mut rare, mut common) = (Vec::new(), Vec::new());
    for _ in 0..SEARCHES {
        let (_, batch) = &batches[rng.random_range(0..batches.len())];
        let records = RawBatch::parse(batch)?.records()?;
        let record = &records[rng.random_range(0..records.len())];
        let trace = record
            .headers
            .iter()
            .find(|h| h.key == "trace")
            .and_then(|h| h.value.as_deref())
            .ok_or_else(|| anyhow::anyhow!("a bench record without a trace header"))?;
        let req = SearchRequest {
            query: String::from_utf8_lossy(trace).into_owned(),
            limit: 100,
            ..Default::default()
        };
        let started = Instant::now();
        let hits = pipeline.search(&req).await?;
        rare.push(started.elapsed());
        anyhow::ensure!(
            hits.iter().any(|h| h.record.offset == record.offset),
            "the trace id of offset {} was not found",
            record.offset
        );
        let req = SearchRequest {
            query: "payment".into(),
            limit: 20,
            ..Default::default()
        };
        let started = Instant::now();
        let hits = pipeline.search(&req).await?;
        common.push(started.elapsed());
        anyhow::ensure!(hits.len() == 20, "{} hits of a common word", hits.len());
    }
    Ok((rare, common))
}

/// Fetches of up to 1 MiB, each next to a read of as many bytes from a local file.
struct FetchTiming<'a> {
    tp: &'a TopicPartition,
    wal_path: &'a std::path::Path,
    wal_len: usize,
}

impl FetchTiming<'_> {
    /// Fetch and raw-read durations, one of each per offset.
    async fn run(
        &self,
        pipeline: &Pipeline,
        offsets: &[i64],
    ) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
        let mut rng = StdRng::seed_from_u64(offsets.len() as u64);
        let (mut fetch, mut raw) = (Vec::new(), Vec::new());
        for &offset in offsets {
            let started = Instant::now();
            let result = pipeline
                .fetch(&FetchRequest {
                    tp: self.tp.clone(),
                    offset,
                    max_bytes: FETCH_BYTES,
                })
                .await?;
            fetch.push(started.elapsed());
            let len = result.batches.len();
            let at = rng.random_range(0..(self.wal_len.saturating_sub(len).max(1))) as u64;
            let started = Instant::now();
            let mut file = std::fs::File::open(self.wal_path)?;
            file.seek(SeekFrom::Start(at))?;
            let mut buf = vec![0; len];
            file.read_exact(&mut buf)?;
            raw.push(started.elapsed());
        }
        Ok((fetch, raw))
    }
}

/// The `p` quantile of `samples`, in microseconds.
pub(super) fn percentile_us(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// `args.fetches` offsets drawn uniformly from the `args.records` indexed, reproducibly.
pub(super) fn random_offsets(args: &BenchArgs, seed: u64) -> Vec<i64> {
    let last = args.records.saturating_sub(1) as i64;
    let mut rng = StdRng::seed_from_u64(seed);
    (0..args.fetches)
        .map(|_| rng.random_range(0..=last))
        .collect()
}

/// The data every benchmark indexes: JSON records in batches of 100, one partition, fixed seed.
pub(super) fn bench_spec(topic: tier::types::Topic, args: &BenchArgs) -> SynthSpec {
    SynthSpec {
        topic,
        partitions: 1,
        records: args.records,
        batch_records: 100,
        compression: args.codec.into(),
        shape: ValueShape::Json,
        start_offset: 0,
        start_timestamp_ms: 1_767_225_600_000,
        seed: 42,
    }
}

pub async fn run(args: BenchArgs, json: bool) -> anyhow::Result<Status> {
    let dir = tempfile::tempdir()?;
    let pipeline = super::open_embedded(dir.path()).await?;
    let tp = TopicPartition::new("bench".parse()?, Partition::try_from(0)?);
    let spec = bench_spec(tp.topic.clone(), &args);
    eprintln!("generating {} records…", args.records);
    let batches = synth::batches(&spec)?;
    let wal = synth::wal_segment(&spec.topic, &batches)?;
    let wal_path = dir.path().join("bench.wal");
    std::fs::write(&wal_path, &wal)?;
    let mb = wal.len() as f64 / 1e6;

    let started = Instant::now();
    let mut decoded = 0usize;
    for (_, b) in &batches {
        decoded += RawBatch::parse(b)?.records()?.len();
    }
    let decode_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(decoded as u64 == args.records, "decoded {decoded} records");

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    gz.write_all(&wal)?;
    let gzip_len = gz.finish()?.len();

    eprintln!("indexing {:.1} MB…", mb);
    let started = Instant::now();
    let report = pipeline.index_source("bench", &wal, None).await?;
    let index_s = started.elapsed().as_secs_f64();
    let archive_bytes: u64 = report
        .segments
        .iter()
        .map(|s| s.segment.archive_bytes)
        .sum();
    let batch_bytes: u64 = report.segments.iter().map(|s| s.segment.data_bytes).sum();

    eprintln!("timing {} fetches…", args.fetches);
    let random_offsets = |seed| random_offsets(&args, seed);
    let offsets = random_offsets(1);
    let timing = FetchTiming {
        tp: &tp,
        wal_path: &wal_path,
        wal_len: wal.len(),
    };
    let (mut fetch, mut raw) = timing.run(&pipeline, &offsets).await?;
    // A process that keeps segment entries (as the fetch function does), after serving other
    // random fetches: no catalog read per fetch.
    let warm_pipeline = pipeline.with_config(PipelineConfig {
        segment_cache: SegmentCacheConfig::RECOMMENDED,
        ..pipeline.config().clone()
    });
    timing.run(&warm_pipeline, &random_offsets(2)).await?;
    let (mut warm, mut warm_raw) = timing.run(&warm_pipeline, &offsets).await?;
    let (fetch_p50, raw_p50) = (percentile_us(&mut fetch, 0.5), percentile_us(&mut raw, 0.5));
    let (warm_p50, warm_raw_p50) = (
        percentile_us(&mut warm, 0.5),
        percentile_us(&mut warm_raw, 0.5),
    );
    eprintln!("timing {SEARCHES} searches of each kind…");
    let (mut rare, mut common) = time_searches(&pipeline, &batches).await?;
    // The baseline layout, same WAL, same machine, same run.
    eprintln!("indexing and searching the same WAL in index layout 1…");
    let v1_dir = tempfile::tempdir()?;
    let v1 = super::open_embedded(v1_dir.path()).await?;
    let v1 = v1.with_config(PipelineConfig {
        index_layout: IndexLayout::Tantivy,
        ..v1.config().clone()
    });
    let started = Instant::now();
    let v1_report = v1.index_source("bench", &wal, None).await?;
    let v1_index_s = started.elapsed().as_secs_f64();
    let v1_archive: u64 = v1_report
        .segments
        .iter()
        .map(|s| s.segment.archive_bytes)
        .sum();
    let (mut v1_rare, mut v1_common) = time_searches(&v1, &batches).await?;
    let (rare_p50, common_p50) = (
        percentile_us(&mut rare, 0.5),
        percentile_us(&mut common, 0.5),
    );
    let (v1_rare_p50, v1_common_p50) = (
        percentile_us(&mut v1_rare, 0.5),
        percentile_us(&mut v1_common, 0.5),
    );
    let out = BenchReport {
        records: args.records,
        codec: format!("{:?}", args.codec).to_lowercase(),
        wal_bytes: wal.len() as u64,
        decode_mb_per_s: mb / decode_s,
        index_mb_per_s: mb / index_s,
        index_vs_decode_time: index_s / decode_s,
        archive_bytes,
        archive_to_wal: archive_bytes as f64 / wal.len() as f64,
        archive_to_batches: archive_bytes as f64 / batch_bytes.max(1) as f64,
        gzip_to_wal: gzip_len as f64 / wal.len() as f64,
        fetches: args.fetches,
        fetch_max_bytes: FETCH_BYTES,
        fetch_p50_us: fetch_p50,
        fetch_p99_us: percentile_us(&mut fetch, 0.99),
        raw_read_p50_us: raw_p50,
        raw_read_p99_us: percentile_us(&mut raw, 0.99),
        fetch_vs_raw_p50: fetch_p50 / raw_p50.max(f64::EPSILON),
        warm_fetch_p50_us: warm_p50,
        warm_fetch_p99_us: percentile_us(&mut warm, 0.99),
        warm_raw_read_p50_us: warm_raw_p50,
        warm_fetch_vs_raw_p50: warm_p50 / warm_raw_p50.max(f64::EPSILON),
        search_rare_p50_us: rare_p50,
        search_common_first20_p50_us: common_p50,
        v1_archive_to_batches: v1_archive as f64 / batch_bytes.max(1) as f64,
        v1_index_vs_decode_time: v1_index_s / decode_s,
        v1_search_rare_p50_us: v1_rare_p50,
        v1_search_common_first20_p50_us: v1_common_p50,
        search_rare_vs_v1_p50: rare_p50 / v1_rare_p50.max(f64::EPSILON),
        search_common_first20_vs_v1_p50: common_p50 / v1_common_p50.max(f64::EPSILON),
    };
    if json {
        output::json(&out)?;
    } else {
        output::text(format!(
            "records {} ({}), WAL {}\n\
             indexing        {:>8.1} MB/s   (decode-only baseline {:.1} MB/s; indexing takes {:.1}x its time)\n\
             archive / WAL   {:>8.3}        (whole-WAL gzip -6 baseline {:.3}; archive / batches {:.3})\n\
             fetch 1 MiB     p50 {:>8.0} us  p99 {:>8.0} us\n\
             raw file read   p50 {:>8.0} us  p99 {:>8.0} us  (fetch / raw p50 = {:.1}x)\n\
             warm fetch      p50 {:>8.0} us  p99 {:>8.0} us  (segment cache; / raw p50 {:.0} us = {:.1}x)\n\
             search p50      rare term {:>8.0} us, common term first 20 {:>8.0} us\n\
             layout 1        archive / batches {:.3}, indexing {:.1}x decode, search p50 rare {:.0} us ({:.2}x), common first 20 {:.0} us ({:.2}x)",
            out.records,
            out.codec,
            output::bytes(out.wal_bytes),
            out.index_mb_per_s,
            out.decode_mb_per_s,
            out.index_vs_decode_time,
            out.archive_to_wal,
            out.gzip_to_wal,
            out.archive_to_batches,
            out.fetch_p50_us,
            out.fetch_p99_us,
            out.raw_read_p50_us,
            out.raw_read_p99_us,
            out.fetch_vs_raw_p50,
            out.warm_fetch_p50_us,
            out.warm_fetch_p99_us,
            out.warm_raw_read_p50_us,
            out.warm_fetch_vs_raw_p50,
            out.search_rare_p50_us,
            out.search_common_first20_p50_us,
            out.v1_archive_to_batches,
            out.v1_index_vs_decode_time,
            out.v1_search_rare_p50_us,
            out.search_rare_vs_v1_p50,
            out.v1_search_common_first20_p50_us,
            out.search_common_first20_vs_v1_p50
        ))?;
    }
    Ok(Status::Success)
}
