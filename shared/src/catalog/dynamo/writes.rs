//! Conditional write actions for `TransactWriteItems`, and running one transaction.
//!
//! Every action names its attributes through `#name` placeholders (several of ours — `partition`,
//! `source`, `status`, `copy` — are DynamoDB reserved words).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::DynamoCatalog;
use super::error::{TransactFailure, build, transact_failure};
use super::items::{Item, META_SK, key, ledger_item, n, partition_pk, s, segment_item, segment_sk};
use crate::catalog::{CatalogResult, IngestRecord, PartitionInfo, SegmentEntry};
use crate::types::{SegmentId, TopicPartition};

/// Most actions DynamoDB accepts in one `TransactWriteItems`.
pub(super) const MAX_TRANSACTION_ACTIONS: usize = 100;

/// Placeholders `#field` for each field name.
fn names(fields: &[&str]) -> HashMap<String, String> {
    fields
        .iter()
        .map(|f| (format!("#{f}"), (*f).to_owned()))
        .collect()
}

/// Builds the transaction actions of one table.
pub(super) struct Actions<'a> {
    pub table: &'a str,
}

impl Actions<'_> {
    /// Puts a new segment; fails its condition if any segment already ends at the same offset.
    pub fn put_new(&self, seg: &SegmentEntry) -> CatalogResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(segment_item(seg)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Overwrites the segment `old` (same last offset) with `seg`; fails unless `old` is stored.
    pub fn replace(&self, old: &SegmentId, seg: &SegmentEntry) -> CatalogResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(segment_item(seg)))
            .condition_expression("#id = :old")
            .set_expression_attribute_names(Some(names(&["id"])))
            .expression_attribute_values(":old", s(old.as_str()))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Deletes segment `seg`; fails unless it is stored with the same id.
    pub fn delete(&self, seg: &SegmentEntry) -> CatalogResult<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(self.table)
            .set_key(Some(key(
                partition_pk(&seg.tp),
                segment_sk(seg.last_offset),
            )))
            .condition_expression("#id = :id")
            .set_expression_attribute_names(Some(names(&["id"])))
            .expression_attribute_values(":id", s(seg.id.as_str()))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Sets the partition item to `next` (its version included) if its version is still `expected`
    /// (`0` also matches a partition item that does not exist yet). `None` means no segments left.
    pub fn meta(
        &self,
        tp: &TopicPartition,
        expected: u64,
        next_version: u64,
        next: Option<&PartitionInfo>,
    ) -> CatalogResult<TransactWriteItem> {
        let mut values: Vec<(&str, AttributeValue)> = vec![
            ("version", n(next_version)),
            ("topic", s(tp.topic.as_str())),
            ("partition", n(tp.partition.get())),
        ];
        let summary = ["earliest", "latest", "min_timestamp", "max_timestamp"];
        let mut remove: Vec<&str> = Vec::new();
        match next {
            Some(i) => values.extend([
                ("segment_count", n(i.segment_count)),
                ("record_count", n(i.record_count)),
                ("data_bytes", n(i.data_bytes)),
                ("archive_bytes", n(i.archive_bytes)),
                ("earliest", n(i.earliest)),
                ("latest", n(i.latest)),
                ("min_timestamp", n(i.min_timestamp)),
                ("max_timestamp", n(i.max_timestamp)),
            ]),
            None => {
                values.extend(
                    [
                        "segment_count",
                        "record_count",
                        "data_bytes",
                        "archive_bytes",
                    ]
                    .map(|f| (f, n(0))),
                );
                remove.extend(summary);
            }
        }
        let set: Vec<String> = values.iter().map(|(f, _)| format!("#{f} = :{f}")).collect();
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            let removed: Vec<String> = remove.iter().map(|f| format!("#{f}")).collect();
            expression.push_str(&format!(" REMOVE {}", removed.join(", ")));
        }
        let mut fields: Vec<&str> = values.iter().map(|(f, _)| *f).collect();
        fields.extend(&remove);
        let mut attribute_values: HashMap<String, AttributeValue> = values
            .into_iter()
            .map(|(f, v)| (format!(":{f}"), v))
            .collect();
        attribute_values.insert(":expected".to_owned(), n(expected));
        let update = Update::builder()
            .table_name(self.table)
            .set_key(Some(key(partition_pk(tp), META_SK.to_owned())))
            .update_expression(expression)
            .condition_expression("attribute_not_exists(pk) OR #version = :expected")
            .set_expression_attribute_names(Some(names(&fields)))
            .set_expression_attribute_values(Some(attribute_values))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Puts (replaces) the ledger item of `record`.
    pub fn ledger(&self, record: &IngestRecord) -> CatalogResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(self.table)
            .set_item(Some(ledger_item(record)))
            .build()
            .map_err(build)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

impl DynamoCatalog {
    pub(super) fn actions(&self) -> Actions<'_> {
        Actions { table: &self.table }
    }

    /// Runs one `TransactWriteItems` (at most [`MAX_TRANSACTION_ACTIONS`] actions).
    ///
    /// Each call carries a fresh `ClientRequestToken`, which the SDK reuses when it retries the call:
    /// if a first attempt committed but its response was lost, the retry reports success instead of
    /// failing its own conditions (which `swap_segments` would misreport as a version mismatch).
    pub(super) async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<(), TransactFailure> {
        debug_assert!(actions.len() <= MAX_TRANSACTION_ACTIONS);
        self.client
            .transact_write_items()
            .client_request_token(request_token())
            .set_transact_items(Some(actions))
            .send()
            .await
            .map_err(transact_failure)?;
        Ok(())
    }

    /// One `PutItem` without condition.
    pub(super) async fn put_item(&self, item: Item) -> CatalogResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| super::error::backend("PutItem", e))?;
        Ok(())
    }
}

/// 32 random hex digits (DynamoDB allows up to 36 characters), from the standard library's randomly
/// seeded hasher.
fn request_token() -> String {
    let random = || RandomState::new().build_hasher().finish();
    format!("{:016x}{:016x}", random(), random())
}
