//! Full-text search over the per-segment indexes, answered from the original batches.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::filtered::FilteredQuery;
use super::reread::reread_once;
use super::segment_reader::SegmentReader;
use super::view::RecordView;
use crate::catalog::SegmentEntry;
use crate::index::{IndexLayout, SearchFilter};
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
    /// Only hits after this one (the `next` of a previous page).
    pub after: Option<SearchCursor>,
    /// Stop adding hits once their JSON would pass this many bytes; a page holds at least one hit,
    /// and a hit whose record alone is over the budget comes without its contents
    /// ([`RecordView::elided_bytes`]). `None`: no byte bound.
    pub max_bytes: Option<usize>,
}

/// Where a page of hits ended: the next page starts after this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    /// Topic of the last hit.
    pub topic: Topic,
    /// Partition of the last hit.
    pub partition: Partition,
    /// Offset of the last hit.
    pub offset: i64,
}

impl std::fmt::Display for SearchCursor {
    /// `<topic>/<partition>/<offset>`, which [`SearchCursor::from_str`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.topic, self.partition, self.offset)
    }
}

impl std::str::FromStr for SearchCursor {
    type Err = crate::types::InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            crate::types::InvalidValue::new(
                "search cursor",
                s,
                "must be <topic>/<partition>/<offset>",
            )
        };
        let mut parts = s.splitn(3, '/');
        let (Some(topic), Some(partition), Some(offset)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(SearchCursor {
            topic: topic.parse()?,
            partition: partition.parse()?,
            offset: offset
                .parse()
                .ok()
                .filter(|o: &i64| *o >= 0)
                .ok_or_else(bad)?,
        })
    }
}

/// One page of a search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    /// Matching records in topic, partition, offset order.
    pub hits: Vec<SearchHit>,
    /// Where to continue (`SearchRequest::after`) when the page ended before the last match, by
    /// `limit` or by `max_bytes`; `None` when there are no more.
    pub next: Option<SearchCursor>,
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

/// Whether `seg` may hold a record the filter lets through (an empty range lets nothing through).
fn overlaps(seg: &SegmentEntry, filter: &SearchFilter) -> bool {
    let meets = |r: &RangeInclusive<i64>, lo: i64, hi: i64| {
        r.start() <= r.end() && lo <= *r.end() && *r.start() <= hi
    };
    let offsets_ok = filter
        .offsets
        .as_ref()
        .is_none_or(|r| meets(r, seg.base_offset.get(), seg.last_offset.get()));
    let times_ok = filter
        .timestamps
        .as_ref()
        .is_none_or(|r| meets(r, seg.min_timestamp, seg.max_timestamp));
    offsets_ok && times_ok
}

impl Pipeline {
    /// Records matching `req.query`, ordered by topic, partition and offset, at most `req.limit`
    /// (see [`Pipeline::search_page`] for pages bounded in bytes).
    pub async fn search(&self, req: &SearchRequest) -> PipelineResult<Vec<SearchHit>> {
        Ok(self.search_page(req).await?.hits)
    }

    /// One page of hits: at most `req.limit` (clamped to the configured maximum) and, with
    /// `req.max_bytes`, at most that much JSON, after `req.after`. Memory is bounded by the page,
    /// not by the matches: records are decoded batch by batch and the page stops when full.
    pub async fn search_page(&self, req: &SearchRequest) -> PipelineResult<SearchPage> {
        let limit = req.limit.min(self.config.max_search_hits);
        if let Some(reason) = crate::index::query_syntax_error(&req.query) {
            return Err(PipelineError::InvalidQuery(reason));
        }
        let mut page = PageBuilder::new(limit, req.max_bytes);
        for info in self.catalog.partitions().await? {
            let tp = &info.tp;
            if req.topic.as_ref().is_some_and(|t| *t != tp.topic)
                || req.partition.is_some_and(|p| p != tp.partition)
            {
                continue;
            }
            // Partitions before the cursor's are done; in its partition, start after its offset.
            let mut offsets = req.offsets.clone();
            if let Some(after) = &req.after {
                match (&after.topic, after.partition).cmp(&(&tp.topic, tp.partition)) {
                    std::cmp::Ordering::Greater => continue,
                    std::cmp::Ordering::Equal => {
                        let from = after.offset.saturating_add(1);
                        offsets = Some(match offsets {
                            Some(r) => (*r.start()).max(from)..=*r.end(),
                            None => from..=i64::MAX,
                        });
                    }
                    std::cmp::Ordering::Less => {}
                }
            }
            if page.is_done() {
                break;
            }
            let filter = SearchFilter {
                offsets,
                timestamps: req.timestamps.clone(),
            };
            // An archive may have been replaced (compaction) and deleted after the catalog was
            // read: then the partition is searched once more from a fresh listing, from where the
            // page had got to.
            let mark = page.mark();
            reread_once!(
                |segments| {
                    page.rewind(mark.clone());
                    self.search_segments(tp, &segments, req, &filter, &mut page).await
                },
                first: self.catalog.segments(tp).await?,
                again: self.catalog.segments(tp).await?,
            )?;
        }
        Ok(page.finish())
    }

    /// Adds the hits in `segments` (one partition's, in offset order) to `page` until it is full.
    async fn search_segments(
        &self,
        tp: &crate::types::TopicPartition,
        segments: &[SegmentEntry],
        req: &SearchRequest,
        filter: &SearchFilter,
        page: &mut PageBuilder,
    ) -> PipelineResult<()> {
        let mut filtered: Option<FilteredQuery> = None;
        for seg in segments {
            if page.is_done() {
                break;
            }
            if !overlaps(seg, filter) {
                continue;
            }
            let reader = SegmentReader::new(self.store(), &self.cache, seg)?;
            if reader.index_layout() == IndexLayout::ChunkFilters {
                let query = match &filtered {
                    Some(q) => q,
                    None => filtered.insert(FilteredQuery::new(&req.query, filter)?),
                };
                self.search_filtered(tp, &reader, query, page).await?;
                continue;
            }
            let index = reader.open_index().await?;
            // One more than the page still wants: finding it tells whether a next page exists.
            let offsets: BTreeSet<i64> = index
                .search(&req.query, filter, page.wanted())?
                .into_iter()
                .map(|h| h.offset)
                .collect();
            self.add_records_at(tp, &reader, &offsets, page).await?;
        }
        Ok(())
    }

    /// Decodes the records at `offsets` from the chunks that hold them into `page`, stopping
    /// when it is full.
    async fn add_records_at(
        &self,
        tp: &crate::types::TopicPartition,
        reader: &SegmentReader<'_>,
        offsets: &BTreeSet<i64>,
        page: &mut PageBuilder,
    ) -> PipelineResult<()> {
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
                    for r in records.iter().filter(|r| offsets.contains(&r.offset)) {
                        if !page.push(tp, h, r) {
                            return Ok(());
                        }
                    }
                }
            }
            i = end;
        }
        Ok(())
    }
}

/// A page being filled: hits up to a count and a byte budget, plus one hit past the end (which
/// says that a next page exists, and is not returned).
#[derive(Debug)]
pub(super) struct PageBuilder {
    hits: Vec<SearchHit>,
    bytes: usize,
    limit: usize,
    max_bytes: Option<usize>,
    /// Set when a match did not fit: the page is complete and more matches exist.
    more: bool,
    /// Where the last hit is.
    last: Option<SearchCursor>,
}

impl PageBuilder {
    fn new(limit: usize, max_bytes: Option<usize>) -> Self {
        PageBuilder {
            hits: Vec::new(),
            bytes: 0,
            limit,
            max_bytes,
            more: false,
            last: None,
        }
    }

    /// Complete: a match past its end was found (or the limit is 0).
    pub(super) fn is_done(&self) -> bool {
        self.more || self.limit == 0
    }

    /// How many more hits to look for: those that fit the count, and one more.
    pub(super) fn wanted(&self) -> usize {
        (self.limit - self.hits.len().min(self.limit)).saturating_add(1)
    }

    fn mark(&self) -> (usize, usize, Option<SearchCursor>) {
        (self.hits.len(), self.bytes, self.last.clone())
    }

    fn rewind(&mut self, (len, bytes, last): (usize, usize, Option<SearchCursor>)) {
        self.hits.truncate(len);
        self.bytes = bytes;
        self.more = false;
        self.last = last;
    }

    /// Adds the hit for `record`; false once the page is full (this record then starts the next).
    pub(super) fn push(
        &mut self,
        tp: &crate::types::TopicPartition,
        header: &crate::kafka::BatchHeader,
        record: &crate::kafka::Record,
    ) -> bool {
        if self.hits.len() >= self.limit {
            self.more = true;
            return false;
        }
        let budget = self.max_bytes.unwrap_or(usize::MAX);
        // A record whose bytes alone exceed the budget is never expanded (base64 and escaping
        // only make it larger): its hit comes without contents.
        let raw = usize::try_from(RecordView::raw_len(record)).unwrap_or(usize::MAX);
        let record_view = if raw > budget {
            RecordView::elided(header, record)
        } else {
            RecordView::new(header, record)
        };
        let mut hit = SearchHit {
            topic: tp.topic.to_string(),
            partition: tp.partition.get(),
            record: record_view,
        };
        let mut size = json_len(&hit);
        if size > budget && hit.record.elided_bytes.is_none() {
            hit.record = RecordView::elided(header, record);
            size = json_len(&hit);
        }
        if !self.hits.is_empty() && self.bytes.saturating_add(size) > budget {
            self.more = true;
            return false;
        }
        self.bytes = self.bytes.saturating_add(size);
        self.hits.push(hit);
        self.last = Some(SearchCursor {
            topic: tp.topic.clone(),
            partition: tp.partition,
            offset: record.offset,
        });
        true
    }

    fn finish(self) -> SearchPage {
        SearchPage {
            hits: self.hits,
            next: if self.more { self.last } else { None },
        }
    }
}

/// Bytes of `hit` as JSON in a list (its comma included).
fn json_len(hit: &SearchHit) -> usize {
    serde_json::to_vec(hit).map_or(0, |v| v.len()) + 1
}
