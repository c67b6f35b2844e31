//! `tierctl demo`: the whole pipeline on generated data, explained as it runs.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use tier::kafka::{Compression, RawBatch};
use tier::pipeline::{FetchRequest, OffsetQuery, Pipeline, SearchHit, SearchRequest};
use tier::synth::{self, SynthSpec, ValueShape};
use tier::types::{Partition, Topic, TopicPartition};

use super::Status;
use crate::args::DemoArgs;
use crate::output;

const TOPIC: &str = "demo-events";
const QUERY: &str = "value.country:ES AND value.event:purchase";

#[derive(Serialize)]
struct DemoReport {
    data_dir: String,
    records: u64,
    segments_written: Vec<String>,
    archives_added: usize,
    batch_bytes: u64,
    archive_bytes: u64,
    index_seconds: f64,
    fetch_offset: i64,
    fetch_batches: usize,
    fetch_requests: usize,
    fetch_byte_exact: bool,
    fetch_crc_valid: bool,
    timestamp_query: i64,
    timestamp_offset: Option<i64>,
    search_query: &'static str,
    search_hits: Vec<SearchHit>,
}

pub async fn run(data: &Path, args: DemoArgs, json: bool) -> anyhow::Result<Status> {
    let pipeline = super::open_embedded(data).await?;
    let topic: Topic = TOPIC.parse()?;
    let spec = SynthSpec {
        topic: topic.clone(),
        partitions: args.partitions.max(1),
        records: args.records.max(10),
        batch_records: 50,
        compression: Compression::Lz4,
        shape: ValueShape::Json,
        start_offset: 0,
        start_timestamp_ms: 1_767_225_600_000,
        seed: 7,
    };
    let batches = synth::batches(&spec)?;
    // Two sealed segments, as a broker would upload them 30 minutes apart.
    let halves = batches.split_at(batches.len() / 2);
    let incoming = data.join("incoming");
    std::fs::create_dir_all(&incoming)
        .with_context(|| format!("cannot create {}", incoming.display()))?;
    let mut files = Vec::new();
    for (i, half) in [halves.0, halves.1].into_iter().enumerate() {
        let path = incoming.join(format!("{TOPIC}-{:04}.wal", i + 1));
        output::write_atomic(&path, &synth::wal_segment(&topic, half)?)?;
        files.push(path);
    }

    let started = Instant::now();
    let (mut added, mut batch_bytes, mut archive_bytes) = (0, 0, 0);
    for file in &files {
        let bytes = std::fs::read(file)?;
        let id = format!("demo:{}:{:08x}", bytes.len(), crc32c::crc32c(&bytes));
        let report = pipeline.index_source(&id, &bytes, None).await?;
        for s in report.segments.iter().filter(|s| s.added) {
            added += 1;
            batch_bytes += s.segment.data_bytes;
            archive_bytes += s.segment.archive_bytes;
        }
    }
    let index_seconds = started.elapsed().as_secs_f64();

    // Consume partition 0 from shortly before the end of the first segment, as a Kafka consumer
    // does (each fetch reads one segment; the next starts at its `next_offset`), so the read
    // crosses into the second, and compare with the producer's bytes.
    let p0 = TopicPartition::new(topic.clone(), Partition::try_from(0)?);
    let first_half_p0_last = halves
        .0
        .iter()
        .filter(|(p, _)| *p == 0)
        .filter_map(|(_, b)| RawBatch::parse(b).ok().map(|b| b.header().last_offset()))
        .max()
        .unwrap_or(0);
    let fetch_offset = (first_half_p0_last - 60).max(0);
    let fetched = consume(&pipeline, &p0, fetch_offset, FETCH_BYTES).await?;
    let expected: Vec<u8> = batches
        .iter()
        .filter(|(p, _)| *p == 0)
        .filter(|(_, b)| RawBatch::parse(b).is_ok_and(|b| b.header().last_offset() >= fetch_offset))
        .take(fetched.batch_count)
        .flat_map(|(_, b)| b.iter().copied())
        .collect();
    let crc_valid =
        tier::kafka::batches(&fetched.batches).all(|b| b.is_ok_and(|b| b.verify_crc().is_ok()));

    let ts = spec.start_timestamp_ms + 60_000;
    let at_ts = pipeline.offsets(&p0, OffsetQuery::Timestamp(ts)).await?;
    let hits = pipeline
        .search(&SearchRequest {
            topic: Some(topic),
            query: QUERY.into(),
            limit: 5,
            ..Default::default()
        })
        .await?;

    let report = DemoReport {
        data_dir: data.display().to_string(),
        records: spec.records,
        segments_written: files.iter().map(|f| f.display().to_string()).collect(),
        archives_added: added,
        batch_bytes,
        archive_bytes,
        index_seconds,
        fetch_offset,
        fetch_batches: fetched.batch_count,
        fetch_requests: fetched.requests,
        fetch_byte_exact: fetched.batches == expected,
        fetch_crc_valid: crc_valid,
        timestamp_query: ts,
        timestamp_offset: at_ts.offset,
        search_query: QUERY,
        search_hits: hits,
    };
    if json {
        output::json(&report)?;
    } else {
        print_story(&report, &spec)?;
        super::ls::run(&pipeline, crate::args::LsArgs { segments: false }, false).await?;
    }
    if !(report.fetch_byte_exact && report.fetch_crc_valid) {
        anyhow::bail!("fetched batches differ from the producer's bytes");
    }
    Ok(Status::Success)
}

fn print_story(r: &DemoReport, spec: &SynthSpec) -> anyhow::Result<()> {
    let yes = |b: bool| if b { "yes" } else { "NO" };
    output::text(format!(
        "Chronik Tier demo — embedded backend in {}\n",
        r.data_dir
    ))?;
    output::text(format!(
        "1. A broker sealed 2 WAL segments: {} records of {TOPIC} over {} partitions, lz4 batches, JSON values:\n   {}",
        r.records,
        spec.partitions,
        r.segments_written.join("\n   ")
    ))?;
    if r.archives_added == 0 {
        output::text(
            "2. Indexed: both segments were already indexed (ledger hit), nothing rewritten.",
        )?;
    } else {
        output::text(format!(
            "2. Indexed into {} archives (one per partition and segment): {} of original batches -> {} of seekable tar.gz with per-chunk search filters, in {:.2} s",
            r.archives_added,
            output::bytes(r.batch_bytes),
            output::bytes(r.archive_bytes),
            r.index_seconds
        ))?;
    }
    output::text(format!(
        "3. Consumed {TOPIC}/0 from offset {} (64 KiB): {} batches in {} fetches (one segment each); identical to the producer's bytes: {}; every CRC-32C valid: {}",
        r.fetch_offset,
        r.fetch_batches,
        r.fetch_requests,
        yes(r.fetch_byte_exact),
        yes(r.fetch_crc_valid)
    ))?;
    output::text(format!(
        "4. First offset of {TOPIC}/0 at or after timestamp {}: {}",
        r.timestamp_query,
        r.timestamp_offset.map_or("none".into(), |o| o.to_string())
    ))?;
    output::text(format!(
        "5. Search `{}` (first {}):",
        r.search_query,
        r.search_hits.len()
    ))?;
    for h in &r.search_hits {
        output::text(format!(
            "   {}/{} offset {} key {} {}",
            h.topic,
            h.partition,
            h.record.offset,
            h.record.key.as_deref().unwrap_or("-"),
            h.record.value.as_deref().unwrap_or("-")
        ))?;
    }
    output::text(format!(
        "\nTry: tierctl --data {d} search 'value.msg:refund' --limit 3\n     tierctl --data {d} fetch --topic {TOPIC} --partition 1 --offset 100 --format json | head -3\n\n6. What is tiered now:",
        d = r.data_dir
    ))?;
    Ok(())
}

const FETCH_BYTES: usize = 64 << 10;

/// What a consumer reading `max_bytes` of `tp` from `offset` received.
struct Consumed {
    batches: Vec<u8>,
    batch_count: usize,
    requests: usize,
}

async fn consume(
    pipeline: &Pipeline,
    tp: &TopicPartition,
    offset: i64,
    max_bytes: usize,
) -> anyhow::Result<Consumed> {
    let mut consumer = pipeline.consumer(FetchRequest {
        tp: tp.clone(),
        offset,
        max_bytes,
    });
    let (mut batches, mut batch_count) = (Vec::new(), 0);
    while let Some(got) = consumer.next().await? {
        batch_count += got.batch_count;
        batches.extend_from_slice(&got.batches);
    }
    Ok(Consumed {
        batches,
        batch_count,
        requests: consumer.fetches(),
    })
}
