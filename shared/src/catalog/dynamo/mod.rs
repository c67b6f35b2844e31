//! [`DynamoCatalog`]: the [`Catalog`] backend on one DynamoDB table (single-table design).
//!
//! - `mod.rs`: the [`Catalog`] methods themselves: the reads, the small writes, and the orchestration
//!   (steps and retry loops) of the two transactional operations.
//! - `items.rs`: item layout (keys, attributes) and decoding; `table.rs`: [`create_table`].
//! - `read.rs`: read steps shared by the operations (a partition's version, the segment query).
//! - `writes.rs`: conditional transaction actions, running one transaction, a plain `PutItem`.
//! - `register.rs`: the steps of one `register` attempt (plan, commit) and the retry backoff.
//! - `swap.rs`: the steps of `swap_segments` (resolving the change, building its transaction).
//! - `retired.rs`: retired-archive items (the retire action, decoding).
//! - `groups.rs`: consumer groups' committed offsets (items, the commit).
//! - `fanout.rs`: bounded concurrent lookups; `error.rs`: the only place SDK errors are interpreted.

mod error;
mod fanout;
mod groups;
mod items;
mod read;
mod register;
mod retired;
mod swap;
mod table;
mod writes;

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub use table::{TTL_ATTRIBUTE, create_table};

use self::error::{CancelReason, TransactFailure, backend};
use self::groups::{group_pk, offset_from_item};
use self::items::{
    Item, LEDGER_SK, META_SK, SEGMENT_SK_END, key, ledger_from_item, ledger_item, ledger_pk,
    meta_from_item, partition_pk, s, segment_from_item, segment_sk,
};
use self::register::{Attempt, MAX_ATTEMPTS, backoff};
use self::retired::{RETIRED_PK, retired_from_item, retired_item};
use crate::catalog::{
    Catalog, CatalogError, CatalogResult, CommittedOffset, IngestRecord, PartitionInfo,
    RegisterOutcome, RetiredArchive, SegmentEntry,
};
use crate::types::{GroupId, ObjectKey, Offset, SegmentId, TopicPartition};

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

/// Items per page of `segment_for_timestamp` (DynamoDB applies the limit before the filter).
const TIME_QUERY_PAGE: i32 = 100;

#[async_trait]
impl Catalog for DynamoCatalog {
    /// Each attempt plans (`plan` in `register.rs`: one `GetItem` per partition, then one `Query` per
    /// new segment, both up to 16 in flight), then commits (`commit`: one `TransactWriteItems` per
    /// group, or a lone `PutItem` of the ledger item if every segment was already present). Up to
    /// [`MAX_ATTEMPTS`] (5) attempts when a concurrent writer won a condition; see the type docs.
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome> {
        // Segments committed by an earlier attempt of this call (its earlier groups) are "added".
        let mut committed: HashSet<SegmentId> = HashSet::new();
        for attempt in 1..=MAX_ATTEMPTS {
            let plan = self.plan(segments).await?;
            match self.commit(plan.units, ingest, &mut committed).await {
                Ok(()) => {
                    return Ok(RegisterOutcome {
                        added: committed.len(),
                        already_present: plan
                            .present
                            .into_iter()
                            .filter(|id| !committed.contains(id))
                            .collect(),
                    });
                }
                Err(Attempt::Raced) => backoff(attempt).await,
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(CatalogError::Backend {
            retryable: true,
            message: format!(
                "register of {}: partitions kept changing under {MAX_ATTEMPTS} attempts",
                ingest.source
            ),
        })
    }

    /// One `GetItem` of the ledger item; `None` if absent.
    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(ledger_pk(source), LEDGER_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        out.item().map(ledger_from_item).transpose()
    }

    /// One unconditional `PutItem` replacing any entry.
    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()> {
        self.put_item(ledger_item(record)).await
    }

    /// One `GetItem` of the summary item; `None` if absent or without segments.
    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>> {
        Ok(self.read_meta(tp).await?.and_then(|m| m.info))
    }

    /// A `Scan` with `FilterExpression sk = :meta` (pages of 1 MB; reads the whole table), sorted
    /// here by topic then partition.
    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("sk = :meta")
            .expression_attribute_values(":meta", s(META_SK))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(|e| backend("Scan", e))?;
        let mut out = Vec::new();
        for item in &items {
            out.extend(meta_from_item(item)?.info);
        }
        out.sort_by(|a, b| a.tp.cmp(&b.tp));
        Ok(out)
    }

    /// ONE `Query` of `pk = :pk AND sk BETWEEN "seg#<offset, 20 digits>" AND "seg#~"` with `Limit 1`;
    /// `None` past the last segment or for an unknown partition.
    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :end")
            .expression_attribute_values(":pk", s(partition_pk(tp)))
            .expression_attribute_values(":from", s(segment_sk(offset)))
            .expression_attribute_values(":end", s(SEGMENT_SK_END))
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        out.items().first().map(segment_from_item).transpose()
    }

    /// `Query` pages of 100 segment items (`TIME_QUERY_PAGE`) filtered by `max_timestamp >= :t`,
    /// until the first match or the end.
    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let mut items = self
            .segments_query(tp)
            .filter_expression("max_timestamp >= :t")
            .expression_attribute_values(":t", AttributeValue::N(timestamp_ms.to_string()))
            .limit(TIME_QUERY_PAGE)
            .into_paginator()
            .items()
            .send();
        // Pages are requested as the items are consumed: the first match requests no more.
        items
            .next()
            .await
            .map(|item| segment_from_item(&item.map_err(|e| backend("Query", e))?))
            .transpose()
    }

    /// `Query` pages (1 MB each) of the partition's segment items.
    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>> {
        let mut items = self.segments_query(tp).into_paginator().items().send();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            out.push(segment_from_item(&item.map_err(|e| backend("Query", e))?)?);
        }
        Ok(out)
    }

    /// Requests: one `GetItem` (version), `Query` pages of the partition's segments, one
    /// `TransactWriteItems` whose first action updates the partition item on condition
    /// `version = :expected`, then deletes removed segments (condition: same id), puts added ones
    /// (`attribute_not_exists`; an added segment ending at the offset of a removed one overwrites it
    /// in place, conditioned on the removed id, since a transaction may touch an item once), and
    /// records each removed archive as retired (see `swap.rs`). A failed version condition becomes
    /// [`CatalogError::VersionMismatch`] with the re-read version. More than 100 actions is a
    /// non-retryable [`CatalogError::Backend`].
    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        let expected = expected_version;
        if let Some(seg) = add.iter().find(|s| s.tp != *tp) {
            return Err(CatalogError::backend(format!(
                "segment {} belongs to {}, not {tp}",
                seg.id, seg.tp
            )));
        }
        let actual = self.read_meta(tp).await?.map_or(0, |m| m.version);
        if actual != expected {
            return Err(swap::mismatch(tp, expected, actual));
        }
        let current = self.segments(tp).await?;
        let removed = match swap::removed(&current, remove) {
            Ok(removed) => removed,
            Err(id) => {
                // The version and the segments are two reads: a swap that committed between them
                // removed this segment. Report the lost race as such.
                let now = self.read_meta(tp).await?.map_or(0, |m| m.version);
                if now != expected {
                    return Err(swap::mismatch(tp, expected, now));
                }
                return Err(CatalogError::UnknownSegment { tp: tp.clone(), id });
            }
        };
        let change = swap::change(tp, &current, removed, add)?;
        let next = expected + 1;
        let items = self.swap_actions(tp, expected, &change, retired_at_ms)?;
        for attempt in 1..=MAX_ATTEMPTS {
            let reasons = match self.transact(items.clone()).await {
                Ok(()) => return Ok(next),
                Err(TransactFailure::Failed(e)) => return Err(e),
                Err(TransactFailure::Cancelled { reasons, message }) => {
                    if !TransactFailure::is_concurrent_write(&reasons) {
                        return Err(TransactFailure::cancelled_error(&reasons, &message));
                    }
                    reasons
                }
            };
            if reasons.first() == Some(&CancelReason::ConditionFailed) {
                let actual = self.read_meta(tp).await?.map_or(0, |m| m.version);
                if actual != expected {
                    return Err(swap::mismatch(tp, expected, actual));
                }
                return Err(CatalogError::Backend {
                    retryable: true,
                    message: format!("{tp}: version condition failed, yet version is {actual}"),
                });
            }
            if reasons.contains(&CancelReason::ConditionFailed) {
                return Err(CatalogError::backend(format!(
                    "segments of {tp} changed while its version stayed {expected}: {reasons:?}"
                )));
            }
            // Only transaction conflicts: nothing was decided yet; try the same transaction again.
            backoff(attempt).await;
        }
        Err(CatalogError::Backend {
            retryable: true,
            message: format!("swap on {tp}: transaction conflicts in {MAX_ATTEMPTS} attempts"),
        })
    }

    /// `Query pk = "retired"`, paginated (items in key order).
    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>> {
        let items = self.query_pk(RETIRED_PK.to_owned()).await?;
        items.iter().map(retired_from_item).collect()
    }

    /// One `DeleteItem` per key (absent ones are fine).
    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
        for archive in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(
                    RETIRED_PK.to_owned(),
                    archive.as_str().to_owned(),
                )))
                .send()
                .await
                .map_err(|e| backend("DeleteItem", e))?;
        }
        Ok(())
    }

    /// One `TransactWriteItems` per 100 offsets.
    async fn commit_offsets(
        &self,
        group: &GroupId,
        offsets: &[CommittedOffset],
    ) -> CatalogResult<()> {
        self.put_offsets(group, offsets).await
    }

    /// One `Query` of the group's items (in sort-key order: topic, then partition).
    async fn committed_offsets(&self, group: &GroupId) -> CatalogResult<Vec<CommittedOffset>> {
        let items = self.query_pk(group_pk(group)).await?;
        items.iter().map(offset_from_item).collect()
    }

    /// One `PutItem` per archive, the item a swap writes for it.
    async fn record_retired(&self, archives: &[RetiredArchive]) -> CatalogResult<()> {
        for archive in archives {
            self.put_item(retired_item(&archive.key, archive.retired_at_ms))
                .await?;
        }
        Ok(())
    }
}

impl DynamoCatalog {
    /// Every item with partition key `pk`, in sort-key order (a paginated, consistent `Query`).
    async fn query_pk(&self, pk: String) -> CatalogResult<Vec<Item>> {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(|e| backend("Query", e))
    }
}

#[cfg(test)]
mod tests;
