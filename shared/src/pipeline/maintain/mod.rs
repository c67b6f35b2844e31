//! Maintenance, run on a schedule by the compactor function and `tierctl compact`: plan merges of
//! small adjacent segments (`plan.rs`), merge them (`merge.rs`), drop what retention expires
//! (`retention.rs`), delete archives no reader can need (`gc.rs`), rebuild a lost catalog from the
//! store (`rebuild.rs`); `run.rs` combines them into one
//! compaction run with a report and a time budget.
//!
//! Every catalog change is one conditional swap at the partition version read first, so a
//! concurrent change fails cleanly, as a lost race ([`crate::pipeline::PipelineError::is_lost_race`]).

mod gc;
mod merge;
mod plan;
mod rebuild;
mod retention;
mod run;

pub use gc::{GcReport, ORPHAN_MIN_AGE_MS};
pub use merge::MergeOutcome;
pub use plan::{CompactionPolicy, MergeRun, plan_compaction};
pub use rebuild::{
    COMPACTION_SOURCE, RebuildOptions, RebuildReport, SkippedObject, describe_archive,
};
pub use retention::{
    Retention, RetentionOutcome, RetentionOverride, RetentionOverridesError, RetentionPolicy,
};
pub use run::{CompactionReport, CompactionRequest, PartitionReport};
