//! `tierctl search`: full-text search answered from the original batches.

use std::io::Write;

use tier::pipeline::{Pipeline, SearchHit, SearchRequest};
use tier::types::Partition;

use super::Status;
use crate::args::SearchArgs;

/// Bytes of hits held in memory at a time: the search is read in pages of this size and each page
/// is written out before the next is read.
const PAGE_BYTES: usize = 4 << 20;

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
    let mut req = SearchRequest {
        topic: args.topic.as_deref().map(str::parse).transpose()?,
        partition: args.partition.map(Partition::try_from).transpose()?,
        query: args.query.clone(),
        offsets: range(args.from_offset, args.to_offset),
        timestamps: range(args.since, args.until),
        limit: args.limit,
        after: None,
        max_bytes: Some(PAGE_BYTES),
    };
    let mut out = std::io::stdout().lock();
    if json {
        // `{"query", "hits", "count"}` written as the pages come: one JSON document, streamed.
        write!(
            out,
            "{{\"query\":{},\"hits\":[",
            serde_json::to_string(&args.query)?
        )?;
    }
    let mut count = 0usize;
    loop {
        req.limit = args.limit - count;
        let page = pipeline.search_page(&req).await?;
        for hit in &page.hits {
            if json {
                if count > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut out, hit)?;
            } else {
                writeln!(out, "{}", describe(hit))?;
            }
            count += 1;
        }
        match page.next {
            Some(next) if count < args.limit => req.after = Some(next),
            _ => break,
        }
    }
    if json {
        writeln!(out, "],\"count\":{count}}}")?;
    } else {
        eprintln!("{count} hit(s)");
    }
    out.flush()?;
    Ok(if count > 0 {
        Status::Success
    } else {
        Status::NotFound
    })
}

fn describe(h: &SearchHit) -> String {
    let r = &h.record;
    let place = format!(
        "{}/{} offset {} ts {}",
        h.topic, h.partition, r.offset, r.timestamp
    );
    match r.elided_bytes {
        Some(n) => {
            format!("{place} (key, value and headers not shown: {n} bytes; fetch the offset)")
        }
        None => format!(
            "{place} key {} value {}",
            r.key.as_deref().unwrap_or("(null)"),
            shorten(r.value.as_deref().unwrap_or("(null)"), 160)
        ),
    }
}
