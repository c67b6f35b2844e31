//! `tierctl gen`: write a synthetic sealed WAL segment or Kafka .log segment.

use serde::Serialize;
use tier::synth::{self, SynthSpec};

use super::Status;
use crate::args::{GenArgs, GenFormat};
use crate::output;

#[derive(Serialize)]
struct GenReport {
    file: String,
    format: &'static str,
    topic: String,
    partitions: u32,
    records: u64,
    batches: usize,
    bytes: u64,
}

pub fn run(args: GenArgs, json: bool) -> anyhow::Result<Status> {
    if args.format == GenFormat::KafkaLog && args.partitions != 1 {
        anyhow::bail!(
            "a Kafka .log segment holds one partition: use --partitions 1 with --format kafka-log"
        );
    }
    let spec = SynthSpec {
        topic: args.topic.parse()?,
        partitions: args.partitions.max(1),
        records: args.records,
        batch_records: args.batch_records,
        compression: args.codec.into(),
        shape: args.shape.into(),
        start_offset: args.start_offset,
        start_timestamp_ms: args.start_timestamp,
        seed: args.seed,
    };
    let batches = synth::batches(&spec)?;
    let (data, format) = match args.format {
        GenFormat::Wal => (synth::wal_segment(&spec.topic, &batches)?, "wal"),
        GenFormat::KafkaLog => (
            batches
                .iter()
                .flat_map(|(_, b)| b.iter().copied())
                .collect(),
            "kafka-log",
        ),
    };
    output::write_atomic(&args.output, &data)?;
    let report = GenReport {
        file: args.output.display().to_string(),
        format,
        topic: spec.topic.to_string(),
        partitions: spec.partitions,
        records: spec.records,
        batches: batches.len(),
        bytes: data.len() as u64,
    };
    if json {
        output::json(&report)?;
    } else {
        output::text(format!(
            "wrote {} ({}): {} records in {} batches over {} partition(s) of {}, {}",
            report.file,
            report.format,
            report.records,
            report.batches,
            report.partitions,
            report.topic,
            output::bytes(report.bytes)
        ))?;
    }
    Ok(Status::Success)
}
