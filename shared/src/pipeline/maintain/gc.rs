//! Garbage collection: deleting archives no reader can need any more.
//!
//! Two kinds of garbage:
//! - retired archives (swapped out by compaction or retention) whose grace period has passed — a
//!   fetch that looked them up before the swap has long finished, and one that finds an archive gone
//!   re-reads the catalog;
//! - orphaned archives: objects under `archives/` that no segment references and no retirement
//!   records, older than the grace period and than [`ORPHAN_MIN_AGE_MS`] (left by a crash between
//!   put and register, or by a lost registration race).
//!
//! An empty catalog — no live segment and no retirement — with archives in the store is a lost
//! catalog, not a store full of orphans: nothing is collected then (`orphans_held` counts them), so
//! `tierctl rebuild-catalog` can still rebuild it from them.
//!
//! The quarantine prefix is only counted, never deleted: it holds inputs an operator must look at.

use std::collections::HashSet;

use serde::Serialize;

use crate::pipeline::{Pipeline, PipelineResult};
use crate::types::ObjectKey;

/// An unreferenced archive younger than this may be one an indexer or a compactor has written and
/// is about to register, so it is never collected as an orphan, whatever the grace period. They run
/// for at most the Lambda limit of 15 minutes, and a multipart upload's last-modified time is when
/// it started; an hour leaves room for that and for clock skew between S3 and the functions.
pub const ORPHAN_MIN_AGE_MS: i64 = 60 * 60_000;

/// What a garbage collection did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Retired archives deleted.
    pub retired_deleted: usize,
    /// Retired archives still inside their grace period.
    pub retired_waiting: usize,
    /// Orphaned archives deleted.
    pub orphans_deleted: usize,
    /// Bytes of orphaned archives deleted.
    pub orphan_bytes: u64,
    /// Unreferenced archives kept because the catalog references nothing at all (a lost catalog:
    /// rebuild it with `tierctl rebuild-catalog`).
    pub orphans_held: usize,
    /// Objects under `quarantine/` (reported, never deleted).
    pub quarantined: usize,
}

impl Pipeline {
    /// Deletes archives retired more than `grace_ms` ago, and orphaned archives last modified more
    /// than `grace_ms` (and [`ORPHAN_MIN_AGE_MS`]) ago by the store's clock. `dry_run` only counts.
    pub async fn collect_garbage(&self, grace_ms: i64, dry_run: bool) -> PipelineResult<GcReport> {
        let now = self.clock.now_ms();
        // Live segments first, retirements second: a swap moves an archive from one to the other
        // atomically, so one that moves during this scan is seen in at least one of them.
        let mut referenced: HashSet<ObjectKey> = HashSet::new();
        for info in self.catalog.partitions().await? {
            for seg in self.catalog.segments(&info.tp).await? {
                referenced.insert(seg.archive_key);
            }
        }
        let (mut report, retired) = self
            .sweep_retired(now.saturating_sub(grace_ms), dry_run)
            .await?;
        referenced.extend(retired);
        let orphan_cutoff = now.saturating_sub(grace_ms.max(ORPHAN_MIN_AGE_MS));
        let catalog_is_empty = referenced.is_empty();
        for object in self.store.list(ObjectKey::ARCHIVE_PREFIX).await? {
            if referenced.contains(&object.key) || object.last_modified_ms > orphan_cutoff {
                continue;
            }
            if catalog_is_empty {
                report.orphans_held += 1;
                continue;
            }
            report.orphans_deleted += 1;
            report.orphan_bytes += object.size;
            if !dry_run {
                self.store.delete(&object.key).await?;
            }
        }
        if report.orphans_held > 0 {
            tracing::warn!(
                archives = report.orphans_held,
                "the catalog references no archive but the store holds some: not collecting them; \
                 if the catalog was lost, run `tierctl rebuild-catalog`"
            );
        }
        report.quarantined = self.store.list(ObjectKey::QUARANTINE_PREFIX).await?.len();
        Ok(report)
    }

    /// Only the first half of [`Pipeline::collect_garbage`]: archives retired more than `grace_ms`
    /// ago (for tests that race it against readers).
    #[cfg(any(test, feature = "testsuite"))]
    pub async fn delete_retired(&self, grace_ms: i64, dry_run: bool) -> PipelineResult<GcReport> {
        let cutoff = self.clock.now_ms().saturating_sub(grace_ms);
        Ok(self.sweep_retired(cutoff, dry_run).await?.0)
    }

    /// Deletes (then forgets) archives retired at or before `cutoff`; returns the report so far and
    /// the keys of every retired archive it found.
    async fn sweep_retired(
        &self,
        cutoff: i64,
        dry_run: bool,
    ) -> PipelineResult<(GcReport, Vec<ObjectKey>)> {
        let mut report = GcReport::default();
        let retired = self.catalog.retired_archives().await?;
        let due: Vec<ObjectKey> = retired
            .iter()
            .filter(|r| r.retired_at_ms <= cutoff)
            .map(|r| r.key.clone())
            .collect();
        report.retired_waiting = retired.len() - due.len();
        report.retired_deleted = due.len();
        if !dry_run {
            for key in &due {
                self.store.delete(key).await?;
            }
            self.catalog.forget_retired(&due).await?;
        }
        Ok((report, retired.into_iter().map(|r| r.key).collect()))
    }
}
