//! Building the index of one segment: [`IndexBuilder`].

use std::path::PathBuf;

use tantivy::indexer::{IndexWriterOptions, NoMergePolicy};
use tantivy::{Index, IndexSettings, IndexWriter};
use tempfile::TempDir;

use super::IndexError;
use super::document::{IndexDoc, to_tantivy};
use super::files::{IndexFiles, export, mmap_dir};
use super::schema::{Fields, register_analyzers, schema};

/// Resource limits of an [`IndexBuilder`].
#[derive(Clone, Debug)]
pub struct BuilderOptions {
    /// Indexing memory budget per thread, in bytes (tantivy requires at least 15 MB). A segment
    /// is flushed to the temp directory whenever a thread's buffer reaches it.
    pub memory_budget_per_thread: usize,
    /// Number of indexing threads.
    pub num_threads: usize,
    /// Parent of the temporary build directory (default: the system temp dir, `/tmp` on Lambda).
    pub temp_dir: Option<PathBuf>,
}

impl Default for BuilderOptions {
    /// 64 MB, one thread: fits a 128 MB+ AWS Lambda next to the batch being indexed.
    fn default() -> Self {
        BuilderOptions {
            memory_budget_per_thread: 64 * 1024 * 1024,
            num_threads: 1,
            temp_dir: None,
        }
    }
}

/// Accumulates records and produces the file set of a single-segment index.
///
/// Builds in a private temporary directory that is removed when the builder is dropped or
/// finished; only [`IndexBuilder::finish`] makes anything visible.
pub struct IndexBuilder {
    index: Index,
    writer: IndexWriter,
    fields: Fields,
    num_docs: u64,
    _dir: TempDir,
}

impl IndexBuilder {
    /// A builder with [`BuilderOptions::default`].
    pub fn new() -> Result<IndexBuilder, IndexError> {
        Self::with_options(BuilderOptions::default())
    }

    /// A builder with explicit resource limits.
    pub fn with_options(options: BuilderOptions) -> Result<IndexBuilder, IndexError> {
        let dir = match &options.temp_dir {
            Some(parent) => tempfile::tempdir_in(parent)?,
            None => tempfile::tempdir()?,
        };
        let index = Index::create(mmap_dir(dir.path())?, schema(), IndexSettings::default())?;
        register_analyzers(index.tokenizers());
        let fields = Fields::resolve(&index.schema())?;
        let writer_options = IndexWriterOptions::builder()
            .memory_budget_per_thread(options.memory_budget_per_thread)
            .num_worker_threads(options.num_threads.max(1))
            .num_merge_threads(1)
            .build();
        let writer = index.writer_with_options(writer_options)?;
        // Merging happens once, explicitly, in `finish`.
        writer.set_merge_policy(Box::new(NoMergePolicy));
        Ok(IndexBuilder {
            index,
            writer,
            fields,
            num_docs: 0,
            _dir: dir,
        })
    }

    /// Indexes one record. Records may come in any order; searches sort by offset.
    pub fn add(&mut self, doc: &IndexDoc<'_>) -> Result<(), IndexError> {
        self.writer.add_document(to_tantivy(&self.fields, doc))?;
        self.num_docs += 1;
        Ok(())
    }

    /// Number of records added so far.
    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    /// Commits, merges everything into one segment (none if no record was added), removes
    /// obsolete files and returns the file set.
    pub fn finish(mut self) -> Result<IndexFiles, IndexError> {
        self.writer.commit()?;
        let segments = self.index.searchable_segment_ids()?;
        if segments.len() > 1 {
            self.writer.merge(&segments).wait()?;
        }
        self.writer.garbage_collect_files().wait()?;
        self.writer.wait_merging_threads()?;
        export(&self.index)
    }
}
