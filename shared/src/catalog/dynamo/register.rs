//! The steps of one `register` attempt (the retry loop is `Catalog::register` in `mod.rs`): `plan`
//! reads versions and checks overlaps, `commit` writes the plan in conditional transactions.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::DynamoCatalog;
use super::error::TransactFailure;
use super::items::ledger_item;
use super::writes::MAX_TRANSACTION_ACTIONS;
use crate::catalog::{CatalogError, CatalogResult, IngestRecord, PartitionInfo, SegmentEntry};
use crate::types::{SegmentId, TopicPartition};

/// Attempts before giving up on a partition that other writers keep changing.
pub(super) const MAX_ATTEMPTS: u32 = 5;
/// Most segments of one partition per transaction: with its partition update and the ledger item,
/// one transaction stays within [`MAX_TRANSACTION_ACTIONS`].
const MAX_SEGMENTS_PER_UNIT: usize = MAX_TRANSACTION_ACTIONS - 2;

/// New segments of one partition committed together with the partition's update.
pub(super) struct Unit<'a> {
    tp: &'a TopicPartition,
    expected: u64,
    info: PartitionInfo,
    segments: Vec<&'a SegmentEntry>,
}

/// What one attempt found: the units to commit and the segments already committed.
pub(super) struct Plan<'a> {
    pub units: Vec<Unit<'a>>,
    pub present: Vec<SegmentId>,
}

/// How one attempt's commit failed.
pub(super) enum Attempt {
    /// A concurrent writer changed a partition first: re-read and retry.
    Raced,
    Failed(CatalogError),
}

/// `old` (the partition's summary, if any) extended by `segments`, at `version`.
fn extend(
    tp: &TopicPartition,
    version: u64,
    old: Option<&PartitionInfo>,
    segments: &[&SegmentEntry],
) -> Option<PartitionInfo> {
    let new = PartitionInfo::summarize(tp, version, segments.iter().copied());
    let Some(old) = old else { return new };
    let Some(new) = new else {
        return Some(PartitionInfo {
            version,
            ..old.clone()
        });
    };
    Some(PartitionInfo {
        tp: tp.clone(),
        version,
        earliest: old.earliest.min(new.earliest),
        latest: old.latest.max(new.latest),
        segment_count: old.segment_count + new.segment_count,
        record_count: old.record_count + new.record_count,
        data_bytes: old.data_bytes + new.data_bytes,
        archive_bytes: old.archive_bytes + new.archive_bytes,
        min_timestamp: old.min_timestamp.min(new.min_timestamp),
        max_timestamp: old.max_timestamp.max(new.max_timestamp),
    })
}

/// A short pause before retrying, growing with `attempt` and jittered so racing writers diverge.
pub(super) async fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos() % 20));
    tokio::time::sleep(Duration::from_millis((10 << attempt.min(6)) + jitter)).await;
}

impl DynamoCatalog {
    /// Reads the versions (one `GetItem` per partition), then checks each new segment with one
    /// `Query` (the first committed segment whose last offset is `>=` its base; up to 16 in flight)
    /// and against the call's earlier segments. The versions are read before the queries, so any
    /// commit racing the checks bumps a version and fails our conditions.
    pub(super) async fn plan<'a>(&self, segments: &'a [SegmentEntry]) -> CatalogResult<Plan<'a>> {
        let mut order: Vec<&TopicPartition> = Vec::new();
        let mut accepted: HashMap<&TopicPartition, Vec<&SegmentEntry>> = HashMap::new();
        for seg in segments {
            if !accepted.contains_key(&seg.tp) {
                accepted.insert(&seg.tp, Vec::new());
                order.push(&seg.tp);
            }
        }
        let metas = self
            .read_metas(order.iter().map(|tp| (*tp).clone()).collect())
            .await?;
        let lookups = segments
            .iter()
            .map(|s| (s.tp.clone(), s.base_offset))
            .collect();
        let firsts = self.covering_each(lookups).await?;
        let mut present = Vec::new();
        for (seg, first) in segments.iter().zip(firsts) {
            let batch = accepted.entry(&seg.tp).or_default();
            let earlier = batch.iter().find(|o| o.overlaps(seg)).map(|o| o.id.clone());
            let committed = earlier.or_else(|| {
                first
                    .filter(|c| c.base_offset <= seg.last_offset)
                    .map(|c| c.id)
            });
            match committed {
                None => batch.push(seg),
                Some(id) if id == seg.id => present.push(id),
                Some(existing) => {
                    return Err(CatalogError::Conflict {
                        tp: seg.tp.clone(),
                        new: seg.id.clone(),
                        existing,
                    });
                }
            }
        }
        let mut units = Vec::new();
        for (tp, meta) in order.into_iter().zip(metas) {
            let meta = meta.as_ref();
            let mut version = meta.map_or(0, |m| m.version);
            let mut info = meta.and_then(|m| m.info.clone());
            for chunk in accepted[tp].chunks(MAX_SEGMENTS_PER_UNIT) {
                let Some(next) = extend(tp, version + 1, info.as_ref(), chunk) else {
                    continue;
                };
                units.push(Unit {
                    tp,
                    expected: version,
                    info: next.clone(),
                    segments: chunk.to_vec(),
                });
                version += 1;
                info = Some(next);
            }
        }
        Ok(Plan { units, present })
    }

    /// Commits `units` in as few transactions as the 100-action limit allows, the ledger item in the
    /// last one (or alone as one `PutItem` when there is nothing to commit).
    pub(super) async fn commit(
        &self,
        units: Vec<Unit<'_>>,
        ingest: &IngestRecord,
        committed: &mut HashSet<SegmentId>,
    ) -> Result<(), Attempt> {
        let failed = Attempt::Failed;
        if units.is_empty() {
            return self.put_item(ledger_item(ingest)).await.map_err(failed);
        }
        let actions = self.actions();
        let mut groups: Vec<(Vec<TransactWriteItem>, Vec<SegmentId>)> = Vec::new();
        let (mut items, mut ids) = (Vec::new(), Vec::new());
        let mut group_tps: HashSet<&TopicPartition> = HashSet::new();
        for unit in &units {
            let cost = unit.segments.len() + 1;
            let full = items.len() + cost > MAX_TRANSACTION_ACTIONS;
            // One transaction may not touch an item twice: a partition's units go in separate ones.
            if !items.is_empty() && (full || group_tps.contains(unit.tp)) {
                groups.push((std::mem::take(&mut items), std::mem::take(&mut ids)));
                group_tps.clear();
            }
            group_tps.insert(unit.tp);
            for seg in &unit.segments {
                items.push(actions.put_new(seg).map_err(failed)?);
                ids.push(seg.id.clone());
            }
            let meta = actions.meta(unit.tp, unit.expected, unit.info.version, Some(&unit.info));
            items.push(meta.map_err(failed)?);
        }
        if items.len() >= MAX_TRANSACTION_ACTIONS {
            groups.push((std::mem::take(&mut items), std::mem::take(&mut ids)));
        }
        items.push(actions.ledger(ingest).map_err(failed)?);
        groups.push((items, ids));
        for (items, ids) in groups {
            match self.transact(items).await {
                Ok(()) => committed.extend(ids),
                Err(TransactFailure::Cancelled { reasons, .. })
                    if TransactFailure::is_concurrent_write(&reasons) =>
                {
                    return Err(Attempt::Raced);
                }
                Err(TransactFailure::Cancelled { reasons, message }) => {
                    return Err(failed(TransactFailure::cancelled_error(&reasons, &message)));
                }
                Err(TransactFailure::Failed(e)) => return Err(failed(e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::catalog_suite::segment;

    #[test]
    fn summaries_extend_incrementally() {
        let tp = TopicPartition::from_log_dir_name("t-0").unwrap();
        let (a, b, c) = (
            segment(&tp, 0, 9, 1),
            segment(&tp, 20, 29, 2),
            segment(&tp, 10, 19, 3),
        );
        let old = PartitionInfo::summarize(&tp, 1, [&a]).unwrap();
        let extended = extend(&tp, 2, Some(&old), &[&b, &c]).unwrap();
        assert_eq!(
            extended,
            PartitionInfo::summarize(&tp, 2, [&a, &c, &b]).unwrap()
        );
        assert_eq!(
            extend(&tp, 3, None, &[&a]),
            PartitionInfo::summarize(&tp, 3, [&a])
        );
        assert_eq!(extend(&tp, 3, Some(&old), &[]).map(|i| i.version), Some(3));
    }
}
