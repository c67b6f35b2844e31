//! `swap_segments`: replace segments of one partition in one conditional transaction.

use super::DynamoCatalog;
use super::error::{CancelReason, TransactFailure};
use super::register::{MAX_ATTEMPTS, backoff};
use super::writes::MAX_TRANSACTION_ACTIONS;
use crate::catalog::{CatalogError, CatalogResult, PartitionInfo, SegmentEntry};
use crate::types::{SegmentId, TopicPartition};

impl DynamoCatalog {
    /// See [`crate::catalog::Catalog::swap_segments`]. Requests: one `GetItem` (version), `Query`
    /// pages of the partition's segments, one `TransactWriteItems` whose first action updates the
    /// partition item on condition `version = :expected`, then deletes removed segments (condition:
    /// same id), puts added ones (`attribute_not_exists`; an added segment ending at the offset of a
    /// removed one overwrites it in place, conditioned on the removed id, since a transaction may
    /// touch an item once), and records each removed archive as retired. A failed version condition becomes [`CatalogError::VersionMismatch`]
    /// with the re-read version. More than 100 actions is a non-retryable [`CatalogError::Backend`].
    pub(super) async fn swap(
        &self,
        tp: &TopicPartition,
        expected: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        if let Some(seg) = add.iter().find(|s| s.tp != *tp) {
            return Err(CatalogError::backend(format!(
                "segment {} belongs to {}, not {tp}",
                seg.id, seg.tp
            )));
        }
        let actual = self.read_meta(tp).await?.map_or(0, |m| m.version);
        if actual != expected {
            return Err(mismatch(tp, expected, actual));
        }
        let current = self.all_segments(tp).await?;
        let mut removed: Vec<&SegmentEntry> = Vec::new();
        for id in remove {
            let Some(seg) = current.iter().find(|s| &s.id == id) else {
                // The version and the segments are two reads: a swap that committed between them
                // removed this segment. Report the lost race as such.
                let now = self.read_meta(tp).await?.map_or(0, |m| m.version);
                if now != expected {
                    return Err(mismatch(tp, expected, now));
                }
                return Err(CatalogError::UnknownSegment {
                    tp: tp.clone(),
                    id: id.clone(),
                });
            };
            if !removed.iter().any(|r| r.id == seg.id) {
                removed.push(seg);
            }
        }
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
        let next = expected + 1;
        let info = PartitionInfo::summarize(tp, next, remaining);

        let actions = self.actions();
        let mut items = vec![actions.meta(tp, expected, next, info.as_ref())?];
        let mut in_place: Vec<&SegmentId> = Vec::new();
        for old in &removed {
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
                    return Err(mismatch(tp, expected, actual));
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
}

fn mismatch(tp: &TopicPartition, expected: u64, actual: u64) -> CatalogError {
    CatalogError::VersionMismatch {
        tp: tp.clone(),
        expected,
        actual,
    }
}
