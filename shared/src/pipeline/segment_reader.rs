//! Reads the parts of one archived segment a request needs, by byte range.

use crate::archive::{ChunkEntry, Toc, read_chunk, read_members};
use crate::catalog::SegmentEntry;
use crate::index::{IndexFiles, IndexReader};
use crate::kafka::{self, RawBatch};
use crate::store::ObjectStore;

use super::{PipelineError, PipelineResult};

/// A segment's catalog entry with its decoded table of contents.
pub(crate) struct SegmentReader<'a> {
    store: &'a dyn ObjectStore,
    pub entry: &'a SegmentEntry,
    pub toc: Toc,
}

impl<'a> SegmentReader<'a> {
    pub fn new(store: &'a dyn ObjectStore, entry: &'a SegmentEntry) -> PipelineResult<Self> {
        let toc = Toc::decode(&entry.toc)
            .map_err(|e| PipelineError::corrupt(&entry.archive_key, format!("catalog TOC: {e}")))?;
        Ok(SegmentReader { store, entry, toc })
    }

    /// Reads `chunks` (adjacent entries of this TOC) with one ranged GET and returns each chunk's
    /// batch bytes, verified against its TOC checksum.
    pub async fn read_chunks(&self, chunks: &[ChunkEntry]) -> PipelineResult<Vec<Vec<u8>>> {
        let (Some(first), Some(last)) = (chunks.first(), chunks.last()) else {
            return Ok(Vec::new());
        };
        let key = &self.entry.archive_key;
        let span = self
            .store
            .get_range(key, first.range.start..last.range.end)
            .await?;
        chunks
            .iter()
            .map(|c| {
                let start = usize::try_from(c.range.start - first.range.start).ok();
                let end = usize::try_from(c.range.end - first.range.start).ok();
                let member = start
                    .zip(end)
                    .and_then(|(s, e)| span.get(s..e))
                    .ok_or_else(|| PipelineError::corrupt(key, "object shorter than its TOC"))?;
                read_chunk(member, c).map_err(|e| PipelineError::corrupt(key, e))
            })
            .collect()
    }

    /// Reads the index members with one ranged GET and opens the index.
    pub async fn open_index(&self) -> PipelineResult<IndexReader> {
        let key = &self.entry.archive_key;
        let Some(range) = self.toc.index_range() else {
            return Err(PipelineError::corrupt(key, "archive has no index"));
        };
        let bytes = self.store.get_range(key, range.start..range.end).await?;
        let ranges = self.toc.index_files.iter().map(|m| m.range);
        let members = read_members(&bytes, ranges, range.start)
            .map_err(|e| PipelineError::corrupt(key, e))?;
        let files = members
            .into_iter()
            .map(|(name, data)| (name.trim_start_matches("index/").to_owned(), data))
            .collect();
        Ok(IndexReader::open(IndexFiles { files })?)
    }

    /// Parses the batches of a chunk read by [`SegmentReader::read_chunks`].
    pub fn batches<'c>(
        &self,
        chunk: &'c [u8],
    ) -> impl Iterator<Item = PipelineResult<RawBatch<'c>>> + use<'c, '_> {
        let key = &self.entry.archive_key;
        kafka::batches(chunk).map(move |b| b.map_err(|e| PipelineError::corrupt_batch(key, e)))
    }
}
