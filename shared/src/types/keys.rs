use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{InvalidValue, Offset, TopicPartition};

/// Identifies a segment within its partition: `<base offset>-<last offset>-<content crc>` with both
/// offsets zero-padded to 20 digits and the CRC-32C of the segment's batch bytes as 8 hex digits.
///
/// The id is derived from content, so indexing the same batches twice yields the same id (and the same
/// archive key), while different content over the same offsets yields a different one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SegmentId(String);

impl SegmentId {
    /// The id of a segment covering `base..=last` whose batches have CRC-32C `content_crc`.
    pub fn new(base: Offset, last: Offset, content_crc: u32) -> Self {
        SegmentId(format!(
            "{}-{}-{content_crc:08x}",
            base.padded(),
            last.padded()
        ))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SegmentId {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        let parts: Vec<&str> = s.split('-').collect();
        let well_formed = matches!(parts.as_slice(), [b, l, c]
            if b.len() == 20 && l.len() == 20 && c.len() == 8
                && b.bytes().chain(l.bytes()).all(|x| x.is_ascii_digit())
                && c.bytes().all(|x| x.is_ascii_hexdigit()));
        if !well_formed {
            return Err(InvalidValue::new(
                "segment id",
                &s,
                "expected <20 digits>-<20 digits>-<8 hex digits>",
            ));
        }
        Ok(SegmentId(s))
    }
}

impl From<SegmentId> for String {
    fn from(id: SegmentId) -> String {
        id.0
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key in an object store: 1–1024 bytes of UTF-8 without control characters or backslashes,
/// `/`-separated segments that are neither empty, `.` nor `..`, no leading `/`. A valid key therefore
/// never escapes the store's root. (S3 allows more; these are the keys Chronik Tier reads and writes.)
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Prefix of every archive key.
    pub const ARCHIVE_PREFIX: &'static str = "archives/";

    /// The key of one build of a segment's archive:
    /// `archives/<topic>/<partition>/<segment id>.<build id as 16 hex digits>.tar.gz`.
    ///
    /// The build id makes every written archive a new object, so a build never overwrites an archive
    /// whose byte ranges a catalog entry already records.
    pub fn archive(tp: &TopicPartition, id: &SegmentId, build: u64) -> ObjectKey {
        // Topic, partition and id are validated types whose characters are all allowed here.
        ObjectKey(format!(
            "{}{}/{}/{}.{build:016x}.tar.gz",
            Self::ARCHIVE_PREFIX,
            tp.topic,
            tp.partition,
            id
        ))
    }

    /// Prefix of exported fetch windows (batches too large for a response body, served by a
    /// presigned URL; expired by a lifecycle rule).
    pub const EXPORT_PREFIX: &'static str = "exports/";

    /// The key of an exported fetch window: `exports/<topic>/<partition>/<first offset, 20
    /// digits>-<last offset, 20 digits>-<CRC-32C of the bytes, 8 hex digits>.batches`. Same bytes,
    /// same key: exporting again overwrites the object with itself.
    pub fn export(tp: &TopicPartition, first: i64, last: i64, crc: u32) -> ObjectKey {
        ObjectKey(format!(
            "{}{}/{}/{first:020}-{last:020}-{crc:08x}.batches",
            Self::EXPORT_PREFIX,
            tp.topic,
            tp.partition
        ))
    }

    /// Prefix of quarantined copies of rejected sources.
    pub const QUARANTINE_PREFIX: &'static str = "quarantine/";

    /// The key of the quarantined copy of `source`: `quarantine/<source>`, or
    /// `quarantine/overlong-<crc32c of source as 8 hex digits>` when that would exceed 1024 bytes.
    pub fn quarantine(source: &ObjectKey) -> ObjectKey {
        let full = format!("{}{source}", Self::QUARANTINE_PREFIX);
        if full.len() <= 1024 {
            return ObjectKey(full);
        }
        let crc = crc32c::crc32c(source.as_str().as_bytes());
        ObjectKey(format!("{}overlong-{crc:08x}", Self::QUARANTINE_PREFIX))
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = InvalidValue;
    fn try_from(key: String) -> Result<Self, InvalidValue> {
        let bad = |reason: &str| Err(InvalidValue::new("object key", &key, reason));
        if key.is_empty() || key.len() > 1024 {
            return bad("must be 1 to 1024 bytes");
        }
        if key.chars().any(char::is_control) || key.contains('\\') {
            return bad("control characters and backslashes are not allowed");
        }
        if key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return bad("path segments must not be empty, '.' or '..'");
        }
        Ok(ObjectKey(key))
    }
}

impl FromStr for ObjectKey {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        ObjectKey::try_from(s.to_owned())
    }
}

impl From<ObjectKey> for String {
    fn from(k: ObjectKey) -> String {
        k.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_cannot_escape_their_root() {
        for bad in [
            "", "/abs", "a//b", "a/../b", "..", "a/.", "a\tb", "a\nb", "a\\b",
        ] {
            assert!(bad.parse::<ObjectKey>().is_err(), "{bad:?}");
        }
        for good in [
            "archives/t/0/x.tar.gz",
            "wal/a b.wal",
            "wal/tr\u{e9}s:1.wal",
        ] {
            assert!(good.parse::<ObjectKey>().is_ok(), "{good:?}");
        }
    }

    #[test]
    fn quarantine_keys_are_valid_for_any_source() {
        let short: ObjectKey = "wal/a.wal".parse().unwrap();
        assert_eq!(
            ObjectKey::quarantine(&short).as_str(),
            "quarantine/wal/a.wal"
        );
        let long: ObjectKey = "a/".repeat(511).trim_end_matches('/').parse().unwrap();
        let q = ObjectKey::quarantine(&long);
        assert!(q.as_str().starts_with("quarantine/overlong-"));
        assert_eq!(ObjectKey::try_from(q.to_string()), Ok(q));
    }

    #[test]
    fn archive_keys_are_valid_and_ordered() {
        let tp = TopicPartition::from_log_dir_name("orders-3").unwrap();
        let id = SegmentId::new(
            Offset::try_from(5).unwrap(),
            Offset::try_from(9).unwrap(),
            0xab,
        );
        let key = ObjectKey::archive(&tp, &id, 0xbeef);
        assert_eq!(
            key.as_str(),
            "archives/orders/3/00000000000000000005-00000000000000000009-000000ab.000000000000beef.tar.gz"
        );
        assert!(key.as_str().parse::<ObjectKey>().is_ok());
        assert_eq!(SegmentId::try_from(id.to_string()), Ok(id));
        assert!(SegmentId::try_from("1-2-3".to_owned()).is_err());
    }
}
