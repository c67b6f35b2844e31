//! `tierctl backfill DIR|s3://bucket/prefix`: index existing history in bulk, `--jobs` segments at
//! once, resumable through the ingestion ledger (a segment the ledger records as indexed is not
//! read again), with a progress bar (bytes, segments, ETA) on a terminal. A directory follows the
//! sealed-only rule of `ship`; shipped objects in the store are sealed by construction.
//!
//! `--json` prints JSON Lines: one `{"event": "segment", ...}` per segment as it finishes, then one
//! `{"event": "done", ...}` with the totals.

use std::sync::Arc;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tier::catalog::IngestStatus;
use tier::pipeline::{ErrorCode, IngestOutcome, Pipeline, PipelineConfig, SourceObject};
use tier::types::ObjectKey;

use super::Status;
use super::ship::file_version;
use crate::args::BackfillArgs;
use crate::backends::Backends;
use crate::output;

/// One segment to index.
#[derive(Debug, Clone)]
enum Job {
    /// A sealed file of a broker directory, under the key `ship` would give it.
    File {
        path: std::path::PathBuf,
        key: ObjectKey,
        size: u64,
    },
    /// An object in the store.
    Object { source: SourceObject, size: u64 },
}

impl Job {
    fn size(&self) -> u64 {
        match self {
            Job::File { size, .. } | Job::Object { size, .. } => *size,
        }
    }

    fn key(&self) -> &ObjectKey {
        match self {
            Job::File { key, .. } => key,
            Job::Object { source, .. } => &source.key,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Indexed,
    AlreadyIndexed,
    /// Corrupt or conflicting: quarantined (store objects) or refused (files).
    Rejected,
    /// A transient failure: run backfill again.
    Failed,
    /// Dry run: would be indexed.
    Pending,
}

#[derive(Serialize)]
struct SegmentEvent {
    event: &'static str,
    key: String,
    bytes: u64,
    outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize, Default)]
struct Done {
    event: &'static str,
    segments: usize,
    bytes: u64,
    indexed: usize,
    already_indexed: usize,
    rejected: usize,
    failed: usize,
    pending: usize,
    took_ms: u64,
}

pub async fn run(
    backends: &Backends,
    config: PipelineConfig,
    args: BackfillArgs,
    json: bool,
) -> anyhow::Result<Status> {
    let started = std::time::Instant::now();
    let pipeline = backends.pipeline(config).await?;
    let jobs = plan(backends, &pipeline, &args.source).await?;
    let total: u64 = jobs.iter().map(Job::size).sum();
    let progress = ProgressBar::new(total).with_style(
        ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if json {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut done = Done {
        event: "done",
        segments: jobs.len(),
        bytes: total,
        ..Done::default()
    };
    let pipeline = Arc::new(pipeline);
    let mut running = tokio::task::JoinSet::new();
    let mut queue = jobs.into_iter();
    let mut finished = 0usize;
    loop {
        while running.len() < args.jobs as usize {
            let Some(job) = queue.next() else { break };
            let (p, dry_run) = (pipeline.clone(), args.dry_run);
            running.spawn(async move {
                let result = run_job(&p, &job, dry_run).await;
                (job, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (job, (outcome, reason)) = joined.context("a backfill task died")?;
        finished += 1;
        match outcome {
            Outcome::Indexed => done.indexed += 1,
            Outcome::AlreadyIndexed => done.already_indexed += 1,
            Outcome::Rejected => done.rejected += 1,
            Outcome::Failed => done.failed += 1,
            Outcome::Pending => done.pending += 1,
        }
        progress.inc(job.size());
        progress.set_message(format!("{finished}/{} segments", done.segments));
        let event = SegmentEvent {
            event: "segment",
            key: job.key().to_string(),
            bytes: job.size(),
            outcome,
            reason,
        };
        if json {
            output::json_line(&event)?;
        } else if let Some(reason) = &event.reason {
            progress.suspend(|| eprintln!("tierctl: {}: {:?}: {reason}", event.key, outcome));
        } else if args.dry_run {
            progress.suspend(|| output::text(format!("would index {}", event.key)))?;
        }
    }
    progress.finish_and_clear();
    done.took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if json {
        output::json_line(&done)?;
    } else {
        output::text(format!(
            "{} segments ({}): {} indexed, {} already indexed, {} rejected, {} failed{}",
            done.segments,
            output::bytes(done.bytes),
            done.indexed,
            done.already_indexed,
            done.rejected,
            done.failed,
            if args.dry_run {
                format!(", {} to index (dry run)", done.pending)
            } else {
                String::new()
            }
        ))?;
    }
    if done.failed + done.rejected > 0 {
        bail!(
            "{} of {} segment(s) were not indexed (failed ones can be retried by running backfill again)",
            done.failed + done.rejected,
            done.segments
        );
    }
    Ok(Status::Success)
}

/// The segments of `source`, in partition and segment order.
async fn plan(backends: &Backends, pipeline: &Pipeline, source: &str) -> anyhow::Result<Vec<Job>> {
    let Some(rest) = source.strip_prefix("s3://") else {
        let segments = tier::ship::scan(std::path::Path::new(source))?;
        return Ok(segments
            .into_iter()
            .filter(|s| s.sealed)
            .map(|s| Job::File {
                path: s.path,
                key: s.key,
                size: s.size,
            })
            .collect());
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    match backends {
        Backends::Aws { bucket: b, .. } if b == bucket => {}
        _ => bail!(
            "{source}: backfill from S3 reads the --store bucket; run it with --store s3://{bucket} --catalog dynamodb://TABLE"
        ),
    }
    let mut jobs: Vec<Job> = pipeline
        .store()
        .list(prefix)
        .await?
        .into_iter()
        .filter(|o| {
            let k = o.key.as_str();
            k.ends_with(".log") || k.ends_with(".wal")
        })
        .map(|o| Job::Object {
            size: o.size,
            source: SourceObject {
                key: o.key,
                version: format!("s{}-m{}", o.size, o.last_modified_ms),
            },
        })
        .collect();
    jobs.sort_by(|a, b| a.key().as_str().cmp(b.key().as_str()));
    Ok(jobs)
}

/// Indexes one segment; never fails as a whole (the outcome says what happened).
async fn run_job(p: &Pipeline, job: &Job, dry_run: bool) -> (Outcome, Option<String>) {
    match index_job(p, job, dry_run).await {
        Ok(outcome) => outcome,
        Err(e) => (Outcome::Failed, Some(output::error_line(&e))),
    }
}

async fn index_job(
    p: &Pipeline,
    job: &Job,
    dry_run: bool,
) -> anyhow::Result<(Outcome, Option<String>)> {
    match job {
        Job::Object { source, .. } => {
            if dry_run {
                return pending_unless_indexed(p, &source.ledger_id()).await;
            }
            Ok(match p.ingest_object(source).await? {
                IngestOutcome::Indexed(r) if r.already_indexed => (Outcome::AlreadyIndexed, None),
                IngestOutcome::Indexed(_) => (Outcome::Indexed, None),
                IngestOutcome::Quarantined { reason, .. } => (Outcome::Rejected, Some(reason)),
            })
        }
        Job::File { path, key, .. } => {
            let file = tier::source::SourceFile::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let crc = file
                .crc32c()
                .with_context(|| format!("cannot read {}", path.display()))?;
            let source = SourceObject {
                key: key.clone(),
                version: file_version(crc, tier::source::ReadAt::size(&file)),
            };
            let id = source.ledger_id();
            if dry_run {
                return pending_unless_indexed(p, &id).await;
            }
            let tp = source.path_partition();
            match p.index_file(&id, file, tp.as_ref()).await {
                Ok(r) if r.already_indexed => Ok((Outcome::AlreadyIndexed, None)),
                Ok(_) => Ok((Outcome::Indexed, None)),
                Err(e) if matches!(e.code(), ErrorCode::CorruptInput | ErrorCode::Conflict) => {
                    Ok((Outcome::Rejected, Some(e.to_string())))
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn pending_unless_indexed(
    p: &Pipeline,
    id: &str,
) -> anyhow::Result<(Outcome, Option<String>)> {
    let record = p.catalog().ingest_record(id).await?;
    Ok(match record.map(|r| r.status) {
        Some(IngestStatus::Indexed) => (Outcome::AlreadyIndexed, None),
        _ => (Outcome::Pending, None),
    })
}
