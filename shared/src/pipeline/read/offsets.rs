//! Offsets by position or time (Kafka ListOffsets over tiered data).

use serde::Serialize;

use super::reread::reread_once;
use super::segment_reader::SegmentReader;
use crate::catalog::SegmentEntry;
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::types::TopicPartition;

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetQuery {
    /// The first tiered offset.
    Earliest,
    /// The offset after the last tiered record (Kafka's "latest": the log end offset).
    Latest,
    /// The earliest offset whose record timestamp is `>=` this many ms since the epoch.
    Timestamp(i64),
}

/// The answer to an [`OffsetQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffsetResult {
    /// The partition.
    pub tp: TopicPartition,
    /// The offset; `None` when no tiered record has a timestamp at or after the one asked for.
    pub offset: Option<i64>,
    /// For a timestamp query, the timestamp of the record found.
    pub timestamp: Option<i64>,
}

impl Pipeline {
    /// Answers an offset query. Fails with [`PipelineError::UnknownPartition`] if nothing is tiered.
    pub async fn offsets(
        &self,
        tp: &TopicPartition,
        query: OffsetQuery,
    ) -> PipelineResult<OffsetResult> {
        let found = match query {
            OffsetQuery::Earliest => Some((self.partition_info(tp).await?.earliest.get(), None)),
            OffsetQuery::Latest => Some((self.partition_info(tp).await?.latest.get() + 1, None)),
            OffsetQuery::Timestamp(ts) => self.offset_for_timestamp(tp, ts).await?,
        };
        Ok(OffsetResult {
            tp: tp.clone(),
            offset: found.map(|(o, _)| o),
            timestamp: found.and_then(|(_, t)| t),
        })
    }

    async fn offset_for_timestamp(
        &self,
        tp: &TopicPartition,
        ts: i64,
    ) -> PipelineResult<Option<(i64, Option<i64>)>> {
        reread_once!(
            |seg| match seg {
                Some(seg) => self.first_at_or_after(&seg, ts).await.map(Some),
                None => {
                    self.partition_info(tp).await?;
                    Ok(None)
                }
            },
            first: self.catalog.segment_for_timestamp(tp, ts).await?,
            again: self.catalog.segment_for_timestamp(tp, ts).await?,
        )
    }

    /// The first record of `seg` with a timestamp `>= ts` (the catalog says there is one).
    async fn first_at_or_after(
        &self,
        seg: &SegmentEntry,
        ts: i64,
    ) -> PipelineResult<(i64, Option<i64>)> {
        let reader = SegmentReader::new(self.store(), &self.cache, seg)?;
        // Chunk max timestamps are computed from the records at indexing time, so the first chunk
        // reaching `ts` holds the answer.
        let Some(i) = reader.toc.chunks.iter().position(|c| c.max_timestamp >= ts) else {
            return Err(PipelineError::corrupt(
                &seg.archive_key,
                "TOC disagrees with catalog timestamps",
            ));
        };
        for chunk in reader.read_chunks(&reader.toc.chunks[i..=i]).await? {
            for batch in reader.batches(&chunk) {
                let batch = batch?;
                let records = batch
                    .records()
                    .map_err(|e| PipelineError::corrupt_batch(&seg.archive_key, e))?;
                for r in &records {
                    let t = batch.header().effective_timestamp(r);
                    if t >= ts {
                        return Ok((r.offset, Some(t)));
                    }
                }
            }
        }
        Err(PipelineError::corrupt(
            &seg.archive_key,
            "chunk max timestamp not found in its records",
        ))
    }
}
