//! `tierctl bench`: indexing throughput, archive size and fetch latency on the embedded backend, each
//! next to a baseline measured in the same run (ratios travel between machines; seconds do not).

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use tier::kafka::RawBatch;
use tier::pipeline::{FetchRequest, Pipeline, PipelineConfig, SegmentCacheConfig};
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
    let out = BenchReport {
        records: args.records,
        codec: format!("{:?}", args.codec).to_lowercase(),
        wal_bytes: wal.len() as u64,
        decode_mb_per_s: mb / decode_s,
        index_mb_per_s: mb / index_s,
        index_vs_decode_time: index_s / decode_s,
        archive_bytes,
        archive_to_wal: archive_bytes as f64 / wal.len() as f64,
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
    };
    if json {
        output::json(&out)?;
    } else {
        output::text(format!(
            "records {} ({}), WAL {}\n\
             indexing        {:>8.1} MB/s   (decode-only baseline {:.1} MB/s; indexing takes {:.1}x its time)\n\
             archive / WAL   {:>8.3}        (whole-WAL gzip -6 baseline {:.3})\n\
             fetch 1 MiB     p50 {:>8.0} us  p99 {:>8.0} us\n\
             raw file read   p50 {:>8.0} us  p99 {:>8.0} us  (fetch / raw p50 = {:.1}x)\n\
             warm fetch      p50 {:>8.0} us  p99 {:>8.0} us  (segment cache; / raw p50 {:.0} us = {:.1}x)",
            out.records,
            out.codec,
            output::bytes(out.wal_bytes),
            out.index_mb_per_s,
            out.decode_mb_per_s,
            out.index_vs_decode_time,
            out.archive_to_wal,
            out.gzip_to_wal,
            out.fetch_p50_us,
            out.fetch_p99_us,
            out.raw_read_p50_us,
            out.raw_read_p99_us,
            out.fetch_vs_raw_p50,
            out.warm_fetch_p50_us,
            out.warm_fetch_p99_us,
            out.warm_raw_read_p50_us,
            out.warm_fetch_vs_raw_p50
        ))?;
    }
    Ok(Status::Success)
}
