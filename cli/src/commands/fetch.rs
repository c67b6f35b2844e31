//! `tierctl fetch`: original batches (raw) or decoded records (JSON Lines) from an offset.

use std::io::Write;

use anyhow::Context;
use tier::pipeline::{FetchRequest, Pipeline};

use super::Status;
use crate::args::{FetchArgs, FetchFormat};
use crate::output;

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
            for view in result.records(args.offset)? {
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
