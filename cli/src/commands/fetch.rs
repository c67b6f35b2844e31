//! `tierctl fetch`: original batches (raw) or decoded records (JSON Lines) from an offset.

use std::io::Write;

use anyhow::Context;
use tier::kafka::RawBatch;
use tier::pipeline::{FetchRequest, FetchResult, Pipeline, RecordView};

use super::Status;
use crate::args::{FetchArgs, FetchFormat};
use crate::output;

/// Decoded records at or after `from`, skipping control batches (transaction markers).
fn records(result: &FetchResult, from: i64) -> anyhow::Result<Vec<RecordView>> {
    let mut views = Vec::new();
    for batch in tier::kafka::batches(&result.batches) {
        let batch: RawBatch<'_> = batch?;
        if batch.header().is_control() {
            continue;
        }
        for r in batch.records()? {
            if r.offset >= from {
                views.push(RecordView::new(batch.header(), &r));
            }
        }
    }
    Ok(views)
}

pub async fn run(pipeline: &Pipeline, args: FetchArgs, json: bool) -> anyhow::Result<Status> {
    let req = FetchRequest {
        tp: args.tp.parse()?,
        offset: args.offset,
        max_bytes: args.max_bytes,
    };
    let result = pipeline.fetch(&req).await?;
    let payload = match args.format {
        FetchFormat::Raw => result.batches.clone(),
        FetchFormat::Json => {
            let mut lines = Vec::new();
            for view in records(&result, args.offset)? {
                serde_json::to_writer(&mut lines, &view)?;
                lines.push(b'\n');
            }
            lines
        }
    };
    match &args.output {
        Some(path) => {
            output::write_atomic(path, &payload)?;
            if json {
                output::json(&result)?;
            } else {
                output::text(format!(
                    "{}: {} batch(es), offsets {}..={}, {} written to {} (next offset {})",
                    result.tp,
                    result.batch_count,
                    result.first_offset,
                    result.last_offset,
                    output::bytes(payload.len() as u64),
                    path.display(),
                    result.next_offset
                ))?;
            }
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&payload).context("cannot write to stdout")?;
            out.flush()?;
        }
    }
    Ok(Status::Success)
}
