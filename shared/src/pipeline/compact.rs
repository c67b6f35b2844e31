//! Compaction planning: which adjacent small segments of a partition to merge.

use serde::Serialize;

use crate::catalog::SegmentEntry;
use crate::types::SegmentId;

/// When segments are worth merging.
#[derive(Debug, Clone)]
pub struct CompactionPolicy {
    /// Merged archives aim for this size (bytes).
    pub target_bytes: u64,
    /// Fewest segments worth merging into one.
    pub min_run: usize,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        CompactionPolicy {
            target_bytes: 256 << 20,
            min_run: 2,
        }
    }
}

/// A run of adjacent segments to merge into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeRun {
    /// The segments, in offset order.
    pub segments: Vec<SegmentId>,
    /// First offset of the run.
    pub base_offset: i64,
    /// Last offset of the run.
    pub last_offset: i64,
    /// Sum of their archive sizes.
    pub archive_bytes: u64,
}

/// Plans merges over `segments` (one partition, offset order): maximal runs of at least
/// `policy.min_run` segments with contiguous offsets, each smaller than half the target, whose
/// combined archive size stays within `policy.target_bytes`.
pub fn plan_compaction(segments: &[SegmentEntry], policy: &CompactionPolicy) -> Vec<MergeRun> {
    let mut runs = Vec::new();
    let mut current: Vec<&SegmentEntry> = Vec::new();
    let close = |current: &mut Vec<&SegmentEntry>, runs: &mut Vec<MergeRun>| {
        if current.len() >= policy.min_run.max(2) {
            runs.push(MergeRun {
                segments: current.iter().map(|s| s.id.clone()).collect(),
                base_offset: current[0].base_offset.get(),
                last_offset: current[current.len() - 1].last_offset.get(),
                archive_bytes: current.iter().map(|s| s.archive_size).sum(),
            });
        }
        current.clear();
    };
    for seg in segments {
        let small = seg.archive_size < policy.target_bytes / 2;
        let fits = current.iter().map(|s| s.archive_size).sum::<u64>() + seg.archive_size
            <= policy.target_bytes;
        let contiguous = current
            .last()
            .is_none_or(|p| p.last_offset.next() == seg.base_offset);
        if !(small && fits && contiguous) {
            close(&mut current, &mut runs);
        }
        if small {
            current.push(seg);
        }
    }
    close(&mut current, &mut runs);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::testsuite::segment;
    use crate::types::TopicPartition;

    fn sized(base: i64, last: i64, size: u64) -> SegmentEntry {
        let tp = TopicPartition::from_log_dir_name("plan-0").unwrap();
        SegmentEntry {
            archive_size: size,
            ..segment(&tp, base, last, base as u32)
        }
    }

    #[test]
    fn merges_contiguous_small_runs_within_target() {
        let policy = CompactionPolicy {
            target_bytes: 100,
            min_run: 2,
        };
        let segs = [
            sized(0, 9, 20),
            sized(10, 19, 20),
            sized(20, 29, 20),
            sized(30, 39, 80), // large: breaks the run
            sized(40, 49, 10),
            sized(60, 69, 10), // gap: breaks the run
            sized(70, 79, 10),
            sized(80, 89, 45),
            sized(90, 99, 45), // would exceed the target
        ];
        let runs = plan_compaction(&segs, &policy);
        let spans: Vec<(i64, i64, u64)> = runs
            .iter()
            .map(|r| (r.base_offset, r.last_offset, r.archive_bytes))
            .collect();
        assert_eq!(spans, [(0, 29, 60), (60, 89, 65)]);
        assert_eq!(runs[0].segments.len(), 3);
    }

    #[test]
    fn nothing_to_do_for_single_or_large_segments() {
        let policy = CompactionPolicy::default();
        assert!(plan_compaction(&[], &policy).is_empty());
        assert!(plan_compaction(&[sized(0, 1, 5)], &policy).is_empty());
        assert!(
            plan_compaction(&[sized(0, 1, 200 << 20), sized(2, 3, 200 << 20)], &policy).is_empty()
        );
    }
}
