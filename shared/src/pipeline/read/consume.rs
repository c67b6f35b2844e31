//! A consumer's read of one partition: fetch after fetch, each from where the previous ended.

use super::fetch::{FetchRequest, FetchResult};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};

/// Successive fetches of `tp` from an offset, each starting at the previous one's `next_offset`,
/// until `max_bytes` are read or the tiered log ends: what a Kafka consumer reading that range
/// receives. Whatever the segment layout, the batches are the same: those whose last offset is
/// `>= offset`, in order, while they fit `max_bytes` (at least one).
///
/// Memory is one fetch at a time (at most the configured maximum fetch size, plus one batch).
pub struct Consumer<'p> {
    pipeline: &'p Pipeline,
    req: FetchRequest,
    read_bytes: usize,
    fetches: usize,
    done: bool,
}

impl Pipeline {
    /// A consumer of `req.tp` from `req.offset`, reading up to `req.max_bytes` in all.
    pub fn consumer(&self, req: FetchRequest) -> Consumer<'_> {
        Consumer {
            pipeline: self,
            req,
            read_bytes: 0,
            fetches: 0,
            done: false,
        }
    }
}

impl Consumer<'_> {
    /// The next fetch's batches, or `None` once `max_bytes` are read or the log ends. The first
    /// fetch fails as [`Pipeline::fetch`] does; later ones end the read at the end of the log.
    pub async fn next(&mut self) -> PipelineResult<Option<FetchResult>> {
        if self.done || (self.fetches > 0 && self.read_bytes >= self.req.max_bytes) {
            return Ok(None);
        }
        let remaining = self.req.max_bytes - self.read_bytes.min(self.req.max_bytes);
        let req = FetchRequest {
            max_bytes: remaining,
            ..self.req.clone()
        };
        let got = match self.pipeline.fetch(&req).await {
            Ok(got) => got,
            Err(PipelineError::OffsetOutOfRange {
                requested, latest, ..
            }) if self.fetches > 0 && requested > latest.get() => {
                self.done = true;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        // A fetch returns at least one batch (none only when retention removed the segment while
        // it was read); past the first, one that does not fit is not read.
        if got.batch_count == 0 || (self.fetches > 0 && got.batches.len() > remaining) {
            self.done = true;
            return Ok(None);
        }
        self.fetches += 1;
        self.read_bytes += got.batches.len();
        self.req.offset = got.next_offset;
        Ok(Some(got))
    }

    /// Fetches made so far that returned batches.
    pub fn fetches(&self) -> usize {
        self.fetches
    }

    /// The offset the next fetch starts at.
    pub fn next_offset(&self) -> i64 {
        self.req.offset
    }
}
