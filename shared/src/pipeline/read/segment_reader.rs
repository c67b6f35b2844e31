//! Reads the parts of one archived segment a request needs, by byte range.

use std::sync::Arc;

use super::cache::ReadCache;
use super::segment_cache::CachedSegment;
use crate::archive::{ChunkEntry, Toc, read_chunk_into, read_members};
use crate::catalog::SegmentEntry;
use crate::index::{IndexFiles, IndexReader};
use crate::kafka::{self, RawBatch};
use crate::pipeline::{PipelineError, PipelineResult};
use crate::store::ObjectStore;

/// The bytes read for a window of adjacent chunks ([`SegmentReader::read_window`]).
pub(crate) struct ChunkWindow<'c> {
    chunks: &'c [ChunkEntry],
    cached: Vec<Option<Arc<Vec<u8>>>>,
    /// Archive position of `span`'s first byte.
    base: u64,
    span: Vec<u8>,
}

impl ChunkWindow<'_> {
    /// Chunks in the window.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }
}

/// A segment's catalog entry with its decoded table of contents.
pub(crate) struct SegmentReader<'a> {
    store: &'a dyn ObjectStore,
    cache: &'a ReadCache,
    pub entry: &'a SegmentEntry,
    pub toc: Arc<Toc>,
}

impl<'a> SegmentReader<'a> {
    pub fn new(
        store: &'a dyn ObjectStore,
        cache: &'a ReadCache,
        entry: &'a SegmentEntry,
    ) -> PipelineResult<Self> {
        Ok(SegmentReader {
            store,
            cache,
            entry,
            toc: Arc::new(Self::decode_toc(entry)?),
        })
    }

    /// The decoded TOC of a catalog entry; a bad one is a corrupt archive.
    pub fn decode_toc(entry: &SegmentEntry) -> PipelineResult<Toc> {
        Toc::decode(&entry.toc)
            .map_err(|e| PipelineError::corrupt(&entry.archive_key, format!("catalog TOC: {e}")))
    }

    /// A reader of a segment from the segment cache (its TOC already decoded).
    pub fn cached(
        store: &'a dyn ObjectStore,
        cache: &'a ReadCache,
        segment: &'a CachedSegment,
    ) -> Self {
        SegmentReader {
            store,
            cache,
            entry: &segment.entry,
            toc: segment.toc.clone(),
        }
    }

    /// Returns each chunk's batch bytes, verified against its TOC checksum, for `chunks` (adjacent
    /// entries of this TOC), through [`SegmentReader::read_window`].
    pub async fn read_chunks(&self, chunks: &[ChunkEntry]) -> PipelineResult<Vec<Arc<Vec<u8>>>> {
        let window = self.read_window(chunks).await?;
        (0..chunks.len())
            .map(|i| match &window.cached[i] {
                Some(data) => Ok(data.clone()),
                None => {
                    let mut data = Vec::new();
                    self.append_chunk(&window, i, &mut data)?;
                    Ok(Arc::new(data))
                }
            })
            .collect()
    }

    /// Reads the bytes of `chunks` (adjacent entries of this TOC): cached chunks are not read;
    /// the rest come from one ranged GET spanning the first to the last uncached chunk.
    pub async fn read_window<'c>(
        &self,
        chunks: &'c [ChunkEntry],
    ) -> PipelineResult<ChunkWindow<'c>> {
        let key = &self.entry.archive_key;
        let cached: Vec<Option<Arc<Vec<u8>>>> = chunks
            .iter()
            .map(|c| self.cache.chunk(key, c.range.start))
            .collect();
        let first = cached.iter().position(Option::is_none);
        let last = cached.iter().rposition(Option::is_none);
        let (base, span) = match (first, last) {
            (Some(first), Some(last)) => {
                let base = chunks[first].range.start;
                let end = chunks[last].range.end;
                (base, self.store.get_range(key, base..end).await?)
            }
            _ => (0, Vec::new()),
        };
        Ok(ChunkWindow {
            chunks,
            cached,
            base,
            span,
        })
    }

    /// Appends the batch bytes of chunk `i` of `window` to `out`, verified against its TOC
    /// checksum: copied from the cache, or decoded from the window's span (and then cached).
    pub fn append_chunk(
        &self,
        window: &ChunkWindow<'_>,
        i: usize,
        out: &mut Vec<u8>,
    ) -> PipelineResult<()> {
        let key = &self.entry.archive_key;
        let c = &window.chunks[i];
        if let Some(data) = &window.cached[i] {
            out.extend_from_slice(data);
            return Ok(());
        }
        let member = usize::try_from(c.range.start - window.base)
            .ok()
            .zip(usize::try_from(c.range.end - window.base).ok())
            .and_then(|(s, e)| window.span.get(s..e))
            .ok_or_else(|| PipelineError::corrupt(key, "object shorter than its TOC"))?;
        let start = out.len();
        read_chunk_into(member, c, out).map_err(|e| PipelineError::corrupt(key, e))?;
        if self.cache.enabled() {
            self.cache
                .put_chunk(key, c.range.start, Arc::new(out[start..].to_vec()));
        }
        Ok(())
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

    /// How the archive's records are indexed (from its index members' names, in the TOC).
    pub fn index_layout(&self) -> crate::index::IndexLayout {
        let names = self.toc.index_files.iter();
        crate::index::IndexLayout::of_files(names.map(|m| m.name.trim_start_matches("index/")))
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
