//! Read steps shared by several operations: a partition's version (summary item), the per-segment
//! lookups of `register`, and the query of a partition's segment items.
//!
//! Every read is strongly consistent, so a read after a committed write sees it.

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::error::backend;
use super::items::{META_SK, Meta, SEGMENT_SK_PREFIX, key, meta_from_item, partition_pk, s};
use super::{DynamoCatalog, fanout};
use crate::catalog::{Catalog, CatalogResult, SegmentEntry};
use crate::types::{Offset, TopicPartition};

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

    /// [`Catalog::segment_covering`] for each `(partition, offset)`, in input order: one `Query`
    /// each, up to 16 in flight.
    pub(super) async fn covering_each(
        &self,
        lookups: Vec<(TopicPartition, Offset)>,
    ) -> CatalogResult<Vec<Option<SegmentEntry>>> {
        fanout::in_order(lookups, |(tp, offset)| {
            let catalog = self.clone();
            async move { catalog.segment_covering(&tp, offset).await }
        })
        .await
    }

    /// The `Query` (not yet sent) of `tp`'s segment items in offset order:
    /// `pk = :pk AND begins_with(sk, "seg#")`, strongly consistent.
    pub(super) fn segments_query(&self, tp: &TopicPartition) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :seg)")
            .expression_attribute_values(":pk", s(partition_pk(tp)))
            .expression_attribute_values(":seg", s(SEGMENT_SK_PREFIX))
            .consistent_read(true)
    }
}
