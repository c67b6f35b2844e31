//! Searching one index: [`IndexReader`].

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::{Directory, Index, Order, ReloadPolicy, Searcher};

use super::IndexError;
use super::files::{IndexFiles, import, mmap_dir, no_panic, open_index};
use super::query::{QueryCompiler, SearchFilter};
use super::schema::{OFFSET, TIMESTAMP};

/// One matching record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    /// Record offset (fetch the record from the archived batches).
    pub offset: i64,
    /// Record timestamp, ms since the epoch.
    pub timestamp: i64,
}

/// A read-only, opened index. Cheap to search concurrently (`Send + Sync`).
pub struct IndexReader {
    searcher: Searcher,
    queries: QueryCompiler,
}

impl IndexReader {
    /// Opens an index from its file set, entirely in memory.
    ///
    /// Fails with [`IndexError::Corrupt`] on a bad/duplicate file name, a missing `meta.json`
    /// or segment file, a checksum mismatch or anything tantivy cannot open, and with
    /// [`IndexError::SchemaMismatch`] when the index is of another [`super::SCHEMA_VERSION`].
    pub fn open(files: IndexFiles) -> Result<IndexReader, IndexError> {
        Self::from_directory(import(files)?)
    }

    /// Opens an index whose files were extracted into the directory `path` (memory-mapped).
    /// Same checks as [`IndexReader::open`].
    pub fn open_dir(path: &Path) -> Result<IndexReader, IndexError> {
        Self::from_directory(mmap_dir(path)?)
    }

    fn from_directory<D: Directory>(directory: D) -> Result<IndexReader, IndexError> {
        let index: Index = open_index(directory)?;
        let searcher = no_panic("opening the segments", || {
            let reader: tantivy::IndexReader = index
                .reader_builder()
                .reload_policy(ReloadPolicy::Manual)
                .try_into()
                .map_err(|e: tantivy::TantivyError| IndexError::Corrupt(e.to_string()))?;
            Ok(reader.searcher())
        })?;
        let queries = QueryCompiler::new(index.tokenizers().clone())?;
        Ok(IndexReader { searcher, queries })
    }

    /// Returns the first `limit` documents matching `query` and `filter`, in ascending offset
    /// order (ties, possible only after merging overlapping inputs, by timestamp).
    ///
    /// The query syntax is described in `docs/FORMATS.md` ("Query syntax"); an empty query
    /// matches everything.
    /// A query that does not parse gives [`IndexError::InvalidQuery`] with tantivy's reason
    /// (checked even when `limit` is 0).
    pub fn search(
        &self,
        query: &str,
        filter: &SearchFilter,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let Some(query) = self.queries.compile(query, filter)? else {
            return Ok(Vec::new());
        };
        // TopDocs panics on 0 and pre-allocates 2 * limit: clamp to the number of documents.
        let limit = limit.min(usize::try_from(self.searcher.num_docs()).unwrap_or(usize::MAX));
        if limit == 0 {
            return Ok(Vec::new());
        }
        let collector = TopDocs::with_limit(limit).order_by((
            (SortByStaticFastValue::<i64>::for_field(OFFSET), Order::Asc),
            (
                SortByStaticFastValue::<i64>::for_field(TIMESTAMP),
                Order::Asc,
            ),
        ));
        let docs = no_panic("searching", || {
            Ok(self.searcher.search(&query, &collector)?)
        })?;
        docs.into_iter()
            .map(|((offset, timestamp), address)| match (offset, timestamp) {
                (Some(offset), Some(timestamp)) => Ok(Hit { offset, timestamp }),
                _ => Err(IndexError::Corrupt(format!(
                    "document {address:?} has no offset or timestamp"
                ))),
            })
            .collect()
    }

    /// Number of indexed records.
    pub fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// Number of tantivy segments (1 for files produced by this module, 0 when empty).
    pub fn num_segments(&self) -> usize {
        self.searcher.segment_readers().len()
    }
}
