//! `tierctl offsets`: earliest, latest, or first offset at a timestamp.

use tier::pipeline::{OffsetQuery, Pipeline};

use super::Status;
use crate::args::OffsetsArgs;
use crate::output;

pub async fn run(pipeline: &Pipeline, args: OffsetsArgs, json: bool) -> anyhow::Result<Status> {
    let tp = args.tp.parse()?;
    let query = match (args.timestamp, args.earliest) {
        (Some(ts), _) => OffsetQuery::Timestamp(ts),
        (None, true) => OffsetQuery::Earliest,
        (None, false) => OffsetQuery::Latest,
    };
    let result = pipeline.offsets(&tp, query).await?;
    if json {
        output::json(&result)?;
    } else {
        match (result.offset, result.timestamp) {
            (Some(o), Some(t)) => output::text(format!("{tp}: offset {o} (timestamp {t})"))?,
            (Some(o), None) => output::text(format!("{tp}: offset {o}"))?,
            (None, _) => {
                output::text(format!("{tp}: no tiered record at or after that timestamp"))?
            }
        }
    }
    Ok(if result.offset.is_some() {
        Status::Success
    } else {
        Status::NotFound
    })
}
