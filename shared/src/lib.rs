//! Chronik Tier core library: byte formats, the seekable archive, the Tantivy index, the object-store
//! and catalog traits with their embedded backends, and the pipeline (index, fetch, search,
//! offsets-for-time, compaction planning) written against those traits.
//!
//! Module map (each answers one question; see `docs/ARCHITECTURE.md`):
//! - [`types`]: what are valid names and offsets?
//! - [`kafka`]: what does a Kafka RecordBatch v2 hold?
//! - [`wal`]: what does a sealed WAL segment hold?
//! - [`source`]: which partitions and batches does a source object hold?
//! - [`archive`]: how are batches and index files packed into a range-readable tar.gz?
//! - [`index`]: how are records found by content?
//! - [`store`], [`catalog`]: where are objects and what is registered?
//! - [`pipeline`]: ingest, read (fetch, offsets, search) and maintain (merge, retention, GC).
//! - [`summary`]: what callers are shown of segments, partitions and topics.
//! - [`synth`]: realistic synthetic data.
//! - `testing` (feature `testsuite`): test doubles, fixtures and conformance suites.
#![warn(missing_docs)]

pub mod archive;
#[cfg(feature = "aws")]
pub mod aws;
pub mod catalog;
pub mod chronik;
pub mod clock;
pub mod index;
pub mod kafka;
pub mod kafka_api;
pub mod pipeline;
pub mod scratch;
pub mod ship;
pub mod source;
pub mod store;
pub mod summary;
pub mod synth;
#[cfg(any(test, feature = "testsuite"))]
pub mod testing;
pub mod txn;
pub mod types;
pub mod wal;
