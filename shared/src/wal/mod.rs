//! The sealed write-ahead-log segment a broker uploads (format spec: `docs/FORMATS.md`, "WAL segment").
//!
//! `[header 16 B][frame]*[footer][trailer 16 B]`. A frame wraps one [`CanonicalRecord`]: a Kafka batch's
//! original wire bytes plus the metadata a reader needs without decoding it. A file whose trailer is
//! missing is not sealed and is rejected with [`WalError::NotSealed`].

mod error;
mod layout;
mod reader;
mod record;
mod writer;

pub use error::WalError;
pub use layout::{FORMAT_VERSION, HEADER_MAGIC, TRAILER_MAGIC};
pub use reader::{WalSegment, is_wal, scan};
pub use record::{CanonicalRecord, PartitionSeal, SealFooter};
pub use writer::WalWriter;

#[cfg(test)]
mod tests;
