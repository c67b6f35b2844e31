//! Full-text index of the records of one archived topic-partition segment.
//!
//! Each archive carries a small tantivy index that maps queries to record offsets. The Kafka
//! batches stay the source of truth: the index stores nothing, it only indexes the key, the
//! value (as text and, for JSON objects, by path) and the headers, plus `offset` and
//! `timestamp` as fast fields for ordering and range filters.
//!
//! * [`IndexBuilder`] turns records ([`IndexDoc`]) into an [`IndexFiles`] file set
//!   (one segment + `meta.json`), ready to be put in the archive.
//! * [`IndexReader`] opens a file set (from bytes or an extracted directory) and returns
//!   [`Hit`]s in offset order.
//! * [`merge`] combines the indexes of several archives for compaction.
//!
//! The schema ([`schema::schema`]) and analyzer ([`schema::register_analyzers`]) are versioned
//! by [`SCHEMA_VERSION`]. The on-disk format and query syntax are described in
//! `docs/FORMATS.md`, "Record search index".

mod builder;
mod cond;
mod document;
mod error;
mod files;
mod filters;
mod keys;
mod merge;
mod policy;
mod query;
mod reader;
pub mod schema;
mod verify;

#[cfg(test)]
mod tests;

pub use builder::{BuilderOptions, IndexBuilder};
pub use cond::Cond;
pub use document::IndexDoc;
pub use error::IndexError;
pub use files::{IndexFiles, MAX_FILE_NAME_LEN, META_FILE};
pub use filters::{ChunkFilter, ChunkFilters, ChunkFiltersWriter};
pub use keys::{Domain, KeyWriter, record_keys};
pub use merge::merge;
pub use policy::{IndexPolicies, IndexPolicy};
pub use query::{MAX_QUERY_BYTES, MAX_QUERY_NESTING, SearchFilter, query_syntax_error};
pub use reader::{Hit, IndexReader};
pub use schema::SCHEMA_VERSION;
pub use verify::Verifier;

/// The index file of a [`IndexLayout::ChunkFilters`] archive (its only one).
pub const FILTERS_FILE: &str = "chunk-filters.ctkf";

/// How an archive's records are indexed (`docs/FORMATS.md`, "Record search index").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IndexLayout {
    /// Version 1: a tantivy index with one document per record.
    Tantivy,
    /// Version 2: a filter of token keys per record chunk ([`ChunkFilters`]); searches read the
    /// chunks a filter lets through and match their records exactly ([`Cond`], [`Verifier`]).
    #[default]
    ChunkFilters,
}

impl IndexLayout {
    /// The `index_schema_version` of archives written with this layout.
    pub fn schema_version(self) -> u32 {
        match self {
            IndexLayout::Tantivy => SCHEMA_VERSION,
            IndexLayout::ChunkFilters => 2,
        }
    }

    /// The layout of an archive whose index files are `names`.
    pub fn of_files<'a>(mut names: impl Iterator<Item = &'a str>) -> IndexLayout {
        match (names.next(), names.next()) {
            (Some(FILTERS_FILE), None) => IndexLayout::ChunkFilters,
            _ => IndexLayout::Tantivy,
        }
    }
}
