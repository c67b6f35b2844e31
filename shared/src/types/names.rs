use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidValue;

/// A Kafka topic name: 1–249 characters from `[a-zA-Z0-9._-]`, neither `.` nor `..`.
///
/// These are Kafka's own rules; they also guarantee that a topic used as an object-key segment can never
/// escape its prefix (no `/`, no `..`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

impl Topic {
    /// Longest topic name Kafka accepts.
    pub const MAX_LEN: usize = 249;

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Topic {
    type Error = InvalidValue;
    fn try_from(name: String) -> Result<Self, InvalidValue> {
        let bad = |reason: &str| Err(InvalidValue::new("topic name", &name, reason));
        if name.is_empty() {
            return bad("must not be empty");
        }
        if name.len() > Self::MAX_LEN {
            return bad("longer than 249 characters");
        }
        if name == "." || name == ".." {
            return bad("'.' and '..' are not allowed");
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return bad(&format!("character {c:?} is not one of [a-zA-Z0-9._-]"));
        }
        Ok(Topic(name))
    }
}

impl FromStr for Topic {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Topic::try_from(s.to_owned())
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A partition number: `0..=i32::MAX`, as in Kafka.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Partition(u32);

impl Partition {
    /// The partition number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Partition {
    type Error = InvalidValue;
    fn try_from(n: i64) -> Result<Self, InvalidValue> {
        match i32::try_from(n) {
            Ok(p) if p >= 0 => Ok(Partition(p as u32)),
            _ => Err(InvalidValue::new(
                "partition",
                &n.to_string(),
                "must be between 0 and 2147483647",
            )),
        }
    }
}

impl From<Partition> for i64 {
    fn from(p: Partition) -> i64 {
        i64::from(p.0)
    }
}

impl FromStr for Partition {
    type Err = InvalidValue;
    /// Plain decimal only, as Kafka writes partitions: no sign, no leading zeros, no spaces.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let canonical = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        if !canonical {
            return Err(InvalidValue::new(
                "partition",
                s,
                "not a plain decimal number (no sign, no leading zeros)",
            ));
        }
        let n: i64 = s
            .parse()
            .map_err(|_| InvalidValue::new("partition", s, "out of range"))?;
        Partition::try_from(n)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A topic and one of its partitions. Displays as `topic/partition`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: Topic,
    /// The partition.
    pub partition: Partition,
}

impl TopicPartition {
    /// Pairs a topic with a partition.
    pub fn new(topic: Topic, partition: Partition) -> Self {
        TopicPartition { topic, partition }
    }

    /// Parses the directory name Kafka gives a partition's log, `<topic>-<partition>`.
    pub fn from_log_dir_name(name: &str) -> Result<Self, InvalidValue> {
        let (topic, partition) = name.rsplit_once('-').ok_or_else(|| {
            InvalidValue::new("log directory name", name, "expected <topic>-<partition>")
        })?;
        Ok(TopicPartition::new(topic.parse()?, partition.parse()?))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        for ok in ["orders", "a.b_c-d", "X9", &"t".repeat(249)] {
            assert!(ok.parse::<Topic>().is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../etc",
            "a b",
            "é",
            &"t".repeat(250),
            "a\0b",
        ] {
            let err = bad.parse::<Topic>().unwrap_err();
            assert_eq!(err.what, "topic name", "{bad}");
        }
    }

    #[test]
    fn partitions_are_non_negative_i32() {
        assert_eq!("7".parse::<Partition>().map(Partition::get), Ok(7));
        assert!("-1".parse::<Partition>().is_err());
        assert!("2147483648".parse::<Partition>().is_err());
        assert!("x".parse::<Partition>().is_err());
    }

    #[test]
    fn log_dir_names_split_at_the_last_dash() {
        let tp = TopicPartition::from_log_dir_name("my-topic-12").unwrap();
        assert_eq!(tp.topic.as_str(), "my-topic");
        assert_eq!(tp.partition.get(), 12);
        assert!(TopicPartition::from_log_dir_name("nodash").is_err());
        assert!(TopicPartition::from_log_dir_name("a/b-1").is_err());
    }
}

/// A consumer group id, as a Kafka client names the group whose committed offsets it keeps:
/// 1–255 bytes of UTF-8 without control characters (Kafka takes any string; these limits keep a
/// group usable as a catalog key).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GroupId(String);

impl GroupId {
    /// Longest group id accepted, in bytes.
    pub const MAX_LEN: usize = 255;

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GroupId {
    type Error = InvalidValue;
    fn try_from(id: String) -> Result<Self, InvalidValue> {
        let bad = |reason: &str| Err(InvalidValue::new("consumer group id", &id, reason));
        if id.is_empty() {
            return bad("must not be empty");
        }
        if id.len() > Self::MAX_LEN {
            return bad("longer than 255 bytes");
        }
        if let Some(c) = id.chars().find(|c| c.is_control()) {
            return bad(&format!("control character {c:?} is not allowed"));
        }
        Ok(GroupId(id))
    }
}

impl FromStr for GroupId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        GroupId::try_from(s.to_owned())
    }
}

impl From<GroupId> for String {
    fn from(g: GroupId) -> String {
        g.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
