//! [`DynamoCatalog`]: the [`Catalog`] backend on one DynamoDB table (single-table design).
//!
//! - `items.rs`: item layout (keys, attributes) and decoding; `table.rs`: [`create_table`].
//! - `read.rs`: queries; `writes.rs`: conditional transaction actions.
//! - `register.rs` and `swap.rs`: the two transactional operations.
//! - `error.rs`: the only place SDK errors are interpreted.

mod error;
mod fanout;
mod items;
mod read;
mod register;
mod retired;
mod swap;
mod table;
mod writes;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

pub use table::{TTL_ATTRIBUTE, create_table};

use crate::catalog::{
    Catalog, CatalogResult, IngestRecord, PartitionInfo, RegisterOutcome, RetiredArchive,
    SegmentEntry,
};
use crate::types::{ObjectKey, Offset, SegmentId, TopicPartition};

/// The catalog in a DynamoDB table created by [`create_table`] (key `pk`/`sk`, TTL `expires_at`).
///
/// Item layout (see `items.rs`): per partition one summary item (`sk = "meta"`, with the version and
/// the [`PartitionInfo`] fields) and one item per segment (`sk = "seg#<last offset, 20 digits>"`)
/// under `pk = "p#<topic>#<partition, 10 digits>"`; per source one ledger item
/// (`pk = "src#<source>"`, `sk = "ledger"`) that expires 30 days after `at_ms`.
///
/// All reads are strongly consistent. Requests per operation:
/// - `segment_covering`: ONE `Query` (`sk BETWEEN "seg#<offset>" AND "seg#~"`, `Limit 1`).
/// - `register`: one `GetItem` per partition (its version), one `Query` per new segment (both up to 16
///   in flight; no `BatchGetItem`, which the indexer's IAM role does not grant), then
///   one `TransactWriteItems` per group (a lone `PutItem` of the ledger item if every segment was
///   already present); repeated, up to 5 attempts, when a concurrent writer won a condition.
/// - `swap_segments`: one `GetItem`, `Query` pages of the partition, one `TransactWriteItems`.
/// - `partition`, `ingest_record`: one `GetItem`; `record_ingest`: one `PutItem`;
///   `segments`: `Query` pages (1 MB each); `segment_for_timestamp`: `Query` pages of 100 items
///   until the first match; `partitions`: `Scan` pages over the whole table.
///
/// Atomicity of `register`: one transaction holds at most 100 actions — one per new segment, one per
/// touched partition item, one for the ledger item. A call that fits (e.g. up to 49 partitions with
/// one segment each) commits atomically. A larger one commits in groups, in order, with the ledger
/// item only in the last group: each group is atomic (its partitions' segments and summaries), and a
/// crash between groups leaves complete segments only and no ledger entry, so a retry of the same
/// call finishes the job (identical segments are skipped). A partition with more than 98 new segments
/// is itself split across groups.
#[derive(Debug, Clone)]
pub struct DynamoCatalog {
    client: Client,
    table: String,
}

impl DynamoCatalog {
    /// A catalog in `table` (which must exist; see [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoCatalog {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl Catalog for DynamoCatalog {
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome> {
        self.register_segments(ingest, segments).await
    }

    /// One `GetItem`; `None` if absent.
    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
        self.read_ledger(source).await
    }

    /// One unconditional `PutItem` replacing any entry.
    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()> {
        self.put_item(items::ledger_item(record)).await
    }

    /// One `GetItem` of the summary item; `None` if absent or without segments.
    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>> {
        Ok(self.read_meta(tp).await?.and_then(|m| m.info))
    }

    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
        self.scan_partitions().await
    }

    /// ONE `Query` with `Limit 1`; `None` past the last segment or for an unknown partition.
    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        self.first_segment_from(tp, offset).await
    }

    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        self.first_segment_by_time(tp, timestamp_ms).await
    }

    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>> {
        self.all_segments(tp).await
    }

    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        self.swap(tp, expected_version, remove, add, retired_at_ms)
            .await
    }

    /// `Query pk = "retired"`, paginated.
    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>> {
        self.query_retired().await
    }

    /// One `DeleteItem` per key.
    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
        self.delete_retired(keys).await
    }
}

#[cfg(test)]
mod backend_tests;
#[cfg(test)]
mod register_tests;

#[cfg(test)]
mod tests {
    crate::catalog_test_suite!(crate::testing::dynamo::catalog().await);
}
