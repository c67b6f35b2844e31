//! Compactor input → per-partition compaction plan → report.

use serde::{Deserialize, Serialize};
use serde_json::Value;
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

/// The plan of one partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionPlan {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Segments now.
    pub segments: u64,
    /// Archive bytes now.
    pub archive_bytes: u64,
    /// Merges planned.
    pub merges: Vec<MergeRun>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct CompactorReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Partitions examined.
    pub partitions_examined: usize,
    /// Segments that planned merges would combine.
    pub segments_in_merges: usize,
    /// Per-partition plans with at least one merge.
    pub plans: Vec<PartitionPlan>,
    /// Merges executed (0 on a dry run).
    pub merges_executed: usize,
}

/// Plans compaction for every (selected) partition.
pub async fn run(
    pipeline: &Pipeline,
    input: &CompactorInput,
    policy: &CompactionPolicy,
) -> Result<CompactorReport, PipelineError> {
    let catalog = pipeline.catalog();
    let mut report = CompactorReport {
        dry_run: input.dry_run,
        partitions_examined: 0,
        segments_in_merges: 0,
        plans: Vec::new(),
        merges_executed: 0,
    };
    for info in catalog.partitions().await? {
        if !input.topics.is_empty() && !input.topics.iter().any(|t| t == info.tp.topic.as_str()) {
            continue;
        }
        report.partitions_examined += 1;
        let merges = plan_compaction(&catalog.segments(&info.tp).await?, policy);
        if merges.is_empty() {
            continue;
        }
        report.segments_in_merges += merges.iter().map(|m| m.segments.len()).sum::<usize>();
        report.plans.push(PartitionPlan {
            topic: info.tp.topic.to_string(),
            partition: info.tp.partition.get(),
            segments: info.segment_count,
            archive_bytes: info.archive_bytes,
            merges,
        });
    }
    Ok(report)
}
