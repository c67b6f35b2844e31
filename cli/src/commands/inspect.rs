//! `tierctl inspect`: describe a WAL segment, a Chronik WAL segment, a Kafka .log segment or an
//! archive.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use tier::archive::{list_members, read_member};
use tier::kafka::{BatchHeader, RawBatch};
use tier::wal::WalSegment;

use super::Status;
use crate::args::InspectArgs;
use crate::output;

#[derive(Serialize)]
struct BatchInfo {
    base_offset: i64,
    last_offset: i64,
    records: i32,
    bytes: usize,
    compression: String,
    transactional: bool,
    control: bool,
    max_timestamp: i64,
    crc: String,
    crc_valid: bool,
}

impl BatchInfo {
    fn new(batch: &RawBatch<'_>) -> Self {
        let h: &BatchHeader = batch.header();
        BatchInfo {
            base_offset: h.base_offset,
            last_offset: h.last_offset(),
            records: h.records_count,
            bytes: batch.bytes().len(),
            compression: h
                .compression()
                .map(|c| c.to_string())
                .unwrap_or_else(|e| e.to_string()),
            transactional: h.is_transactional(),
            control: h.is_control(),
            max_timestamp: h.max_timestamp,
            crc: format!("{:08x}", h.crc),
            crc_valid: batch.verify_crc().is_ok(),
        }
    }
}

#[derive(Serialize)]
struct FrameInfo {
    topic: String,
    partition: u32,
    #[serde(flatten)]
    batch: BatchInfo,
}

#[derive(Serialize)]
struct MemberInfo {
    name: String,
    start: u64,
    end: u64,
    data_len: u64,
    crc32c: String,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Inspection {
    Wal {
        file: String,
        bytes: usize,
        version: u16,
        frames: Vec<FrameInfo>,
        partitions: serde_json::Value,
    },
    KafkaLog {
        file: String,
        bytes: usize,
        batches: Vec<BatchInfo>,
        error: Option<String>,
    },
    ChronikWal {
        file: String,
        bytes: usize,
        topic: Option<String>,
        partition: Option<u32>,
        frames: usize,
        empty_frames: usize,
        duplicate_frames: usize,
        legacy_crc_frames: usize,
        /// In offset order.
        batches: Vec<BatchInfo>,
    },
    Archive {
        file: String,
        bytes: usize,
        manifest: serde_json::Value,
        members: Vec<MemberInfo>,
    },
}

fn inspect_wal(file: &Path, bytes: &[u8]) -> anyhow::Result<Inspection> {
    let seg = WalSegment::parse(bytes).with_context(|| format!("{}", file.display()))?;
    let mut frames = Vec::new();
    for (i, r) in seg.records.iter().enumerate() {
        let batch = RawBatch::parse(&r.batch).with_context(|| format!("frame {i}"))?;
        frames.push(FrameInfo {
            topic: r.topic.clone(),
            partition: r.partition,
            batch: BatchInfo::new(&batch),
        });
    }
    let partitions = seg
        .footer
        .partitions
        .iter()
        .map(|p| {
            serde_json::json!({
                "topic": p.topic, "partition": p.partition, "first_offset": p.first_offset,
                "last_offset": p.last_offset, "batches": p.batch_count, "records": p.record_count,
            })
        })
        .collect();
    Ok(Inspection::Wal {
        file: file.display().to_string(),
        bytes: bytes.len(),
        version: tier::wal::FORMAT_VERSION,
        frames,
        partitions,
    })
}

/// A Chronik WAL segment, validated as `index` would (an invalid one is an error).
fn inspect_chronik(file: &Path, bytes: &[u8]) -> anyhow::Result<Inspection> {
    let seg = tier::chronik::read_segment(bytes).with_context(|| format!("{}", file.display()))?;
    Ok(Inspection::ChronikWal {
        file: file.display().to_string(),
        bytes: bytes.len(),
        topic: seg.tp.as_ref().map(|tp| tp.topic.to_string()),
        partition: seg.tp.as_ref().map(|tp| tp.partition.get()),
        frames: seg.frames,
        empty_frames: seg.empty_frames,
        duplicate_frames: seg.duplicate_frames,
        legacy_crc_frames: seg.legacy_crc_frames,
        batches: seg
            .batches
            .iter()
            .map(|b| BatchInfo::new(&b.batch))
            .collect(),
    })
}

fn inspect_log(file: &Path, bytes: &[u8]) -> Inspection {
    let mut batches = Vec::new();
    let mut error = None;
    for b in tier::kafka::batches(bytes) {
        match b {
            Ok(b) => batches.push(BatchInfo::new(&b)),
            Err(e) => error = Some(e.to_string()),
        }
    }
    Inspection::KafkaLog {
        file: file.display().to_string(),
        bytes: bytes.len(),
        batches,
        error,
    }
}

fn inspect_archive(file: &Path, bytes: &[u8]) -> anyhow::Result<Inspection> {
    let entries = list_members(bytes)
        .with_context(|| format!("{}", file.display()))?
        .members;
    let mut manifest = serde_json::Value::Null;
    let mut members = Vec::new();
    for m in entries {
        if m.name == "manifest.json" {
            let range = usize::try_from(m.range.start)?..usize::try_from(m.range.end)?;
            let member = bytes.get(range).context("member outside the file")?;
            let (_, data) = read_member(member)?;
            manifest = serde_json::from_slice(&data).context("manifest.json is not JSON")?;
        }
        members.push(MemberInfo {
            name: m.name,
            start: m.range.start,
            end: m.range.end,
            data_len: m.data_len,
            crc32c: format!("{:08x}", m.crc32c),
        });
    }
    Ok(Inspection::Archive {
        file: file.display().to_string(),
        bytes: bytes.len(),
        manifest,
        members,
    })
}

fn print_batches<'a>(batches: impl Iterator<Item = (String, &'a BatchInfo)>) -> anyhow::Result<()> {
    for (prefix, b) in batches {
        output::text(format!(
            "  {prefix}offsets {}..={} {} records {} B {} crc {} {}{}{}",
            b.base_offset,
            b.last_offset,
            b.records,
            b.bytes,
            b.compression,
            b.crc,
            if b.crc_valid { "ok" } else { "MISMATCH" },
            if b.transactional {
                " transactional"
            } else {
                ""
            },
            if b.control { " control" } else { "" },
        ))?;
    }
    Ok(())
}

pub fn run(args: InspectArgs, json: bool) -> anyhow::Result<Status> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let inspection = if tier::wal::is_wal(&bytes) {
        inspect_wal(&args.file, &bytes)?
    } else if tier::chronik::is_chronik_wal(&bytes) {
        inspect_chronik(&args.file, &bytes)?
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        inspect_archive(&args.file, &bytes)?
    } else {
        inspect_log(&args.file, &bytes)
    };
    if json {
        output::json(&inspection)?;
    } else {
        match &inspection {
            Inspection::Wal {
                file,
                bytes,
                version,
                frames,
                partitions,
            } => {
                output::text(format!(
                    "{file}: sealed WAL segment v{version}, {bytes} bytes, {} frames",
                    frames.len()
                ))?;
                for p in partitions.as_array().into_iter().flatten() {
                    output::text(format!("  partition {p}"))?;
                }
                print_batches(
                    frames
                        .iter()
                        .map(|f| (format!("{}/{} ", f.topic, f.partition), &f.batch)),
                )?;
            }
            Inspection::KafkaLog {
                file,
                bytes,
                batches,
                ..
            } => {
                output::text(format!(
                    "{file}: Kafka log segment, {bytes} bytes, {} batches",
                    batches.len()
                ))?;
                print_batches(batches.iter().map(|b| (String::new(), b)))?;
            }
            Inspection::ChronikWal {
                file,
                bytes,
                topic,
                partition,
                frames,
                empty_frames,
                duplicate_frames,
                legacy_crc_frames,
                batches,
            } => {
                output::text(format!(
                    "{file}: Chronik WAL segment of {}/{}, {bytes} bytes, {frames} frames \
                     ({empty_frames} empty, {duplicate_frames} repeated, {legacy_crc_frames} with \
                     the CRC rule before v2.4.0), {} batches",
                    topic.as_deref().unwrap_or("-"),
                    partition.map_or("-".into(), |p| p.to_string()),
                    batches.len()
                ))?;
                print_batches(batches.iter().map(|b| (String::new(), b)))?;
            }
            Inspection::Archive {
                file,
                bytes,
                manifest,
                members,
            } => {
                output::text(format!(
                    "{file}: archive, {bytes} bytes, {} members",
                    members.len()
                ))?;
                output::text(serde_json::to_string_pretty(manifest)?)?;
                for m in members {
                    output::text(format!(
                        "  {:<40} bytes {}..{} data {} crc32c {}",
                        m.name, m.start, m.end, m.data_len, m.crc32c
                    ))?;
                }
            }
        }
    }
    // What `index` would refuse, inspect reports as a problem too (e.g. a batch CRC or a frame
    // disagreeing with its batch inside a well-formed WAL container).
    let rejected = match &inspection {
        Inspection::Wal { .. } => tier::source::read_source(&bytes, None).err(),
        _ => None,
    };
    let problems = match &inspection {
        _ if rejected.is_some() => rejected.map(|e| format!("index would reject it: {e}")),
        Inspection::KafkaLog { error: Some(e), .. } => Some(e.clone()),
        Inspection::KafkaLog { batches, .. } if batches.iter().any(|b| !b.crc_valid) => {
            Some("some batches fail their CRC".into())
        }
        Inspection::KafkaLog { batches, .. } if batches.is_empty() => {
            Some("no Kafka v2 batch found".into())
        }
        _ => None,
    };
    match problems {
        Some(p) => anyhow::bail!("{}: {p}", args.file.display()),
        None => Ok(Status::Success),
    }
}
