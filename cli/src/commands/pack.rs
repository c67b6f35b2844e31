//! `tierctl pack`: wrap a Kafka .log segment's batches into a sealed WAL segment.

use anyhow::Context;
use serde::Serialize;
use tier::source::{SourceFormat, read_source};
use tier::wal::{CanonicalRecord, WalWriter};

use super::Status;
use crate::args::PackArgs;
use crate::output;

#[derive(Serialize)]
struct PackReport {
    input: String,
    output: String,
    batches: usize,
    bytes: u64,
}

pub fn run(args: PackArgs, json: bool) -> anyhow::Result<Status> {
    let tp = args.tp.parse()?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let (format, groups) =
        read_source(&bytes, Some(&tp)).with_context(|| format!("{}", args.file.display()))?;
    if format != SourceFormat::KafkaLog {
        anyhow::bail!("{} is already a WAL segment", args.file.display());
    }
    let mut wal = WalWriter::new();
    let mut batches = 0;
    for group in &groups {
        for batch in &group.batches {
            wal.append(&CanonicalRecord::from_batch(&group.tp, &batch.bytes)?)?;
            batches += 1;
        }
    }
    let sealed = wal.seal()?;
    output::write_atomic(&args.output, &sealed)?;
    let report = PackReport {
        input: args.file.display().to_string(),
        output: args.output.display().to_string(),
        batches,
        bytes: sealed.len() as u64,
    };
    if json {
        output::json(&report)?;
    } else {
        output::text(format!(
            "packed {} batches of {tp} from {} into {} ({})",
            report.batches,
            report.input,
            report.output,
            output::bytes(report.bytes)
        ))?;
    }
    Ok(Status::Success)
}
