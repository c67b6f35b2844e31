//! Retired archives: items `pk = "retired"`, `sk = <archive key>`, `retired_at_ms` N, written by the
//! swap transaction that removed their segments and deleted once garbage collection removed the object
//! (`retired_archives` and `forget_retired` in `mod.rs`).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use super::error::build;
use super::items::{Item, key, n};
use super::writes::Actions;
use crate::catalog::{CatalogError, CatalogResult, RetiredArchive};
use crate::types::ObjectKey;

/// Partition key of every retired-archive item.
pub(super) const RETIRED_PK: &str = "retired";

/// The item recording `archive` as retired at `at_ms`.
pub(super) fn retired_item(archive: &ObjectKey, at_ms: i64) -> Item {
    let mut item = key(RETIRED_PK.to_owned(), archive.as_str().to_owned());
    item.insert("retired_at_ms".to_owned(), n(at_ms));
    item
}

impl Actions<'_> {
    /// Records `archive` as retired at `at_ms` (unconditional: re-retiring keeps the later time).
    pub fn retire(&self, archive: &ObjectKey, at_ms: i64) -> CatalogResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(retired_item(archive, at_ms)))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The retired archive of a retired-archive item.
pub(super) fn retired_from_item(item: &Item) -> CatalogResult<RetiredArchive> {
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
