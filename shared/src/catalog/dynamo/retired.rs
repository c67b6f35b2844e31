//! Retired archives: items `pk = "retired"`, `sk = <archive key>`, `retired_at_ms` N, written by the
//! swap transaction that removed their segments and deleted once garbage collection removed the object.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::DynamoCatalog;
use super::error::{backend, build};
use super::items::{Item, key, n, s};
use super::writes::Actions;
use crate::catalog::{CatalogError, CatalogResult, RetiredArchive};
use crate::types::ObjectKey;

/// Partition key of every retired-archive item.
pub(super) const RETIRED_PK: &str = "retired";

impl Actions<'_> {
    /// Records `archive` as retired at `at_ms` (unconditional: re-retiring keeps the later time).
    pub fn retire(&self, archive: &ObjectKey, at_ms: i64) -> CatalogResult<TransactWriteItem> {
        let mut item = key(RETIRED_PK.to_owned(), archive.as_str().to_owned());
        item.insert("retired_at_ms".to_owned(), n(at_ms));
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn retired_from_item(item: &Item) -> CatalogResult<RetiredArchive> {
    let corrupt = |what: &str| CatalogError::Corrupt(format!("retired archive item: {what}"));
    let key = match item.get("sk") {
        Some(AttributeValue::S(k)) => k.parse().map_err(|_| corrupt("sk is not an object key"))?,
        _ => return Err(corrupt("sk missing")),
    };
    let retired_at_ms = match item.get("retired_at_ms") {
        Some(AttributeValue::N(v)) => v
            .parse()
            .map_err(|_| corrupt("retired_at_ms is not a number"))?,
        _ => return Err(corrupt("retired_at_ms missing")),
    };
    Ok(RetiredArchive { key, retired_at_ms })
}

impl DynamoCatalog {
    /// Every retired archive: `Query pk = "retired"`, paginated, in key order.
    pub(super) async fn query_retired(&self) -> CatalogResult<Vec<RetiredArchive>> {
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(RETIRED_PK))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<Item>, _>>()
            .await
            .map_err(|e| backend("Query", e))?;
        items.iter().map(retired_from_item).collect()
    }

    /// Deletes the retired-archive items of `keys` (one `DeleteItem` each; absent ones are fine).
    pub(super) async fn delete_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
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
}
