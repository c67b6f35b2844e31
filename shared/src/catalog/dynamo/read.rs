//! Reads: partition items, segment queries, the partition scan and ledger items.
//!
//! Every read is strongly consistent, so a read after a committed write sees it.

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::backend;
use super::items::{
    Item, LEDGER_SK, META_SK, Meta, SEGMENT_SK_END, SEGMENT_SK_PREFIX, key, ledger_from_item,
    ledger_pk, meta_from_item, partition_pk, s, segment_from_item, segment_sk,
};
use super::{DynamoCatalog, fanout};
use crate::catalog::{CatalogResult, IngestRecord, PartitionInfo, SegmentEntry};
use crate::types::{Offset, TopicPartition};

/// Items per page when filtering segments by time (the limit applies before the filter).
const TIME_QUERY_PAGE: i32 = 100;

impl DynamoCatalog {
    /// The partition item of `tp`, `None` if it was never written. One `GetItem`.
    pub(super) async fn read_meta(&self, tp: &TopicPartition) -> CatalogResult<Option<Meta>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partition_pk(tp), META_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("GetItem", e))?;
        out.item().map(meta_from_item).transpose()
    }

    /// [`Self::read_meta`] of each partition, in input order: one `GetItem` each, up to 16 in flight.
    pub(super) async fn read_metas(
        &self,
        tps: Vec<TopicPartition>,
    ) -> CatalogResult<Vec<Option<Meta>>> {
        fanout::in_order(tps, |tp| {
            let catalog = self.clone();
            async move { catalog.read_meta(&tp).await }
        })
        .await
    }

    /// The first segment of `tp` whose last offset is `>= from`: ONE `Query` of
    /// `pk = :pk AND sk BETWEEN "seg#<from, 20 digits>" AND "seg#~"` with `Limit 1`.
    pub(super) async fn first_segment_from(
        &self,
        tp: &TopicPartition,
        from: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :end")
            .expression_attribute_values(":pk", s(partition_pk(tp)))
            .expression_attribute_values(":from", s(segment_sk(from)))
            .expression_attribute_values(":end", s(SEGMENT_SK_END))
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("Query", e))?;
        out.items().first().map(segment_from_item).transpose()
    }

    /// [`Self::first_segment_from`] for each `(partition, offset)`, in input order: one `Query` each,
    /// up to 16 in flight.
    pub(super) async fn first_segments_from(
        &self,
        lookups: Vec<(TopicPartition, Offset)>,
    ) -> CatalogResult<Vec<Option<SegmentEntry>>> {
        fanout::in_order(lookups, |(tp, from)| {
            let catalog = self.clone();
            async move { catalog.first_segment_from(&tp, from).await }
        })
        .await
    }

    /// Segments of `tp` in offset order; with `min_max_timestamp`, only those whose max timestamp
    /// reaches it, stopping at the first. Pages until done (1 MB or [`TIME_QUERY_PAGE`] items each).
    async fn query_segments(
        &self,
        tp: &TopicPartition,
        min_max_timestamp: Option<i64>,
    ) -> CatalogResult<Vec<SegmentEntry>> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :seg)")
            .expression_attribute_values(":pk", s(partition_pk(tp)))
            .expression_attribute_values(":seg", s(SEGMENT_SK_PREFIX))
            .consistent_read(true);
        if let Some(t) = min_max_timestamp {
            query = query
                .filter_expression("max_timestamp >= :t")
                .expression_attribute_values(":t", AttributeValue::N(t.to_string()))
                .limit(TIME_QUERY_PAGE);
        }
        // Pages are requested as the items are consumed: stopping early requests no more.
        let mut items = query.into_paginator().items().send();
        let mut out = Vec::new();
        while let Some(item) = items.next().await {
            out.push(segment_from_item(&item.map_err(|e| backend("Query", e))?)?);
            if min_max_timestamp.is_some() {
                break;
            }
        }
        Ok(out)
    }

    /// All segments of `tp` in offset order (`Query` pages of up to 1 MB).
    pub(super) async fn all_segments(
        &self,
        tp: &TopicPartition,
    ) -> CatalogResult<Vec<SegmentEntry>> {
        self.query_segments(tp, None).await
    }

    /// The first segment (offset order) whose max timestamp is `>= timestamp_ms`: `Query` pages of
    /// 100 items filtered by `max_timestamp >= :t`, until the first match or the end.
    pub(super) async fn first_segment_by_time(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        Ok(self
            .query_segments(tp, Some(timestamp_ms))
            .await?
            .into_iter()
            .next())
    }

    /// Summaries of every partition with segments, sorted by topic then partition: a `Scan` with
    /// `FilterExpression sk = :meta` (pages of 1 MB; reads the whole table).
    pub(super) async fn scan_partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
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

    /// The ledger item of `source`. One `GetItem`.
    pub(super) async fn read_ledger(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
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
}
