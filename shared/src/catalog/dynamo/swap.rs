//! The steps of `swap_segments` (the orchestration and the retry loop are `Catalog::swap_segments` in
//! `mod.rs`): resolving the change against the partition's current segments, and building its one
//! conditional transaction.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::DynamoCatalog;
use super::writes::MAX_TRANSACTION_ACTIONS;
use crate::catalog::{CatalogError, CatalogResult, PartitionInfo, SegmentEntry};
use crate::types::{SegmentId, TopicPartition};

/// What a swap changes, checked against the partition's current segments.
pub(super) struct Change<'a> {
    /// Current segments to remove, each once.
    removed: Vec<&'a SegmentEntry>,
    /// New segments to add (those identical to a kept one are left out).
    added: Vec<&'a SegmentEntry>,
    /// The partition's segments after the swap, in offset order.
    remaining: Vec<&'a SegmentEntry>,
}

/// The segments of `current` named by `remove`, each once; `Err` with the first id not among them.
pub(super) fn removed<'a>(
    current: &'a [SegmentEntry],
    remove: &[SegmentId],
) -> Result<Vec<&'a SegmentEntry>, SegmentId> {
    let mut removed: Vec<&SegmentEntry> = Vec::new();
    for id in remove {
        let Some(seg) = current.iter().find(|s| &s.id == id) else {
            return Err(id.clone());
        };
        if !removed.iter().any(|r| r.id == seg.id) {
            removed.push(seg);
        }
    }
    Ok(removed)
}

/// The change of removing `removed` from `current` and adding `add`: an added segment identical to a
/// kept (or earlier added) one is skipped, one overlapping a different segment is
/// [`CatalogError::Conflict`].
pub(super) fn change<'a>(
    tp: &TopicPartition,
    current: &'a [SegmentEntry],
    removed: Vec<&'a SegmentEntry>,
    add: &'a [SegmentEntry],
) -> CatalogResult<Change<'a>> {
    let kept: Vec<&SegmentEntry> = current
        .iter()
        .filter(|s| !removed.iter().any(|r| r.id == s.id))
        .collect();
    let mut added: Vec<&SegmentEntry> = Vec::new();
    for seg in add {
        match kept.iter().chain(&added).find(|o| o.overlaps(seg)) {
            None => added.push(seg),
            Some(same) if same.id == seg.id => {}
            Some(other) => {
                return Err(CatalogError::Conflict {
                    tp: tp.clone(),
                    new: seg.id.clone(),
                    existing: other.id.clone(),
                });
            }
        }
    }
    let mut remaining: Vec<&SegmentEntry> = kept.iter().chain(&added).copied().collect();
    remaining.sort_by_key(|s| s.last_offset);
    Ok(Change {
        removed,
        added,
        remaining,
    })
}

impl DynamoCatalog {
    /// The actions of the swap transaction: first the partition item's update to version
    /// `expected + 1` and the new summary (condition `version = :expected`), then per removed segment
    /// its delete (condition: same id) — or, when an added segment ends at the same offset, its
    /// in-place overwrite conditioned on the removed id, since a transaction may touch an item once —
    /// and the retirement of its archive at `retired_at_ms`, then puts of the other added segments
    /// (`attribute_not_exists`). More than [`MAX_TRANSACTION_ACTIONS`] actions is a non-retryable
    /// [`CatalogError::Backend`].
    pub(super) fn swap_actions(
        &self,
        tp: &TopicPartition,
        expected: u64,
        change: &Change<'_>,
        retired_at_ms: i64,
    ) -> CatalogResult<Vec<TransactWriteItem>> {
        let Change {
            removed,
            added,
            remaining,
        } = change;
        let next = expected + 1;
        let info = PartitionInfo::summarize(tp, next, remaining.iter().copied());
        let actions = self.actions();
        let mut items = vec![actions.meta(tp, expected, next, info.as_ref())?];
        let mut in_place: Vec<&SegmentId> = Vec::new();
        for old in removed {
            match added.iter().find(|a| a.last_offset == old.last_offset) {
                Some(new) => {
                    items.push(actions.replace(&old.id, new)?);
                    in_place.push(&new.id);
                }
                None => items.push(actions.delete(old)?),
            }
            items.push(actions.retire(&old.archive_key, retired_at_ms)?);
        }
        for new in added.iter().filter(|a| !in_place.contains(&&a.id)) {
            items.push(actions.put_new(new)?);
        }
        if items.len() > MAX_TRANSACTION_ACTIONS {
            return Err(CatalogError::backend(format!(
                "swap on {tp} removing {} and adding {} segments needs {} actions; DynamoDB allows \
                 {MAX_TRANSACTION_ACTIONS} per transaction: split it into smaller swaps",
                removed.len(),
                added.len(),
                items.len()
            )));
        }
        Ok(items)
    }
}

/// The version mismatch of a swap expecting `expected` on a partition at `actual`.
pub(super) fn mismatch(tp: &TopicPartition, expected: u64, actual: u64) -> CatalogError {
    CatalogError::VersionMismatch {
        tp: tp.clone(),
        expected,
        actual,
    }
}
