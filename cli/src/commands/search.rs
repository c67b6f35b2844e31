//! `tierctl search`: full-text search answered from the original batches.

use serde::Serialize;
use tier::pipeline::{Pipeline, SearchHit, SearchRequest};
use tier::types::Partition;

use super::Status;
use crate::args::SearchArgs;
use crate::output;

#[derive(Serialize)]
struct SearchReport {
    query: String,
    count: usize,
    hits: Vec<SearchHit>,
}

fn range(from: Option<i64>, to: Option<i64>) -> Option<std::ops::RangeInclusive<i64>> {
    (from.is_some() || to.is_some()).then(|| from.unwrap_or(i64::MIN)..=to.unwrap_or(i64::MAX))
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    format!("{}…", s.chars().take(max).collect::<String>())
}

pub async fn run(pipeline: &Pipeline, args: SearchArgs, json: bool) -> anyhow::Result<Status> {
    let req = SearchRequest {
        topic: args.topic.as_deref().map(str::parse).transpose()?,
        partition: args.partition.map(Partition::try_from).transpose()?,
        query: args.query.clone(),
        offsets: range(args.from_offset, args.to_offset),
        timestamps: range(args.since, args.until),
        limit: args.limit,
    };
    let hits = pipeline.search(&req).await?;
    let found = !hits.is_empty();
    if json {
        output::json(&SearchReport {
            query: args.query,
            count: hits.len(),
            hits,
        })?;
    } else {
        for h in &hits {
            let r = &h.record;
            output::text(format!(
                "{}/{} offset {} ts {} key {} value {}",
                h.topic,
                h.partition,
                r.offset,
                r.timestamp,
                r.key.as_deref().unwrap_or("(null)"),
                shorten(r.value.as_deref().unwrap_or("(null)"), 160)
            ))?;
        }
        eprintln!("{} hit(s)", hits.len());
    }
    Ok(if found {
        Status::Success
    } else {
        Status::NotFound
    })
}
