//! `tierctl compact`: merge small adjacent segments and apply retention.

use tier::pipeline::{CompactionPolicy, CompactionRequest, Pipeline, Retention, RetentionPolicy};

use super::Status;
use crate::args::CompactArgs;
use crate::output;

pub async fn run(pipeline: &Pipeline, args: CompactArgs, json: bool) -> anyhow::Result<Status> {
    let req = CompactionRequest {
        topics: args.topic,
        dry_run: args.dry_run,
        policy: CompactionPolicy {
            target_bytes: args.target_bytes,
            ..Default::default()
        },
        retention: RetentionPolicy {
            default: Retention::from_hours_and_bytes(args.retention_hours, args.retention_bytes),
            topics: args.retention_topics.unwrap_or_default(),
        },
        gc_grace_ms: Some(
            i64::try_from(args.grace_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
        ),
        time_budget: args.time_budget.map(std::time::Duration::from_secs),
    };
    let report = pipeline.compact(&req).await?;
    if json {
        output::json(&report)?;
        return Ok(Status::Success);
    }
    let verb = if report.dry_run { "would" } else { "did" };
    output::text(format!(
        "{} partition(s) examined; {verb} merge {} segment(s) in {} merge(s), {verb} expire {} segment(s); {} written",
        report.partitions_examined,
        report.segments_in_merges,
        report.plans.iter().map(|p| p.merges.len()).sum::<usize>(),
        report.segments_expired,
        output::bytes(report.bytes_written)
    ))?;
    if let Some(gc) = &report.gc {
        output::text(format!(
            "garbage: {verb} delete {} retired and {} orphaned archive(s) ({}); {} retired still in their grace period; {} quarantined object(s) kept",
            gc.retired_deleted,
            gc.orphans_deleted,
            output::bytes(gc.orphan_bytes),
            gc.retired_waiting,
            gc.quarantined
        ))?;
    }
    for p in &report.plans {
        let merges: Vec<String> = p
            .merges
            .iter()
            .map(|m| {
                format!(
                    "{}..={} ({} segments)",
                    m.base_offset,
                    m.last_offset,
                    m.segments.len()
                )
            })
            .collect();
        let cut = match (p.expired, p.earliest_after_retention) {
            (0, _) => String::new(),
            (_, Some(earliest)) => format!(" (earliest offset now {earliest})"),
            (_, None) => " (partition now empty)".to_owned(),
        };
        output::text(format!(
            "  {}/{}: {} segment(s); expire {}{cut}; merge {}{}",
            p.topic,
            p.partition,
            p.segments,
            p.expired,
            if merges.is_empty() {
                "nothing".to_owned()
            } else {
                merges.join(", ")
            },
            p.skipped
                .as_ref()
                .map(|s| format!(" (skipped: {s})"))
                .unwrap_or_default()
        ))?;
    }
    Ok(Status::Success)
}
