//! `tierctl gen`: write a synthetic sealed WAL segment or Kafka .log segment.

use anyhow::Context;
use serde::Serialize;
use tier::synth::{self, SynthSpec};
use tier::types::TopicPartition;

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

/// The partition a Chronik segment's output path names (it must follow the broker layout and
/// name `--topic`); the generated batches are re-numbered into it.
fn chronik_partition(args: &GenArgs, spec: &SynthSpec) -> anyhow::Result<TopicPartition> {
    let path = args.output.display().to_string().replace('\\', "/");
    let segment = tier::chronik::SegmentPath::parse(&path).with_context(|| {
        format!(
            "{path}: a Chronik WAL segment is written as <dir>/<topic>/<partition>/wal_<partition>_<n>.log"
        )
    })?;
    if segment.tp.topic != spec.topic || args.partitions != 1 {
        anyhow::bail!(
            "{path} holds partition {} of one topic: use --topic {} --partitions 1",
            segment.tp,
            segment.tp.topic
        );
    }
    Ok(segment.tp)
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
    let chronik_tp = match args.format {
        GenFormat::ChronikWal => Some(chronik_partition(&args, &spec)?),
        _ => None,
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
        GenFormat::ChronikWal => {
            let tp = chronik_tp
                .clone()
                .context("the partition was checked above")?;
            let plain: Vec<Vec<u8>> = batches.iter().map(|(_, b)| b.clone()).collect();
            let quirks = synth::ChronikQuirks {
                lz4_blocks: true,
                ..Default::default()
            };
            (synth::chronik_segment(&tp, &plain, &quirks)?, "chronik-wal")
        }
    };
    if let (Some(_), Some(dir)) = (&chronik_tp, args.output.parent()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
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
