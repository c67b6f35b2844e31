//! Merging several indexes into one, without the original records: [`merge`].

use std::collections::HashSet;

use super::IndexError;
use super::builder::IndexBuilder;
use super::files::{IndexFiles, export, import, mmap_dir, open_index};

/// Merges the indexes `inputs` (all of this [`super::SCHEMA_VERSION`]) into one single-segment
/// index holding all their documents. Used by compaction: postings and fast fields are merged
/// by tantivy, no record is re-read.
///
/// Every input is validated like [`super::IndexReader::open`]. The same segment appearing twice
/// (e.g. one input passed twice) is rejected with [`IndexError::InvalidArgument`], since its
/// documents would be duplicated. No input, or only empty inputs, give an empty index.
pub fn merge(inputs: Vec<IndexFiles>) -> Result<IndexFiles, IndexError> {
    let mut indexes = Vec::with_capacity(inputs.len());
    let mut seen = HashSet::new();
    for files in inputs {
        let index = open_index(import(files)?)?;
        let segments = index.searchable_segment_metas()?;
        for segment in &segments {
            if !seen.insert(segment.id()) {
                return Err(IndexError::InvalidArgument(format!(
                    "segment {} appears in more than one input",
                    segment.id().uuid_string()
                )));
            }
        }
        if !segments.is_empty() {
            indexes.push(index);
        }
    }
    if indexes.is_empty() {
        return IndexBuilder::new()?.finish();
    }
    let dir = tempfile::tempdir()?;
    // `merge_indices` is public but `#[doc(hidden)]` in tantivy 0.27: it checks that schemas and
    // settings match, merges every segment with `IndexMerger` and writes a fresh `meta.json`.
    let merged = tantivy::indexer::merge_indices(&indexes, mmap_dir(dir.path())?)?;
    export(&merged)
}
