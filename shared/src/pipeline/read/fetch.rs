//! Fetch: Kafka semantics over tiered segments.

use serde::Serialize;

use super::reread::reread_once;
use super::segment_reader::SegmentReader;
use super::view::RecordView;
use crate::catalog::{PartitionInfo, SegmentEntry};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
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
    /// Segments read.
    pub segments_read: usize,
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
        let (mut views, mut used) = (Vec::new(), 0usize);
        for batch in crate::kafka::batches(&self.batches) {
            let batch = batch?;
            let h = batch.header();
            if h.is_control() {
                continue;
            }
            for r in batch.records()? {
                if r.offset < from {
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
    /// Returns whole batches starting with the first batch whose last offset is `>= offset`, in offset
    /// order across segment boundaries: at least one batch, then as many as fit in `max_bytes`
    /// (clamped to the configured maximum).
    ///
    /// Fails with [`PipelineError::UnknownPartition`] if nothing is tiered for the partition and with
    /// [`PipelineError::OffsetOutOfRange`] (naming the earliest and latest tiered offsets) if `offset`
    /// is outside the tiered range.
    pub async fn fetch(&self, req: &FetchRequest) -> PipelineResult<FetchResult> {
        let max_bytes = req.max_bytes.min(self.config.max_fetch_bytes);
        let offset = Offset::try_from(req.offset)?;
        let first = self.catalog.segment_covering(&req.tp, offset).await?;
        // One catalog read in the common case; the partition summary only to tell a gap from a miss.
        if first.as_ref().is_none_or(|s| offset < s.base_offset) {
            let info = self.partition_info(&req.tp).await?;
            if offset < info.earliest || offset > info.latest {
                return Err(out_of_range(&info, req.offset));
            }
        }
        let mut result = FetchResult {
            tp: req.tp.clone(),
            batches: Vec::new(),
            batch_count: 0,
            first_offset: -1,
            last_offset: -1,
            next_offset: req.offset,
            segments_read: 0,
        };
        let mut next = first;
        while let Some(seg) = next.take() {
            // The archive may have been replaced (merged by compaction) and deleted after the
            // catalog was read: then the catalog is read again from where this fetch is.
            let step = reread_once!(
                |seg| match seg {
                    Some(seg) => {
                        let full = self.fetch_from_segment(&seg, &mut result, max_bytes).await?;
                        Ok(Some((full, seg.last_offset)))
                    }
                    None => PipelineResult::Ok(None),
                },
                first: Some(seg),
                again: {
                    let from = Offset::try_from(result.next_offset)?;
                    self.catalog.segment_covering(&req.tp, from).await?
                },
            )?;
            let Some((full, last)) = step else { break };
            if full {
                break;
            }
            let after = last.next();
            result.next_offset = after.get();
            next = self.catalog.segment_covering(&req.tp, after).await?;
        }
        Ok(result)
    }

    /// Appends batches of `seg` at or after `result.next_offset`; returns whether `max_bytes` is reached.
    async fn fetch_from_segment(
        &self,
        seg: &SegmentEntry,
        result: &mut FetchResult,
        max_bytes: usize,
    ) -> PipelineResult<bool> {
        let reader = SegmentReader::new(self.store(), &self.cache, seg)?;
        result.segments_read += 1;
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
            for chunk in reader.read_chunks(window).await? {
                for batch in reader.batches(&chunk) {
                    let batch = batch?;
                    let (h, bytes) = (batch.header(), batch.bytes());
                    if h.last_offset() < result.next_offset {
                        continue;
                    }
                    if result.batch_count > 0 && result.batches.len() + bytes.len() > max_bytes {
                        return Ok(true);
                    }
                    if result.batch_count == 0 {
                        result.first_offset = h.base_offset;
                    }
                    result.batches.extend_from_slice(bytes);
                    result.batch_count += 1;
                    result.last_offset = h.last_offset();
                    result.next_offset = h.last_offset() + 1;
                }
            }
        }
        Ok(result.batches.len() >= max_bytes)
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
