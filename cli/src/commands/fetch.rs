//! `tierctl fetch`: original batches (raw) or decoded records (JSON Lines) from an offset, read as
//! a consumer reads them: fetch after fetch (one segment each) until `--max-bytes`.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;
use tier::pipeline::{FetchRequest, Pipeline};
use tier::types::TopicPartition;

use super::Status;
use crate::args::{FetchArgs, FetchFormat};
use crate::output;

/// What `fetch -o FILE` read.
#[derive(Debug, Serialize)]
struct FetchSummary {
    tp: TopicPartition,
    batch_count: usize,
    first_offset: i64,
    last_offset: i64,
    next_offset: i64,
    fetches: usize,
    bytes_written: u64,
}

pub async fn run(pipeline: &Pipeline, args: FetchArgs, json: bool) -> anyhow::Result<Status> {
    let tp: TopicPartition = args.tp.parse()?;
    let mut consumer = pipeline.consumer(FetchRequest {
        tp: tp.clone(),
        offset: args.offset,
        max_bytes: args.max_bytes,
    });
    // One fetch in memory at a time; a file appears only once everything is written.
    let mut sink = match &args.output {
        Some(path) => Sink::File(output::AtomicFile::create(path)?),
        None => Sink::Stdout(std::io::stdout().lock()),
    };
    let mut summary = FetchSummary {
        tp,
        batch_count: 0,
        first_offset: -1,
        last_offset: -1,
        next_offset: args.offset,
        fetches: 0,
        bytes_written: 0,
    };
    while let Some(result) = consumer.next().await? {
        let payload = match args.format {
            FetchFormat::Raw => result.batches,
            FetchFormat::Json => {
                let mut lines = Vec::new();
                for view in result.records(args.offset)? {
                    serde_json::to_writer(&mut lines, &view)?;
                    lines.push(b'\n');
                }
                lines
            }
        };
        sink.write_all(&payload)?;
        if summary.batch_count == 0 {
            summary.first_offset = result.first_offset;
        }
        summary.batch_count += result.batch_count;
        summary.last_offset = result.last_offset;
        summary.next_offset = result.next_offset;
        summary.bytes_written += payload.len() as u64;
    }
    summary.fetches = consumer.fetches();
    sink.finish()?;
    if let Some(path) = &args.output {
        if json {
            output::json(&summary)?;
        } else {
            output::text(format!(
                "{}: {} batch(es) in {} fetch(es), offsets {}..={}, {} written to {} (next offset {})",
                summary.tp,
                summary.batch_count,
                summary.fetches,
                summary.first_offset,
                summary.last_offset,
                output::bytes(summary.bytes_written),
                path.display(),
                summary.next_offset
            ))?;
        }
    }
    Ok(Status::Success)
}

/// Where the fetched bytes go.
enum Sink {
    File(output::AtomicFile),
    Stdout(std::io::StdoutLock<'static>),
}

impl Sink {
    fn write_all(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        match self {
            Sink::File(f) => f.write_all(bytes).context("cannot write the output file"),
            Sink::Stdout(out) => out.write_all(bytes).context("cannot write to stdout"),
        }
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::File(f) => f.commit(),
            Sink::Stdout(mut out) => out.flush().context("cannot write to stdout"),
        }
    }
}
