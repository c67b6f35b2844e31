//! Search over archives indexed by chunk filters (index layout 2): the filters say which chunks
//! may hold a match, each record of those chunks is checked against the query's condition on its
//! keys, and the records that pass are matched exactly, a group at a time, until the page is full.

use std::ops::RangeInclusive;

use super::search::PageBuilder;
use super::segment_reader::SegmentReader;
use crate::archive::ChunkEntry;
use crate::index::{ChunkFilters, Cond, IndexDoc, KeyWriter, SearchFilter, Verifier};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::types::TopicPartition;

/// Records matched exactly at once: more when the page wants more.
fn group_size(wanted: usize) -> usize {
    wanted.saturating_mul(2).clamp(64, 4_096)
}

/// A query compiled for chunk-filter archives (once per search).
pub(super) struct FilteredQuery {
    cond: Cond,
    verifier: Verifier,
    filter: SearchFilter,
}

impl FilteredQuery {
    pub(super) fn new(query: &str, filter: &SearchFilter) -> PipelineResult<FilteredQuery> {
        Ok(FilteredQuery {
            cond: Cond::of(query)?,
            verifier: Verifier::new(query, filter)?,
            filter: filter.clone(),
        })
    }

    /// Whether `chunk` may hold a match: its offsets and times meet the filter, and its key filter
    /// lets the condition through.
    fn may_match(&self, chunk: &ChunkEntry, filters: &ChunkFilters, i: usize) -> bool {
        let meets = |r: &Option<RangeInclusive<i64>>, lo: i64, hi: i64| {
            r.as_ref()
                .is_none_or(|r| r.start() <= r.end() && lo <= *r.end() && *r.start() <= hi)
        };
        meets(&self.filter.offsets, chunk.first_offset, chunk.last_offset)
            && meets(
                &self.filter.timestamps,
                chunk.min_timestamp,
                chunk.max_timestamp,
            )
            && self
                .cond
                .holds(&|d, path, k| filters.may_hold(i, d, path, k))
    }
}

/// A record that met the condition, waiting to be matched exactly.
struct Candidate {
    header: crate::kafka::BatchHeader,
    record: crate::kafka::Record,
    timestamp: i64,
}

impl Pipeline {
    /// Adds the hits of one chunk-filter archive to `page`, in offset order, until it is full.
    pub(super) async fn search_filtered(
        &self,
        tp: &TopicPartition,
        reader: &SegmentReader<'_>,
        query: &FilteredQuery,
        page: &mut PageBuilder,
    ) -> PipelineResult<()> {
        let key = &reader.entry.archive_key;
        let files = reader.index_files().await?;
        let bytes = files
            .files
            .first()
            .map(|(_, bytes)| bytes.as_slice())
            .unwrap_or_default();
        let filters = ChunkFilters::decode(bytes, reader.toc.chunks.len())
            .map_err(|e| PipelineError::corrupt(key, e))?;
        let chunks = &reader.toc.chunks;
        let mut keys = KeyWriter::new();
        // Adjacent candidate chunks are read with one GET: one at first (a page may fill from
        // it), twice as many each time after, up to 16.
        let (mut i, mut run) = (0, 1);
        while i < chunks.len() && !page.is_done() {
            if !query.may_match(&chunks[i], &filters, i) {
                i += 1;
                continue;
            }
            let mut end = i + 1;
            while end < chunks.len()
                && end - i < run
                && query.may_match(&chunks[end], &filters, end)
            {
                end += 1;
            }
            run = (run * 2).min(16);
            let mut group: Vec<Candidate> = Vec::new();
            for chunk in reader.read_chunks(&chunks[i..end]).await? {
                for batch in reader.batches(&chunk) {
                    let batch = batch?;
                    let h = *batch.header();
                    if h.is_control() {
                        continue;
                    }
                    let records = batch
                        .records()
                        .map_err(|e| PipelineError::corrupt_batch(key, e))?;
                    for record in records {
                        let timestamp = h.effective_timestamp(&record);
                        keys.out.clear();
                        keys.record(&IndexDoc::of_record(&record, timestamp));
                        keys.out.sort_unstable();
                        let held = &keys.out;
                        if !query.cond.holds(&|_, _, k| held.binary_search(&k).is_ok()) {
                            continue;
                        }
                        group.push(Candidate {
                            header: h,
                            record,
                            timestamp,
                        });
                        if group.len() >= group_size(page.wanted())
                            && !self.match_group(tp, query, &mut group, page)?
                        {
                            return Ok(());
                        }
                    }
                }
            }
            if !self.match_group(tp, query, &mut group, page)? {
                return Ok(());
            }
            i = end;
        }
        Ok(())
    }

    /// Matches `group` exactly and adds its hits to `page`; false once the page is full.
    fn match_group(
        &self,
        tp: &TopicPartition,
        query: &FilteredQuery,
        group: &mut Vec<Candidate>,
        page: &mut PageBuilder,
    ) -> PipelineResult<bool> {
        if group.is_empty() {
            return Ok(true);
        }
        let docs: Vec<IndexDoc<'_>> = group
            .iter()
            .map(|c| IndexDoc::of_record(&c.record, c.timestamp))
            .collect();
        let matched = query.verifier.matching(&docs)?;
        drop(docs);
        for i in matched {
            let c = &group[i];
            if !page.push(tp, &c.header, &c.record) {
                return Ok(false);
            }
        }
        group.clear();
        Ok(true)
    }
}
