//! Where a broker keeps its segments: `<data_dir>/wal/<topic>/<partition>/wal_<partition>_<n>.log`,
//! and which of them are safe to take.
//!
//! Nothing in a file says it is sealed: the broker keeps that in memory. A segment is immutable once
//! a higher-numbered segment of its partition exists (the broker writes only the highest); the
//! highest-numbered one may still grow. Directories whose name starts with `__` (`__meta`, Raft
//! entries in the same framing) hold no Kafka data.

use crate::types::{Partition, Topic, TopicPartition};

/// A segment's place in the layout, from its path (or an object key with the same tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPath {
    /// The partition its directories name.
    pub tp: TopicPartition,
    /// The `<n>` of `wal_<partition>_<n>.log`.
    pub segment_id: u64,
}

impl SegmentPath {
    /// Parses the last three components of `path` (`/`-separated) as
    /// `<topic>/<partition>/wal_<partition>_<n>.log`; `None` if they do not follow the layout (the
    /// partition in the name must equal the directory's, as the broker writes it).
    pub fn parse(path: &str) -> Option<SegmentPath> {
        let mut parts = path.rsplit('/');
        let file = parts.next()?;
        let partition_dir = parts.next()?;
        let topic_dir = parts.next()?;
        let (p, n) = file
            .strip_prefix("wal_")?
            .strip_suffix(".log")?
            .split_once('_')?;
        let decimal = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !decimal(p) || !decimal(n) || !decimal(partition_dir) || p != partition_dir {
            return None;
        }
        if !is_data_topic_dir(topic_dir) {
            return None;
        }
        let partition = Partition::try_from(partition_dir.parse::<i64>().ok()?).ok()?;
        let topic = Topic::try_from(topic_dir.to_owned()).ok()?;
        Some(SegmentPath {
            tp: TopicPartition::new(topic, partition),
            segment_id: n.parse().ok()?,
        })
    }
}

/// Whether a directory under `wal/` can hold Kafka data (Chronik's own scanner skips `__*`).
pub fn is_data_topic_dir(name: &str) -> bool {
    !name.starts_with("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_broker_layout_or_are_not_segments() {
        let p = SegmentPath::parse("/data/wal/payments/0/wal_0_3.log").unwrap();
        assert_eq!((p.tp.to_string(), p.segment_id), ("payments/0".into(), 3));
        let key = SegmentPath::parse("chronik-wal/orders/12/wal_12_10.log").unwrap();
        assert_eq!((key.tp.partition.get(), key.segment_id), (12, 10));
        for bad in [
            "wal/payments/0/wal_1_3.log",
            "wal/payments/0/wal_0_3.lg",
            "wal/payments/x/wal_x_3.log",
            "wal/__meta/0/wal_0_3.log",
            "wal/payments/0/wal_0_.log",
            "wal_0_3.log",
            "wal/pay ments/0/wal_0_3.log",
        ] {
            assert!(SegmentPath::parse(bad).is_none(), "{bad}");
        }
    }
}
