//! Committed offsets of consumer groups: items `pk = "grp#<group id>"`,
//! `sk = "off#<topic>#<partition, 10 digits>"`, with `topic` S, `partition` N, `offset` N,
//! `committed_at_ms` N and `metadata` S when the client sent one. A group's offsets are one
//! `Query`; a commit is one `TransactWriteItems` per 100 partitions.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::DynamoCatalog;
use super::error::{TransactFailure, build};
use super::items::{Fields, Item, key, n, s};
use super::writes::MAX_TRANSACTION_ACTIONS;
use crate::catalog::{CatalogResult, CommittedOffset};
use crate::types::{GroupId, TopicPartition};

/// Partition key of a group's offset items.
pub(super) fn group_pk(group: &GroupId) -> String {
    format!("grp#{group}")
}

fn offset_sk(tp: &TopicPartition) -> String {
    format!("off#{}#{:010}", tp.topic, tp.partition.get())
}

fn offset_item(group: &GroupId, o: &CommittedOffset) -> Item {
    let mut item = key(group_pk(group), offset_sk(&o.tp));
    item.extend([
        ("topic".to_owned(), s(o.tp.topic.as_str())),
        ("partition".to_owned(), n(o.tp.partition.get())),
        ("offset".to_owned(), n(o.offset)),
        ("committed_at_ms".to_owned(), n(o.committed_at_ms)),
    ]);
    if let Some(metadata) = &o.metadata {
        item.insert("metadata".to_owned(), s(metadata.as_str()));
    }
    item
}

/// Decodes an offset item.
pub(super) fn offset_from_item(item: &Item) -> CatalogResult<CommittedOffset> {
    let f = Fields { item };
    let metadata = match item.contains_key("metadata") {
        true => Some(f.str("metadata")?.to_owned()),
        false => None,
    };
    Ok(CommittedOffset {
        tp: f.tp()?,
        offset: f.num("offset")?,
        metadata,
        committed_at_ms: f.num("committed_at_ms")?,
    })
}

impl DynamoCatalog {
    /// Writes `offsets`, 100 to a transaction.
    pub(super) async fn put_offsets(
        &self,
        group: &GroupId,
        offsets: &[CommittedOffset],
    ) -> CatalogResult<()> {
        for part in offsets.chunks(MAX_TRANSACTION_ACTIONS) {
            let actions = part
                .iter()
                .map(|o| {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(offset_item(group, o)))
                        .build()
                        .map_err(build)?;
                    Ok(TransactWriteItem::builder().put(put).build())
                })
                .collect::<CatalogResult<Vec<_>>>()?;
            match self.transact(actions).await {
                Ok(()) => {}
                Err(TransactFailure::Failed(e)) => return Err(e),
                Err(TransactFailure::Cancelled { reasons, message }) => {
                    return Err(TransactFailure::cancelled_error(&reasons, &message));
                }
            }
        }
        Ok(())
    }
}
