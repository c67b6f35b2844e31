//! Compactor input → per-partition retention and merges → report.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tier::catalog::CatalogError;
use tier::pipeline::{CompactionPolicy, MergeRun, Pipeline, PipelineError, plan_compaction};

/// What a run is asked to do. Arrives either as the schedule's constant input itself, or inside an
/// EventBridge event's `detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompactorInput {
    /// Only these topics (all when empty).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Report the plan without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

impl CompactorInput {
    /// Reads the input from a scheduled event (`detail`) or a plain input object; anything else is
    /// an error naming what was expected.
    pub fn parse(event: &Value) -> Result<CompactorInput, String> {
        let body = match event.get("detail-type") {
            Some(_) => event.get("detail").cloned().unwrap_or(Value::Null),
            None => event.clone(),
        };
        match body {
            Value::Null => Ok(CompactorInput::default()),
            Value::Object(map) if map.is_empty() => Ok(CompactorInput::default()),
            other => serde_json::from_value(other).map_err(|e| {
                format!("compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: {e}")
            }),
        }
    }
}

/// How the compactor treats partitions.
#[derive(Debug, Clone, Default)]
pub struct CompactorSettings {
    /// Which segments to merge.
    pub policy: CompactionPolicy,
    /// Drop segments whose newest record is older than this (ms); `None` keeps everything.
    pub retention_ms: Option<i64>,
}

/// What happened to one partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionReport {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Segments before the run.
    pub segments: u64,
    /// Segments dropped (or, on a dry run, to drop) by retention.
    pub expired: usize,
    /// Merges planned (and, unless a dry run, executed).
    pub merges: Vec<MergeRun>,
    /// Why the partition was left as it was, when a concurrent change won the race.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactorReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Partitions examined.
    pub partitions_examined: usize,
    /// Merges executed (0 on a dry run).
    pub merges_executed: usize,
    /// Segments replaced by merges (or that would be, on a dry run).
    pub segments_in_merges: usize,
    /// Archive bytes written by merges.
    pub bytes_written: u64,
    /// Segments dropped by retention (or that would be).
    pub segments_expired: usize,
    /// Partitions with something to do.
    pub plans: Vec<PartitionReport>,
}

/// Whether an error means another writer changed the partition first (skip it, try next run).
fn lost_race(e: &PipelineError) -> bool {
    matches!(
        e,
        PipelineError::InvalidRequest(_)
            | PipelineError::Catalog(
                CatalogError::VersionMismatch { .. } | CatalogError::UnknownSegment { .. }
            )
    )
}

/// Applies retention, then merges, to every (selected) partition. Superseded archives are left in
/// place for readers that already looked them up; garbage collection removes them later.
pub async fn run(
    pipeline: &Pipeline,
    input: &CompactorInput,
    settings: &CompactorSettings,
) -> Result<CompactorReport, PipelineError> {
    let catalog = pipeline.catalog();
    let mut report = CompactorReport {
        dry_run: input.dry_run,
        ..Default::default()
    };
    for info in catalog.partitions().await? {
        if !input.topics.is_empty() && !input.topics.iter().any(|t| t == info.tp.topic.as_str()) {
            continue;
        }
        report.partitions_examined += 1;
        let tp = &info.tp;
        let mut part = PartitionReport {
            topic: tp.topic.to_string(),
            partition: tp.partition.get(),
            segments: info.segment_count,
            expired: 0,
            merges: Vec::new(),
            skipped: None,
        };
        let result = async {
            if let Some(retention_ms) = settings.retention_ms {
                part.expired = pipeline
                    .apply_retention(tp, retention_ms, input.dry_run)
                    .await?
                    .removed
                    .len();
            }
            let mut segments = catalog.segments(tp).await?;
            if input.dry_run {
                let expired = part.expired.min(segments.len());
                segments.drain(..expired);
            }
            part.merges = plan_compaction(&segments, &settings.policy);
            if !input.dry_run {
                for merge in &part.merges {
                    let outcome = pipeline.merge_run(tp, merge).await?;
                    report.merges_executed += 1;
                    report.bytes_written += outcome.bytes_written;
                }
            }
            Ok::<(), PipelineError>(())
        }
        .await;
        match result {
            Ok(()) => {}
            Err(e) if lost_race(&e) => {
                tracing::info!(%tp, error = %e, "partition changed concurrently; skipped until the next run");
                part.skipped = Some(e.to_string());
            }
            Err(e) => return Err(e),
        }
        report.segments_expired += part.expired;
        report.segments_in_merges += part.merges.iter().map(|m| m.segments.len()).sum::<usize>();
        if part.expired > 0 || !part.merges.is_empty() || part.skipped.is_some() {
            report.plans.push(part);
        }
    }
    Ok(report)
}
