//! Compaction planning: which adjacent small segments of a partition to merge.

use serde::Serialize;

use crate::catalog::SegmentEntry;
use crate::types::SegmentId;

/// When segments are worth merging.
#[derive(Debug, Clone)]
pub struct CompactionPolicy {
    /// Merged archives aim for this size (bytes); segments of half of it or more are left alone.
    pub target_bytes: u64,
    /// Fewest segments worth merging into one.
    pub min_run: usize,
    /// Most segments merged at once, and how different their sizes may be: a run only takes
    /// segments within a factor `fanout` of each other. Merging like with like (leveled) rewrites
    /// each byte O(log_fanout n) times, instead of every time a growing merged segment absorbs a
    /// newcomer.
    pub fanout: usize,
}

impl Default for CompactionPolicy {
    /// Leveled: wait for `fanout` like-sized segments and merge them into one of the next size.
    fn default() -> Self {
        CompactionPolicy {
            target_bytes: 256 << 20,
            min_run: 4,
            fanout: 4,
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

/// Whether two archive sizes are less than a factor `fanout` apart, so a merged segment (`fanout`
/// times its parts) never joins a run of segments like its parts.
fn similar(a: u64, b: u64, fanout: u64) -> bool {
    let (a, b) = (a.max(1), b.max(1));
    a < b.saturating_mul(fanout) && b < a.saturating_mul(fanout)
}

/// Plans merges over `segments` (one partition, offset order): runs of `policy.min_run` to
/// `policy.fanout` segments with contiguous offsets (a gap may be a segment still to arrive), each
/// smaller than half the target, sizes within a factor `policy.fanout` of each other, combined size
/// within `policy.target_bytes`.
pub fn plan_compaction(segments: &[SegmentEntry], policy: &CompactionPolicy) -> Vec<MergeRun> {
    let fanout = policy.fanout.max(2);
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
        let alike = current
            .iter()
            .all(|s| similar(s.archive_size, seg.archive_size, fanout as u64));
        if !(small && fits && contiguous && alike) || current.len() >= fanout {
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
    use crate::testing::catalog_suite::segment;
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
            fanout: 8,
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
    fn merges_like_with_like_and_at_most_fanout_at_once() {
        let policy = CompactionPolicy {
            target_bytes: 1 << 30,
            min_run: 2,
            fanout: 4,
        };
        // A big merged segment followed by small newcomers: only the newcomers merge.
        let segs: Vec<SegmentEntry> = std::iter::once(sized(0, 99, 1_000))
            .chain((0..10).map(|i| sized(100 + i * 10, 109 + i * 10, 10)))
            .collect();
        let runs = plan_compaction(&segs, &policy);
        let lens: Vec<usize> = runs.iter().map(|r| r.segments.len()).collect();
        assert_eq!(lens, [4, 4, 2]);
        assert_eq!(runs[0].base_offset, 100, "the big segment is not rewritten");
    }

    /// Ingest one segment per round and compact after each: bytes rewritten per byte ingested stay
    /// logarithmic in the number of segments, where folding newcomers into one growing merged
    /// segment would rewrite it every round (~n/2 times).
    #[test]
    fn rewriting_is_logarithmic_in_the_number_of_segments() {
        let policy = CompactionPolicy {
            target_bytes: 1 << 40,
            min_run: 4,
            fanout: 4,
        };
        let mut segs: Vec<SegmentEntry> = Vec::new();
        let (mut ingested, mut rewritten) = (0u64, 0u64);
        for round in 0..1_024i64 {
            segs.push(sized(round * 10, round * 10 + 9, 100));
            ingested += 100;
            for run in plan_compaction(&segs, &policy) {
                let first = segs.iter().position(|s| s.id == run.segments[0]).unwrap();
                let merged = sized(run.base_offset, run.last_offset, run.archive_bytes);
                segs.splice(first..first + run.segments.len(), [merged]);
                rewritten += run.archive_bytes;
            }
        }
        let per_byte = rewritten as f64 / ingested as f64;
        assert!(
            per_byte <= 5.0,
            "rewrote {per_byte:.2} bytes per byte ingested (log4 1024 = 5)"
        );
        assert!(segs.len() <= 4 * 5, "{} segments left", segs.len());
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
