//! Full-text search over the per-segment indexes, answered from the original batches.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::reread::reread_once;
use super::segment_reader::SegmentReader;
use super::view::RecordView;
use crate::catalog::SegmentEntry;
use crate::index::SearchFilter;
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::types::{Partition, Topic};

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Only this topic, if set.
    pub topic: Option<Topic>,
    /// Only this partition number, if set.
    pub partition: Option<Partition>,
    /// Query string (`docs/FORMATS.md`, "Query syntax").
    pub query: String,
    /// Only offsets in this range.
    pub offsets: Option<RangeInclusive<i64>>,
    /// Only timestamps (ms) in this range.
    pub timestamps: Option<RangeInclusive<i64>>,
    /// At most this many hits (clamped to the configured maximum).
    pub limit: usize,
}

/// One matching record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// The record.
    #[serde(flatten)]
    pub record: RecordView,
}

fn overlaps(seg: &SegmentEntry, req: &SearchRequest) -> bool {
    let offsets_ok = req
        .offsets
        .as_ref()
        .is_none_or(|r| seg.base_offset.get() <= *r.end() && *r.start() <= seg.last_offset.get());
    let times_ok = req
        .timestamps
        .as_ref()
        .is_none_or(|r| seg.min_timestamp <= *r.end() && *r.start() <= seg.max_timestamp);
    offsets_ok && times_ok
}

impl Pipeline {
    /// Records matching `req.query`, ordered by topic, partition and offset, at most `req.limit`.
    pub async fn search(&self, req: &SearchRequest) -> PipelineResult<Vec<SearchHit>> {
        let limit = req.limit.min(self.config.max_search_hits);
        if let Some(reason) = crate::index::query_syntax_error(&req.query) {
            return Err(PipelineError::InvalidQuery(reason));
        }
        let filter = SearchFilter {
            offsets: req.offsets.clone(),
            timestamps: req.timestamps.clone(),
        };
        let mut hits = Vec::new();
        for info in self.catalog.partitions().await? {
            let tp = &info.tp;
            if req.topic.as_ref().is_some_and(|t| *t != tp.topic)
                || req.partition.is_some_and(|p| p != tp.partition)
            {
                continue;
            }
            if hits.len() >= limit {
                break;
            }
            let want = limit - hits.len();
            // An archive may have been replaced (compaction) and deleted after the catalog was
            // read: then the partition is searched once more from a fresh listing.
            let found = reread_once!(
                |segments| self.search_segments(tp, &segments, req, &filter, want).await,
                first: self.catalog.segments(tp).await?,
                again: self.catalog.segments(tp).await?,
            )?;
            hits.extend(found);
        }
        hits.truncate(limit);
        Ok(hits)
    }

    /// The first `limit` hits in `segments` (one partition's, in offset order).
    async fn search_segments(
        &self,
        tp: &crate::types::TopicPartition,
        segments: &[SegmentEntry],
        req: &SearchRequest,
        filter: &SearchFilter,
        limit: usize,
    ) -> PipelineResult<Vec<SearchHit>> {
        let mut hits = Vec::new();
        for seg in segments {
            if hits.len() >= limit {
                break;
            }
            if !overlaps(seg, req) {
                continue;
            }
            let reader = SegmentReader::new(self.store(), &self.cache, seg)?;
            let index = reader.open_index().await?;
            let offsets: BTreeSet<i64> = index
                .search(&req.query, filter, limit - hits.len())?
                .into_iter()
                .map(|h| h.offset)
                .collect();
            for record in self.records_at(&reader, &offsets).await? {
                hits.push(SearchHit {
                    topic: tp.topic.to_string(),
                    partition: tp.partition.get(),
                    record,
                });
            }
        }
        Ok(hits)
    }

    /// Decodes the records at `offsets` from the chunks that hold them.
    async fn records_at(
        &self,
        reader: &SegmentReader<'_>,
        offsets: &BTreeSet<i64>,
    ) -> PipelineResult<Vec<RecordView>> {
        let mut out = Vec::new();
        let chunks = &reader.toc.chunks;
        let mut i = 0;
        while i < chunks.len() {
            let wanted = |c: &crate::archive::ChunkEntry| {
                offsets
                    .range(c.first_offset..=c.last_offset)
                    .next()
                    .is_some()
            };
            if !wanted(&chunks[i]) {
                i += 1;
                continue;
            }
            // Adjacent wanted chunks are read with one GET.
            let mut end = i + 1;
            while end < chunks.len() && wanted(&chunks[end]) {
                end += 1;
            }
            for chunk in reader.read_chunks(&chunks[i..end]).await? {
                for batch in reader.batches(&chunk) {
                    let batch = batch?;
                    let h = batch.header();
                    if offsets
                        .range(h.base_offset..=h.last_offset())
                        .next()
                        .is_none()
                    {
                        continue;
                    }
                    let key = &reader.entry.archive_key;
                    let records = batch
                        .records()
                        .map_err(|e| PipelineError::corrupt_batch(key, e))?;
                    out.extend(
                        records
                            .iter()
                            .filter(|r| offsets.contains(&r.offset))
                            .map(|r| RecordView::new(h, r)),
                    );
                }
            }
            i = end;
        }
        Ok(out)
    }
}
