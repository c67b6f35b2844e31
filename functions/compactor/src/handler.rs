//! Compactor input: the schedule's constant input, or an EventBridge event carrying it in `detail`.

use serde::Deserialize;
use serde_json::Value;
use tier::pipeline::{CompactionReport, CompactionRequest};
use tier_lambda::Metrics;

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

impl CompactorInput {
    /// The library request for this input under the function's configured policy and retention.
    pub fn request(self, template: &CompactionRequest) -> CompactionRequest {
        CompactionRequest {
            topics: self.topics,
            dry_run: self.dry_run,
            ..template.clone()
        }
    }
}

/// The EMF metrics of a run: what an operator watches.
pub fn metrics(report: &CompactionReport) -> Metrics {
    let mut m = Metrics::new("compactor");
    m.add(
        "PartitionsExamined",
        report.partitions_examined as f64,
        "Count",
    );
    m.add("MergesExecuted", report.merges_executed as f64, "Count");
    m.add("SegmentsMerged", report.segments_in_merges as f64, "Count");
    m.add("BytesRewritten", report.bytes_written as f64, "Bytes");
    m.add("SegmentsExpired", report.segments_expired as f64, "Count");
    m.add(
        "PartitionsSkipped",
        report.plans.iter().filter(|p| p.skipped.is_some()).count() as f64,
        "Count",
    );
    if let Some(gc) = &report.gc {
        m.add(
            "ArchivesDeleted",
            (gc.retired_deleted + gc.orphans_deleted) as f64,
            "Count",
        );
        m.add("ArchivesAwaitingGrace", gc.retired_waiting as f64, "Count");
        m.add("QuarantinedObjects", gc.quarantined as f64, "Count");
    }
    m.add("RunMs", report.took_ms as f64, "Milliseconds");
    m
}
