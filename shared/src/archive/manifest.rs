//! `manifest.json`: what one archive holds, in the archive itself (`docs/FORMATS.md`, "Archive
//! manifest"). The catalog entry is derived from the same figures, so an archive describes itself
//! without the catalog.

use serde::{Deserialize, Serialize};

/// Version of `manifest.json` written by this code.
pub const MANIFEST_VERSION: u32 = 1;

/// The manifest of one archive: one topic-partition's segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`] when written by this code.
    pub format_version: u32,
    /// Version of the index schema of the archive's index files.
    pub index_schema_version: u32,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Content-derived segment id.
    pub segment_id: String,
    /// Base offset of the first batch.
    pub base_offset: i64,
    /// Last offset of the last batch.
    pub last_offset: i64,
    /// Records, control records included.
    pub record_count: u64,
    /// Batches.
    pub batch_count: u64,
    /// Smallest record timestamp (ms).
    pub min_timestamp: i64,
    /// Largest record timestamp (ms).
    pub max_timestamp: i64,
    /// Bytes of original batches.
    pub data_bytes: u64,
    /// CRC-32C of the original batches concatenated in offset order.
    pub data_crc32c: u32,
    /// The source object the batches came from (`compaction` for a merge).
    pub source: String,
    /// When the archive was built (ms since the epoch).
    pub created_at_ms: i64,
}
