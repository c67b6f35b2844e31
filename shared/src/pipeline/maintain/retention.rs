//! Retention: dropping the oldest segments of a partition, by age and by size, with per-topic
//! settings.
//!
//! Only a prefix of a partition is ever dropped, so the tiered range stays contiguous and the
//! earliest offset only moves forward. The change is one conditional swap at the partition version:
//! a concurrent change makes it fail cleanly. Dropped archives are retired, not deleted (garbage
//! collection deletes them after the grace period).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::SegmentEntry;
use crate::pipeline::{Pipeline, PipelineResult};
use crate::types::{SegmentId, Topic, TopicPartition};

/// How much of each partition of a topic to keep; `None` (or a limit of 0) sets no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Drop segments whose newest record is older than this many milliseconds. A segment without
    /// record timestamps (-1, as in old message formats) is aged by when it was registered.
    pub max_age_ms: Option<i64>,
    /// Drop the oldest segments while the segments after them still hold at least this many bytes
    /// of original batches (Kafka's `retention.bytes`: a partition never shrinks below the budget).
    pub max_bytes: Option<u64>,
}

impl Retention {
    /// Whether this keeps everything.
    pub fn is_unlimited(&self) -> bool {
        self.age_limit().is_none() && self.byte_limit().is_none()
    }

    /// From the operator's units; 0 means no limit.
    pub fn from_hours_and_bytes(hours: u64, bytes: u64) -> Retention {
        Retention {
            max_age_ms: (hours > 0).then(|| hours_to_ms(hours)),
            max_bytes: (bytes > 0).then_some(bytes),
        }
    }

    fn age_limit(&self) -> Option<i64> {
        self.max_age_ms.filter(|&ms| ms > 0)
    }

    fn byte_limit(&self) -> Option<u64> {
        self.max_bytes.filter(|&b| b > 0)
    }

    /// How many of `segments` (one partition, in offset order) to drop at `now_ms`: the longest
    /// prefix that is too old or beyond the byte budget.
    pub fn expired_prefix(&self, segments: &[SegmentEntry], now_ms: i64) -> usize {
        let by_age = self.age_limit().map_or(0, |age| {
            let cutoff = now_ms.saturating_sub(age);
            segments.iter().take_while(|s| newest(s) < cutoff).count()
        });
        let by_size = self.byte_limit().map_or(0, |budget| {
            let mut rest = segments
                .iter()
                .fold(0u64, |sum, s| sum.saturating_add(s.data_bytes));
            segments
                .iter()
                .take_while(|s| {
                    rest = rest.saturating_sub(s.data_bytes);
                    rest >= budget
                })
                .count()
        });
        by_age.max(by_size)
    }
}

/// A segment's age: its newest record's timestamp, or its registration if records carry none.
fn newest(s: &SegmentEntry) -> i64 {
    if s.max_timestamp >= 0 {
        s.max_timestamp
    } else {
        s.created_at_ms
    }
}

fn hours_to_ms(hours: u64) -> i64 {
    i64::try_from(hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX)
}

/// One topic's deviation from the default retention, as operators write it (JSON, e.g.
/// `{"hours": 720, "bytes": 1099511627776}`). An absent field inherits the default; 0 means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionOverride {
    /// Age limit in hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u64>,
    /// Size limit in bytes of original batches per partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// Retention for every topic: a default, and overrides for some topics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionPolicy {
    /// What applies to a topic without an override.
    pub default: Retention,
    /// Per-topic overrides.
    pub topics: BTreeMap<Topic, RetentionOverride>,
}

impl RetentionPolicy {
    /// The retention of `topic`.
    pub fn for_topic(&self, topic: &Topic) -> Retention {
        let Some(o) = self.topics.get(topic) else {
            return self.default;
        };
        Retention {
            max_age_ms: match o.hours {
                None => self.default.max_age_ms,
                Some(0) => None,
                Some(h) => Some(hours_to_ms(h)),
            },
            max_bytes: match o.bytes {
                None => self.default.max_bytes,
                Some(0) => None,
                Some(b) => Some(b),
            },
        }
    }

    /// Parses overrides written as a JSON object from topic name to [`RetentionOverride`], e.g.
    /// `{"audit": {"hours": 0}, "clicks": {"hours": 24, "bytes": 10737418240}}`. Empty text means
    /// none. The error names the offending topic or field.
    pub fn parse_overrides(
        text: &str,
    ) -> Result<BTreeMap<Topic, RetentionOverride>, RetentionOverridesError> {
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(text)
            .map_err(|e| RetentionOverridesError::NotAnObject(e.to_string()))?;
        raw.into_iter()
            .map(|(name, value)| {
                let topic: Topic = match name.parse() {
                    Ok(topic) => topic,
                    Err(e) => {
                        let reason = crate::types::InvalidValue::to_string(&e);
                        return Err(RetentionOverridesError::InvalidTopic { name, reason });
                    }
                };
                let o: RetentionOverride = serde_json::from_value(value).map_err(|e| {
                    RetentionOverridesError::InvalidOverride {
                        name: name.clone(),
                        reason: e.to_string(),
                    }
                })?;
                Ok((topic, o))
            })
            .collect()
    }
}

/// Why retention overrides do not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionOverridesError {
    /// The text is not a JSON object.
    #[error("expected a JSON object of topic → {{\"hours\": N, \"bytes\": N}}: {0}")]
    NotAnObject(String),
    /// A key is not a valid topic name.
    #[error("topic {name:?}: {reason}")]
    InvalidTopic {
        /// The key as written.
        name: String,
        /// Why it is not a topic name.
        reason: String,
    },
    /// A topic's value is not a [`RetentionOverride`] (unknown field, negative number, ...).
    #[error("topic {name:?}: {reason}")]
    InvalidOverride {
        /// The topic.
        name: String,
        /// What is wrong with its value.
        reason: String,
    },
}

/// What retention did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionOutcome {
    /// Segments dropped from the catalog (or, on a dry run, to drop).
    pub removed: Vec<SegmentId>,
    /// The earliest offset afterwards, `None` if the partition is (or would be) empty.
    pub earliest: Option<i64>,
}

impl Pipeline {
    /// Drops the oldest segments of `tp` that `retention` expires, in one conditional swap
    /// (`dry_run`: only reports them). Fails with `VersionMismatch` (nothing changed) if the
    /// partition changed meanwhile. (Compaction runs call this through [`Pipeline::compact`].)
    #[cfg(any(test, feature = "testsuite"))]
    pub async fn apply_retention(
        &self,
        tp: &TopicPartition,
        retention: &Retention,
        dry_run: bool,
    ) -> PipelineResult<RetentionOutcome> {
        Ok(self.retain_listed(tp, retention, dry_run).await?.0)
    }

    /// [`Pipeline::apply_retention`], also returning the segments that remain (or would remain)
    /// as listed, so a caller can plan on them without listing the partition again.
    pub(crate) async fn retain_listed(
        &self,
        tp: &TopicPartition,
        retention: &Retention,
        dry_run: bool,
    ) -> PipelineResult<(RetentionOutcome, Vec<SegmentEntry>)> {
        let info = self.partition_info(tp).await?;
        let mut segments = self.catalog.segments(tp).await?;
        let now = self.clock.now_ms();
        let cut = retention.expired_prefix(&segments, now);
        let expired: Vec<SegmentId> = segments.drain(..cut).map(|s| s.id).collect();
        if !expired.is_empty() && !dry_run {
            self.catalog
                .swap_segments(tp, info.version, &expired, &[], now)
                .await?;
        }
        let outcome = RetentionOutcome {
            removed: expired,
            earliest: segments.first().map(|s| s.base_offset.get()),
        };
        Ok((outcome, segments))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::catalog_suite as testsuite;

    fn segment(base: i64, data_bytes: u64, max_timestamp: i64) -> SegmentEntry {
        let tp = TopicPartition::from_log_dir_name("t-0").unwrap();
        SegmentEntry {
            data_bytes,
            max_timestamp,
            ..testsuite::segment(&tp, base, base + 9, base as u32)
        }
    }

    #[test]
    fn age_and_size_each_cut_a_prefix_and_the_larger_cut_wins() {
        let segs: Vec<_> = (0..5).map(|i| segment(i * 10, 100, i * 1_000)).collect();
        let age = Retention {
            max_age_ms: Some(2_500),
            max_bytes: None,
        };
        // now 5_000: cutoff 2_500 drops the segments with max timestamps 0, 1000, 2000.
        assert_eq!(age.expired_prefix(&segs, 5_000), 3);
        let size = Retention {
            max_age_ms: None,
            max_bytes: Some(250),
        };
        // 500 bytes; dropping two leaves 300 ≥ 250, dropping a third would leave 200 < 250.
        assert_eq!(size.expired_prefix(&segs, 5_000), 2);
        let both = Retention {
            max_age_ms: Some(3_500),
            max_bytes: Some(250),
        };
        assert_eq!(both.expired_prefix(&segs, 5_000), 2);
        assert_eq!(Retention::default().expired_prefix(&segs, i64::MAX), 0);
        let zero = Retention {
            max_age_ms: Some(0),
            max_bytes: Some(0),
        };
        assert!(zero.is_unlimited());
        assert_eq!(zero.expired_prefix(&segs, i64::MAX), 0, "0 is no limit");
        // Without record timestamps a segment ages from its registration.
        let untimed = [SegmentEntry {
            max_timestamp: -1,
            created_at_ms: 4_000,
            ..segment(0, 100, 0)
        }];
        assert_eq!(age.expired_prefix(&untimed, 5_000), 0);
        assert_eq!(age.expired_prefix(&untimed, 7_000), 1);
        assert_eq!(
            Retention::from_hours_and_bytes(0, 1).expired_prefix(&segs, 0),
            4,
            "a 1-byte budget keeps only the newest segment"
        );
    }

    #[test]
    fn overrides_inherit_absent_fields_and_zero_lifts_a_limit() {
        let policy = RetentionPolicy {
            default: Retention::from_hours_and_bytes(168, 1 << 30),
            topics: RetentionPolicy::parse_overrides(
                r#"{"audit": {"hours": 0}, "clicks": {"hours": 24, "bytes": 0}}"#,
            )
            .unwrap(),
        };
        let t = |s: &str| s.parse::<Topic>().unwrap();
        assert_eq!(
            policy.for_topic(&t("orders")),
            Retention::from_hours_and_bytes(168, 1 << 30)
        );
        assert_eq!(
            policy.for_topic(&t("audit")),
            Retention::from_hours_and_bytes(0, 1 << 30)
        );
        assert_eq!(
            policy.for_topic(&t("clicks")),
            Retention::from_hours_and_bytes(24, 0)
        );
    }

    #[test]
    fn malformed_overrides_name_what_is_wrong() {
        let err = RetentionPolicy::parse_overrides(r#"{"../x": {"hours": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("topic \"../x\""), "{err}");
        let err = RetentionPolicy::parse_overrides(r#"{"clicks": {"days": 1}}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("clicks") && err.contains("unknown field `days`"),
            "{err}"
        );
        let err = RetentionPolicy::parse_overrides(r#"{"clicks": {"hours": -1}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("clicks"), "{err}");
        let err = RetentionPolicy::parse_overrides("[1]")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("expected a JSON object"), "{err}");
        assert!(RetentionPolicy::parse_overrides(" ").unwrap().is_empty());
    }

    proptest! {
        /// The size rule keeps at least the budget (or everything, if the partition is smaller) and
        /// drops a segment only if the rest still meets the budget.
        #[test]
        fn the_size_rule_keeps_the_budget_and_no_more_than_one_segment_over(
            sizes in proptest::collection::vec(1u64..1_000, 0..20),
            budget in 1u64..10_000,
        ) {
            let segs: Vec<_> = sizes.iter().enumerate().map(|(i, b)| segment(i as i64 * 10, *b, 0)).collect();
            let r = Retention { max_age_ms: None, max_bytes: Some(budget) };
            let cut = r.expired_prefix(&segs, 0);
            let kept: u64 = sizes[cut..].iter().sum();
            let total: u64 = sizes.iter().sum();
            prop_assert!(kept >= budget.min(total));
            if cut < sizes.len() {
                prop_assert!(kept - sizes[cut] < budget, "the next segment is needed for the budget");
            }
        }
    }
}
