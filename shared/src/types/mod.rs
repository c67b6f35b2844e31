//! Validated identifiers shared by every layer.
//!
//! Each type enforces its invariant at construction (`TryFrom`/`FromStr`), so code holding one never
//! re-checks it. Offsets are zero-padded to 20 digits wherever they appear in a key, so that string order
//! equals numeric order.

mod keys;
mod names;
mod offset;

pub use keys::{ObjectKey, SegmentId};
pub use names::{GroupId, Partition, Topic, TopicPartition};
pub use offset::Offset;

/// A value that failed validation: what it was, the offending input and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct InvalidValue {
    /// The kind of value, e.g. `"topic name"`.
    pub what: &'static str,
    /// The rejected input (truncated to 300 characters).
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl InvalidValue {
    pub(crate) fn new(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        InvalidValue {
            what,
            value: value.chars().take(300).collect(),
            reason: reason.into(),
        }
    }
}
