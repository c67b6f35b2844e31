//! Reads the parts of one archived segment a request needs, by byte range.

use std::sync::Arc;

use super::cache::ReadCache;
use crate::archive::{ChunkEntry, Toc, read_chunk, read_members};
use crate::catalog::SegmentEntry;
use crate::index::{IndexFiles, IndexReader};
use crate::kafka::{self, RawBatch};
use crate::pipeline::{PipelineError, PipelineResult};
use crate::store::ObjectStore;

/// A segment's catalog entry with its decoded table of contents.
pub(crate) struct SegmentReader<'a> {
    store: &'a dyn ObjectStore,
    cache: &'a ReadCache,
    pub entry: &'a SegmentEntry,
    pub toc: Toc,
}

impl<'a> SegmentReader<'a> {
    pub fn new(
        store: &'a dyn ObjectStore,
        cache: &'a ReadCache,
        entry: &'a SegmentEntry,
    ) -> PipelineResult<Self> {
        let toc = Toc::decode(&entry.toc)
            .map_err(|e| PipelineError::corrupt(&entry.archive_key, format!("catalog TOC: {e}")))?;
        Ok(SegmentReader {
            store,
            cache,
            entry,
            toc,
        })
    }

    /// Returns each chunk's batch bytes, verified against its TOC checksum, for `chunks` (adjacent
    /// entries of this TOC). Cached chunks are not read; the rest come from one ranged GET spanning
    /// the first to the last uncached chunk.
    pub async fn read_chunks(&self, chunks: &[ChunkEntry]) -> PipelineResult<Vec<Arc<Vec<u8>>>> {
        let key = &self.entry.archive_key;
        let mut found: Vec<Option<Arc<Vec<u8>>>> = chunks
            .iter()
            .map(|c| self.cache.chunk(key, c.range.start))
            .collect();
        let first = found.iter().position(Option::is_none);
        let last = found.iter().rposition(Option::is_none);
        if let (Some(first), Some(last)) = (first, last) {
            let base = chunks[first].range.start;
            let span = self
                .store
                .get_range(key, base..chunks[last].range.end)
                .await?;
            for (slot, c) in found[first..=last].iter_mut().zip(&chunks[first..=last]) {
                if slot.is_some() {
                    continue;
                }
                let member = usize::try_from(c.range.start - base)
                    .ok()
                    .zip(usize::try_from(c.range.end - base).ok())
                    .and_then(|(s, e)| span.get(s..e))
                    .ok_or_else(|| PipelineError::corrupt(key, "object shorter than its TOC"))?;
                let data = read_chunk(member, c).map_err(|e| PipelineError::corrupt(key, e))?;
                let data = Arc::new(data);
                self.cache.put_chunk(key, c.range.start, data.clone());
                *slot = Some(data);
            }
        }
        Ok(found.into_iter().flatten().collect())
    }

    /// The archive's index: from the cache, or one ranged GET of the index members.
    pub async fn open_index(&self) -> PipelineResult<Arc<IndexReader>> {
        let key = &self.entry.archive_key;
        if let Some(index) = self.cache.index(key) {
            return Ok(index);
        }
        let files = self.index_files().await?;
        let weight = files.files.iter().map(|(_, data)| data.len()).sum();
        let index = Arc::new(IndexReader::open(files)?);
        self.cache.put_index(key, index.clone(), weight);
        Ok(index)
    }

    /// The archive's index files, read with one ranged GET of the index members.
    pub async fn index_files(&self) -> PipelineResult<IndexFiles> {
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
        Ok(IndexFiles { files })
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
