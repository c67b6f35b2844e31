//! `tierctl index`: index WAL segments or Kafka .log segments.

use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tier::pipeline::{IndexReport, Pipeline};
use tier::source::{ReadAt, SourceFile};
use tier::types::{Partition, TopicPartition};

use super::Status;
use crate::args::IndexArgs;
use crate::output;

/// The ledger id of a local file: its name, size and CRC-32C, plus the partition for a Kafka log
/// (the same bytes indexed as another partition are another source).
fn source_id(
    path: &Path,
    file: &SourceFile,
    tp: Option<&TopicPartition>,
) -> anyhow::Result<String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let crc = file
        .crc32c()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let base = format!("file:{name}:{}:{crc:08x}", file.size());
    let magic = file.read_up_to(0, 8).unwrap_or_default();
    Ok(match tp {
        Some(tp) if !tier::wal::is_wal(&magic) => format!("{base}:{tp}"),
        _ => base,
    })
}

/// The partition a file names: from flags, else from its path (a Chronik
/// `<topic>/<partition>/wal_<p>_<n>.log`, or a Kafka `<topic>-<partition>/` log directory).
fn log_partition(path: &Path, args: &IndexArgs) -> anyhow::Result<Option<TopicPartition>> {
    if let (Some(topic), Some(partition)) = (&args.topic, args.partition) {
        return Ok(Some(TopicPartition::new(
            topic.parse()?,
            Partition::try_from(partition)?,
        )));
    }
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let components: Vec<String> = full
        .components()
        .rev()
        .take(3)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let tail: Vec<&str> = components.iter().rev().map(String::as_str).collect();
    Ok(tier::source::path_partition(&tail.join("/")))
}

fn describe(file: &Path, r: &IndexReport) -> String {
    if r.already_indexed {
        return format!("{}: already indexed, nothing to do", file.display());
    }
    let mut lines = vec![format!(
        "{}: {} segment(s) from a {} source",
        file.display(),
        r.segments.len(),
        r.format.map(|f| format!("{f:?}")).unwrap_or_default()
    )];
    for indexed in &r.segments {
        let s = &indexed.segment;
        lines.push(format!(
            "  {}/{} offsets {}..={}: {} records in {} batches, {} of batches -> {} archive{}",
            s.topic,
            s.partition,
            s.base_offset,
            s.last_offset,
            s.records,
            s.batches,
            output::bytes(s.data_bytes),
            output::bytes(s.archive_bytes),
            if indexed.added {
                ""
            } else {
                " (already registered)"
            }
        ));
    }
    lines.join("\n")
}

pub async fn run(pipeline: &Pipeline, args: IndexArgs, json: bool) -> anyhow::Result<Status> {
    let progress = ProgressBar::new(args.files.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reports = Vec::new();
    let mut failures = 0;
    for file in &args.files {
        progress.set_message(file.display().to_string());
        let result = index_file(pipeline, file, &args).await;
        progress.inc(1);
        match result {
            Ok(report) => {
                if !json {
                    progress.suspend(|| output::text(describe(file, &report)))?;
                }
                reports.push(report);
            }
            // A single file's error is the command's error: one line, printed by main.
            Err(e) if args.files.len() == 1 => return Err(e),
            Err(e) => {
                failures += 1;
                progress.suspend(|| eprintln!("tierctl: error: {}", output::error_line(&e)));
            }
        }
    }
    progress.finish_and_clear();
    if json {
        output::json(&reports)?;
    }
    if failures > 0 {
        anyhow::bail!(
            "{failures} of {} file(s) could not be indexed",
            args.files.len()
        );
    }
    Ok(Status::Success)
}

async fn index_file(
    pipeline: &Pipeline,
    file: &Path,
    args: &IndexArgs,
) -> anyhow::Result<IndexReport> {
    let source =
        SourceFile::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let tp = log_partition(file, args)?;
    let id = source_id(file, &source, tp.as_ref())?;
    pipeline
        .index_file(&id, source, tp.as_ref())
        .await
        .with_context(|| format!("{}", file.display()))
}
