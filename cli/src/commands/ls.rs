//! `tierctl ls`: topics, partitions, segments and sizes.

use serde::Serialize;
use tier::catalog::{PartitionInfo, SegmentEntry};
use tier::pipeline::Pipeline;

use super::Status;
use crate::args::LsArgs;
use crate::output;

#[derive(Serialize)]
struct Listing {
    partitions: Vec<PartitionListing>,
}

#[derive(Serialize)]
struct PartitionListing {
    #[serde(flatten)]
    info: PartitionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<Vec<SegmentListing>>,
}

#[derive(Serialize)]
struct SegmentListing {
    id: String,
    base_offset: i64,
    last_offset: i64,
    records: u64,
    data_bytes: u64,
    archive_bytes: u64,
    archive_key: String,
}

impl From<SegmentEntry> for SegmentListing {
    fn from(s: SegmentEntry) -> Self {
        SegmentListing {
            id: s.id.to_string(),
            base_offset: s.base_offset.get(),
            last_offset: s.last_offset.get(),
            records: s.record_count,
            data_bytes: s.data_bytes,
            archive_bytes: s.archive_size,
            archive_key: s.archive_key.to_string(),
        }
    }
}

pub async fn run(pipeline: &Pipeline, args: LsArgs, json: bool) -> anyhow::Result<Status> {
    let mut partitions = Vec::new();
    for info in pipeline.catalog().partitions().await? {
        let segments = if args.segments {
            let segs = pipeline.catalog().segments(&info.tp).await?;
            Some(segs.into_iter().map(SegmentListing::from).collect())
        } else {
            None
        };
        partitions.push(PartitionListing { info, segments });
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
        let i = &p.info;
        output::text(format!(
            "{:<30} {:>9} {:>12} {:>12} {:>8} {:>10} {:>11} {:>11}",
            i.tp.topic.as_str(),
            i.tp.partition.get(),
            i.earliest.get(),
            i.latest.get(),
            i.segment_count,
            i.record_count,
            output::bytes(i.data_bytes),
            output::bytes(i.archive_bytes)
        ))?;
        for s in p.segments.iter().flatten() {
            output::text(format!(
                "    {} {:>10} records {:>11} -> {:>11}",
                s.id,
                s.records,
                output::bytes(s.data_bytes),
                output::bytes(s.archive_bytes)
            ))?;
        }
    }
    Ok(Status::Success)
}
