//! A compaction run over partitions: retention, then merges, with a report. Run by the compactor
//! function and `tierctl compact`.

use serde::Serialize;

use super::gc::GcReport;
use super::plan::{CompactionPolicy, MergeRun, plan_compaction};
use super::retention::RetentionPolicy;
use crate::catalog::{PartitionInfo, SegmentEntry};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::source::SourceError;

/// What a run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct CompactionRequest {
    /// Only these topics (all when empty).
    pub topics: Vec<String>,
    /// Report what would be done without changing anything.
    pub dry_run: bool,
    /// Which segments to merge.
    pub policy: CompactionPolicy,
    /// What to keep of each topic (the default keeps everything).
    pub retention: RetentionPolicy,
    /// Collect garbage (retired and orphaned archives older than this, in ms) after compacting;
    /// `None` skips it.
    pub gc_grace_ms: Option<i64>,
    /// Start no new partition or merge once this much time has passed (e.g. the Lambda's remaining
    /// time less a margin).
    pub time_budget: Option<std::time::Duration>,
}

/// What happened to one partition.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionReport {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Segments before the run.
    pub segments: u64,
    /// Segments dropped (or, on a dry run, to drop) by retention.
    pub expired: usize,
    /// The retention cut point: the earliest offset after retention, when it dropped segments
    /// (`None` with `expired > 0`: the partition is now empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_after_retention: Option<i64>,
    /// Merges planned (and, unless a dry run, executed).
    pub merges: Vec<MergeRun>,
    /// Why the partition was left as it was, when a concurrent change won the race.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CompactionReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Partitions examined.
    pub partitions_examined: usize,
    /// Merges executed (0 on a dry run).
    pub merges_executed: usize,
    /// Segments replaced by merges (or that would be, on a dry run).
    pub segments_in_merges: usize,
    /// Archive bytes written by merges.
    pub bytes_written: u64,
    /// Segments dropped by retention (or that would be).
    pub segments_expired: usize,
    /// Partitions with something to do.
    pub plans: Vec<PartitionReport>,
    /// Garbage collection, if requested (and the budget left time for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gc: Option<GcReport>,
    /// Whether the time budget ran out before every partition was done.
    pub stopped_early: bool,
    /// Wall time of the run in milliseconds.
    pub took_ms: u64,
}

/// When a run must stop starting new work.
struct Deadline(Option<std::time::Instant>);

impl Deadline {
    fn passed(&self) -> bool {
        self.0.is_some_and(|d| std::time::Instant::now() >= d)
    }
}

impl Pipeline {
    /// Applies retention to every (selected) partition, then merges, the partitions with the most
    /// segments first, then collects garbage. A partition another writer changed meanwhile is
    /// skipped (and reported) until the next run. With a time budget no new partition or merge is
    /// started once it is spent (`stopped_early`); every step leaves the catalog consistent.
    ///
    /// Retention comes first for all partitions because it is cheap (one listing and at most one
    /// swap each) and must not wait behind merges: a budget spent on busy partitions never delays
    /// another partition's expiry. Merges go neediest first, so a run cut short still helps where
    /// it matters most, and the next run finds those partitions smaller.
    pub async fn compact(&self, req: &CompactionRequest) -> PipelineResult<CompactionReport> {
        let started = std::time::Instant::now();
        let deadline = Deadline(req.time_budget.map(|b| started + b));
        let mut report = CompactionReport {
            dry_run: req.dry_run,
            ..Default::default()
        };
        let partitions: Vec<PartitionInfo> = self
            .catalog
            .partitions()
            .await?
            .into_iter()
            .filter(|p| {
                req.topics.is_empty() || req.topics.iter().any(|t| t == p.tp.topic.as_str())
            })
            .collect();
        let mut parts: Vec<PartitionReport> = partitions
            .iter()
            .map(|info| PartitionReport {
                topic: info.tp.topic.to_string(),
                partition: info.tp.partition.get(),
                segments: info.segment_count,
                expired: 0,
                earliest_after_retention: None,
                merges: Vec::new(),
                skipped: None,
            })
            .collect();
        // The segments each retention step listed (and left), for planning merges without a
        // second listing.
        let mut listed: Vec<Option<Vec<SegmentEntry>>> = vec![None; partitions.len()];
        for ((info, part), listed) in partitions.iter().zip(parts.iter_mut()).zip(&mut listed) {
            if deadline.passed() {
                report.stopped_early = true;
                break;
            }
            report.partitions_examined += 1;
            let outcome = self.retain_partition(info, req, part).await.map(|kept| {
                *listed = kept;
            });
            skip_lost_race(info, outcome, part)?;
        }
        let mut order: Vec<usize> = (0..partitions.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (&partitions[a], &partitions[b]);
            b.segment_count.cmp(&a.segment_count).then(a.tp.cmp(&b.tp))
        });
        for i in order {
            if report.stopped_early || deadline.passed() {
                report.stopped_early = true;
                break;
            }
            if parts[i].skipped.is_some() {
                continue;
            }
            let outcome = self
                .merge_partition(
                    &partitions[i],
                    listed[i].take(),
                    req,
                    &deadline,
                    &mut parts[i],
                    &mut report,
                )
                .await;
            skip_lost_race(&partitions[i], outcome, &mut parts[i])?;
        }
        for part in parts {
            report.segments_expired += part.expired;
            report.segments_in_merges +=
                part.merges.iter().map(|m| m.segments.len()).sum::<usize>();
            if part.expired > 0 || !part.merges.is_empty() || part.skipped.is_some() {
                report.plans.push(part);
            }
        }
        if let Some(grace_ms) = req.gc_grace_ms {
            if deadline.passed() {
                report.stopped_early = true;
            } else {
                report.gc = Some(self.collect_garbage(grace_ms, req.dry_run).await?);
            }
        }
        report.took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    /// Retention for one partition under its topic's policy; the segments it leaves (or, on a dry
    /// run, would leave), if it listed them.
    async fn retain_partition(
        &self,
        info: &PartitionInfo,
        req: &CompactionRequest,
        part: &mut PartitionReport,
    ) -> PipelineResult<Option<Vec<SegmentEntry>>> {
        let retention = req.retention.for_topic(&info.tp.topic);
        if retention.is_unlimited() {
            return Ok(None);
        }
        let (outcome, kept) = self
            .retain_listed(&info.tp, &retention, req.dry_run)
            .await?;
        part.expired = outcome.removed.len();
        if part.expired > 0 {
            part.earliest_after_retention = outcome.earliest;
        }
        Ok(Some(kept))
    }

    /// Plans (and, unless a dry run, executes) the merges of one partition, over `listed` if
    /// retention just listed its segments, else over a fresh listing. A plan from a listing that
    /// has since gone stale fails its merge's conditional swap, like any lost race.
    async fn merge_partition(
        &self,
        info: &PartitionInfo,
        listed: Option<Vec<SegmentEntry>>,
        req: &CompactionRequest,
        deadline: &Deadline,
        part: &mut PartitionReport,
        report: &mut CompactionReport,
    ) -> PipelineResult<()> {
        let tp = &info.tp;
        let segments = match listed {
            Some(segments) => segments,
            None => self.catalog.segments(tp).await?,
        };
        part.merges = plan_compaction(&segments, &req.policy);
        if !req.dry_run {
            for merge in &part.merges {
                if deadline.passed() {
                    report.stopped_early = true;
                    break;
                }
                let outcome = self.merge_run(tp, merge).await?;
                report.merges_executed += 1;
                report.bytes_written += outcome.bytes_written;
            }
        }
        Ok(())
    }
}

/// Turns a lost race into a skipped partition (reported, retried next run), and a merge whose
/// segment would carry more transaction facts than an entry holds into a skipped one (reported;
/// its segments stay as they are); other errors stop the run.
fn skip_lost_race(
    info: &PartitionInfo,
    outcome: PipelineResult<()>,
    part: &mut PartitionReport,
) -> PipelineResult<()> {
    match outcome {
        Err(e) if e.is_lost_race() => {
            tracing::info!(tp = %info.tp, error = %e, "partition changed concurrently; skipped");
            part.skipped = Some(e.to_string());
            Ok(())
        }
        Err(e @ PipelineError::InvalidSource(SourceError::TooManyTransactions { .. })) => {
            tracing::warn!(tp = %info.tp, error = %e, "merge not done; partition skipped");
            part.skipped = Some(e.to_string());
            Ok(())
        }
        other => other,
    }
}
