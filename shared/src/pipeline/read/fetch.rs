//! Fetch: Kafka semantics over tiered segments.

use serde::Serialize;

use std::sync::Arc;

use super::reread::reread_once;
use super::segment_cache::CachedSegment;
use super::segment_reader::SegmentReader;
use super::view::RecordView;
use crate::catalog::PartitionInfo;
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::txn::PartitionTxns;
use crate::types::{Offset, TopicPartition};

/// A fetch request.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// The partition.
    pub tp: TopicPartition,
    /// The first offset wanted.
    pub offset: i64,
    /// Stop before exceeding this many bytes (at least one batch is always returned).
    pub max_bytes: usize,
}

/// Batches returned by a fetch: the original bytes, concatenated, never re-encoded.
#[derive(Debug, Clone, Serialize)]
pub struct FetchResult {
    /// The partition.
    pub tp: TopicPartition,
    /// Concatenated original batches.
    #[serde(skip)]
    pub batches: Vec<u8>,
    /// Number of batches.
    pub batch_count: usize,
    /// Base offset of the first batch returned.
    pub first_offset: i64,
    /// Last offset of the last batch returned.
    pub last_offset: i64,
    /// The offset to fetch next.
    pub next_offset: i64,
}

impl FetchResult {
    /// The records of the fetched batches at offsets `>= from`, decoded, skipping control batches
    /// (transaction markers). Fails only if a stored batch does not decode.
    pub fn records(&self, from: i64) -> Result<Vec<RecordView>, crate::kafka::KafkaError> {
        Ok(self.record_page(from, usize::MAX)?.0)
    }

    /// The records at or after `from` while their JSON fits `max_bytes` (at least one), and the
    /// offset of the first record left out, if any. A record whose bytes alone exceed `max_bytes`
    /// comes without its contents ([`RecordView::elided_bytes`]).
    pub fn record_page(
        &self,
        from: i64,
        max_bytes: usize,
    ) -> Result<(Vec<RecordView>, Option<i64>), crate::kafka::KafkaError> {
        self.page(from, max_bytes, |_, _| true)
    }

    /// [`FetchResult::record_page`] as a `read_committed` consumer sees it: without the records
    /// of aborted transactions and without any record at or after the last stable offset.
    pub fn committed_page(
        &self,
        from: i64,
        max_bytes: usize,
        txns: &PartitionTxns,
    ) -> Result<(Vec<RecordView>, Option<i64>), crate::kafka::KafkaError> {
        let lso = txns.last_stable_offset;
        // The window's aborted transactions, looked up once (not per record).
        let aborted: Vec<_> = txns
            .aborted_within(self.first_offset, self.last_offset)
            .collect();
        self.page(from, max_bytes, |h, offset| {
            offset < lso
                && !(h.is_transactional()
                    && aborted.iter().any(|t| {
                        t.producer_id == h.producer_id
                            && (t.first_offset..=t.last_offset).contains(&offset)
                    }))
        })
    }

    /// The records at or after `from` that `keep` keeps, as [`FetchResult::record_page`] pages
    /// them.
    fn page(
        &self,
        from: i64,
        max_bytes: usize,
        keep: impl Fn(&crate::kafka::BatchHeader, i64) -> bool,
    ) -> Result<(Vec<RecordView>, Option<i64>), crate::kafka::KafkaError> {
        let (mut views, mut used) = (Vec::new(), 0usize);
        for batch in crate::kafka::batches(&self.batches) {
            let batch = batch?;
            let h = batch.header();
            if h.is_control() {
                continue;
            }
            for r in batch.records()? {
                if r.offset < from || !keep(h, r.offset) {
                    continue;
                }
                let raw = usize::try_from(RecordView::raw_len(&r)).unwrap_or(usize::MAX);
                let mut view = if raw > max_bytes {
                    RecordView::elided(h, &r)
                } else {
                    RecordView::new(h, &r)
                };
                let mut size = json_len(&view);
                if size > max_bytes && view.elided_bytes.is_none() {
                    view = RecordView::elided(h, &r);
                    size = json_len(&view);
                }
                if !views.is_empty() && used.saturating_add(size) > max_bytes {
                    return Ok((views, Some(r.offset)));
                }
                used = used.saturating_add(size);
                views.push(view);
            }
        }
        Ok((views, None))
    }
}

/// Bytes of `view` as JSON in a list (its comma included).
fn json_len(view: &RecordView) -> usize {
    serde_json::to_vec(view).map_or(0, |v| v.len()) + 1
}

impl Pipeline {
    /// Kafka fetch: whole batches of one segment, the one holding the first batch whose last
    /// offset is `>= offset` (as a Kafka broker reads one log segment per fetch): at least one
    /// batch, then as many more of that segment as fit in `max_bytes` (clamped to the configured
    /// maximum). `next_offset` says where to continue; a consumer following it reads every batch
    /// once, in order, whatever the segment layout (merges change where responses end, never the
    /// batches read).
    ///
    /// A fetch therefore reads one archive: one ranged read (one S3 GET) for a window of up to
    /// `max_bytes`, and with a warm segment cache no catalog request at all.
    ///
    /// Fails with [`PipelineError::UnknownPartition`] if nothing is tiered for the partition and with
    /// [`PipelineError::OffsetOutOfRange`] (naming the earliest and latest tiered offsets) if `offset`
    /// is outside the tiered range.
    pub async fn fetch(&self, req: &FetchRequest) -> PipelineResult<FetchResult> {
        let max_bytes = req.max_bytes.min(self.config.max_fetch_bytes);
        let offset = Offset::try_from(req.offset)?;
        // One catalog read in the common case (none when the segment cache holds the offset); the
        // partition summary only to tell a gap from a miss.
        let seg = match self.segment_from(&req.tp, offset).await? {
            Some(seg) if offset >= seg.entry.base_offset => seg,
            other => {
                let info = self.partition_info(&req.tp).await?;
                match other {
                    Some(seg) if offset >= info.earliest && offset <= info.latest => seg,
                    _ => return Err(out_of_range(&info, req.offset)),
                }
            }
        };
        let mut result = FetchResult {
            tp: req.tp.clone(),
            batches: Vec::new(),
            batch_count: 0,
            first_offset: -1,
            last_offset: -1,
            next_offset: req.offset,
        };
        let read = seg.clone();
        // The archive may have been replaced (merged by compaction) and deleted after the catalog
        // (or the segment cache) was read: then the catalog is read again from where this fetch is.
        reread_once!(
            |seg| match seg {
                Some(seg) => self.fetch_from_segment(&seg, &mut result, max_bytes).await,
                None => Ok(()),
            },
            first: Some(seg),
            again: {
                self.segments.evict(&read.entry);
                let from = Offset::try_from(result.next_offset)?;
                self.segment_from_catalog(&req.tp, from, self.clock.now_ms()).await?
            },
        )?;
        Ok(result)
    }

    /// The first segment of `tp` whose last offset is `>= offset` (as
    /// [`crate::catalog::Catalog::segment_covering`]): from the segment cache if a cached segment
    /// holds `offset`, else from the catalog, then cached.
    async fn segment_from(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> PipelineResult<Option<Arc<CachedSegment>>> {
        let now = self.clock.now_ms();
        if let Some(segment) = self.segments.holding(tp, offset, now) {
            return Ok(Some(segment));
        }
        self.segment_from_catalog(tp, offset, now).await
    }

    /// [`Pipeline::segment_from`] without the cache: a catalog read begun at `read_at_ms`, whose
    /// answer is cached.
    async fn segment_from_catalog(
        &self,
        tp: &TopicPartition,
        offset: Offset,
        read_at_ms: i64,
    ) -> PipelineResult<Option<Arc<CachedSegment>>> {
        let Some(entry) = self.catalog.segment_covering(tp, offset).await? else {
            return Ok(None);
        };
        let toc = SegmentReader::decode_toc(&entry)?;
        Ok(Some(self.segments.insert(entry, toc, read_at_ms)))
    }

    /// Appends batches of `seg` at or after `result.next_offset` while they fit `max_bytes` (at
    /// least one in the whole result).
    async fn fetch_from_segment(
        &self,
        seg: &CachedSegment,
        result: &mut FetchResult,
        max_bytes: usize,
    ) -> PipelineResult<()> {
        let reader = SegmentReader::cached(self.store(), &self.cache, seg);
        let mut remaining = reader.toc.chunks_from(result.next_offset);
        while !remaining.is_empty() {
            // One GET per window: the first chunk (possibly partly before the offset) plus as many
            // following chunks as the remaining byte budget can use. The first chunk's useful part
            // is estimated from the share of its offsets at or after the one wanted.
            let budget = max_bytes.saturating_sub(result.batches.len()) as u64;
            let mut take = 1;
            let mut planned = useful_bytes(&remaining[0], result.next_offset);
            while take < remaining.len() && planned < budget {
                planned += remaining[take].data_len;
                take += 1;
            }
            let (window, rest) = remaining.split_at(take);
            remaining = rest;
            // The TOC's lengths are checked only when the chunks are read: the reservation is
            // bounded by what the fetch may return (a last batch may overshoot it, once).
            let window_bytes: u64 = window.iter().map(|c| c.data_len).sum();
            let bound = max_bytes.saturating_mul(2).max(1 << 20) as u64;
            result
                .batches
                .reserve(usize::try_from(window_bytes.min(bound)).unwrap_or(0));
            let window = reader.read_window(window).await?;
            for i in 0..window.len() {
                // The chunk goes straight into the response; batches before the offset wanted
                // and past the budget are cut off again.
                let start = result.batches.len();
                reader.append_chunk(&window, i, &mut result.batches)?;
                if keep_batches(&reader, result, start, max_bytes)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    pub(crate) async fn partition_info(
        &self,
        tp: &TopicPartition,
    ) -> PipelineResult<PartitionInfo> {
        self.catalog
            .partition(tp)
            .await?
            .ok_or_else(|| PipelineError::UnknownPartition(tp.clone()))
    }
}

/// Estimated bytes of `chunk` holding offsets `>= from`, assuming batches spread evenly over offsets.
fn useful_bytes(chunk: &crate::archive::ChunkEntry, from: i64) -> u64 {
    let span = (chunk.last_offset - chunk.first_offset).max(0) as u64 + 1;
    let wanted = (chunk.last_offset - from.max(chunk.first_offset)).max(0) as u64 + 1;
    chunk.data_len.saturating_mul(wanted.min(span)) / span
}

fn out_of_range(info: &PartitionInfo, requested: i64) -> PipelineError {
    PipelineError::OffsetOutOfRange {
        tp: info.tp.clone(),
        requested,
        earliest: info.earliest,
        latest: info.latest,
    }
}

/// Keeps, of the batches appended to `result.batches` from `start` on, those at or after
/// `result.next_offset` while they fit `max_bytes` (at least one in the whole result), and
/// records them in `result`; returns whether the budget cut the chunk short.
fn keep_batches(
    reader: &SegmentReader<'_>,
    result: &mut FetchResult,
    start: usize,
    max_bytes: usize,
) -> PipelineResult<bool> {
    let (mut skip, mut end, mut cut) = (0usize, 0usize, false);
    let (mut kept, mut first, mut last) = (0usize, None, None);
    for batch in reader.batches(&result.batches[start..]) {
        let batch = batch?;
        let (h, len) = (batch.header(), batch.bytes().len());
        if h.last_offset() < result.next_offset && kept == 0 {
            (skip, end) = (end + len, end + len);
            continue;
        }
        let kept_bytes = start + (end - skip);
        if result.batch_count + kept > 0 && kept_bytes + len > max_bytes {
            cut = true;
            break;
        }
        first.get_or_insert(h.base_offset);
        last = Some(h.last_offset());
        kept += 1;
        end += len;
    }
    result.batches.truncate(start + end);
    result.batches.drain(start..start + skip);
    if let Some(last) = last {
        if result.batch_count == 0 {
            result.first_offset = first.unwrap_or(-1);
        }
        result.batch_count += kept;
        result.last_offset = last;
        result.next_offset = last + 1;
    }
    Ok(cut)
}
