//! The write path: a source object (sealed WAL segment or Kafka `.log`) → validated batches per
//! partition → one archive each → objects put → one catalog registration with the ledger entry
//! (`index.rs`); or, for a source that can never be indexed, quarantine (`object.rs`). `build.rs`
//! builds one partition's archive, for indexing and for merges alike.

mod build;
mod index;
mod object;

pub(crate) use build::{BuildSpec, Indexing, build_segment};
pub use index::{IndexReport, IndexedSegment};
pub use object::{IngestOutcome, MAX_REASON_CHARS, QuarantineReport, SourceObject, bounded_reason};
