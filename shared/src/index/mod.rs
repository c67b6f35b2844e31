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
mod keys;
mod merge;
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
pub use keys::record_keys;
pub use merge::merge;
pub use query::{MAX_QUERY_BYTES, MAX_QUERY_NESTING, SearchFilter, query_syntax_error};
pub use reader::{Hit, IndexReader};
pub use schema::SCHEMA_VERSION;
pub use verify::Verifier;
