//! `tierctl ls`: topics, partitions, segments and sizes.

use serde::Serialize;
use tier::pipeline::Pipeline;
use tier::summary::PartitionSummary;

use super::Status;
use crate::args::LsArgs;
use crate::output;

/// `tierctl --json ls`: every tiered partition, with its segments when asked for.
#[derive(Serialize)]
struct Listing {
    partitions: Vec<PartitionSummary>,
}

pub async fn run(pipeline: &Pipeline, args: LsArgs, json: bool) -> anyhow::Result<Status> {
    let mut partitions = Vec::new();
    for info in pipeline.catalog().partitions().await? {
        let summary = if args.segments {
            let segments = pipeline.catalog().segments(&info.tp).await?;
            PartitionSummary::with_segments(&info, &segments)
        } else {
            PartitionSummary::from(&info)
        };
        partitions.push(summary);
    }
    if json {
        output::json(&Listing { partitions })?;
        return Ok(Status::Success);
    }
    if partitions.is_empty() {
        output::text("no tiered data yet: index a segment with `tierctl index FILE`")?;
        return Ok(Status::Success);
    }
    output::text(format!(
        "{:<30} {:>9} {:>12} {:>12} {:>8} {:>10} {:>11} {:>11}",
        "TOPIC", "PARTITION", "EARLIEST", "LATEST", "SEGMENTS", "RECORDS", "DATA", "ARCHIVES"
    ))?;
    for p in &partitions {
        output::text(format!(
            "{:<30} {:>9} {:>12} {:>12} {:>8} {:>10} {:>11} {:>11}",
            p.topic,
            p.partition,
            p.earliest,
            p.latest,
            p.segment_count,
            p.record_count,
            output::bytes(p.data_bytes),
            output::bytes(p.archive_bytes)
        ))?;
        for s in p.segments.iter().flatten() {
            output::text(format!(
                "    {} {:>10} records {:>11} -> {:>11}",
                s.segment_id,
                s.records,
                output::bytes(s.data_bytes),
                output::bytes(s.archive_bytes)
            ))?;
        }
    }
    Ok(Status::Success)
}
