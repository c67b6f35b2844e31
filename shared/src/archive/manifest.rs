//! `manifest.json`: what one archive holds, in the archive itself (`docs/FORMATS.md`, "Archive
//! manifest"). The catalog entry is derived from the same figures, so an archive describes itself
//! without the catalog.

use serde::{Deserialize, Serialize};

use super::ArchiveError;
use crate::txn::TxnFacts;
use crate::types::{Partition, SegmentId, Topic};

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
    /// The transaction facts of its batches; absent when there are none (and in archives written
    /// before transaction facts existed, which have none recorded).
    #[serde(default, skip_serializing_if = "TxnFacts::is_empty")]
    pub transactions: TxnFacts,
}

impl Manifest {
    /// Reads `manifest.json` back from an archive: its JSON, a version this code writes, a valid
    /// topic, partition and segment id, and figures in order (`0 ≤ base_offset ≤ last_offset`,
    /// `min_timestamp ≤ max_timestamp`, at least one batch). Anything else is
    /// [`ArchiveError::InvalidManifest`] saying what.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, ArchiveError> {
        let invalid = |reason: String| ArchiveError::InvalidManifest(reason);
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if m.format_version != MANIFEST_VERSION {
            return Err(invalid(format!(
                "format_version {} is not {MANIFEST_VERSION}",
                m.format_version
            )));
        }
        Topic::try_from(m.topic.clone()).map_err(|e| invalid(e.to_string()))?;
        Partition::try_from(i64::from(m.partition)).map_err(|e| invalid(e.to_string()))?;
        SegmentId::try_from(m.segment_id.clone()).map_err(|e| invalid(e.to_string()))?;
        if m.base_offset < 0 || m.last_offset < m.base_offset {
            return Err(invalid(format!(
                "offsets {}..={} are not in order",
                m.base_offset, m.last_offset
            )));
        }
        if m.min_timestamp > m.max_timestamp {
            return Err(invalid(format!(
                "min_timestamp {} is after max_timestamp {}",
                m.min_timestamp, m.max_timestamp
            )));
        }
        m.transactions
            .validate(m.base_offset, m.last_offset)
            .map_err(|e| invalid(format!("transactions: {e}")))?;
        if m.batch_count == 0 {
            return Err(invalid("an archive holds at least one batch".to_owned()));
        }
        Ok(m)
    }
}
