//! Item layout of the single catalog table, and conversions between items and catalog values.
//!
//! | item      | `pk`                                 | `sk`                  | other attributes |
//! |-----------|--------------------------------------|-----------------------|------------------|
//! | partition | `p#<topic>#<partition, 10 digits>`   | `meta`                | `version` N, `topic` S, `partition` N, `segment_count` N, `record_count` N, `data_bytes` N, `archive_bytes` N, and while `segment_count > 0`: `earliest` N, `latest` N, `min_timestamp` N, `max_timestamp` N |
//! | segment   | same as its partition                | `seg#<last offset, 20 digits>` | every [`SegmentEntry`] field: `id` S, `topic` S, `partition` N, `base_offset` N, `last_offset` N, `record_count` N, `batch_count` N, `min_timestamp` N, `max_timestamp` N, `data_bytes` N, `archive_key` S, `archive_size` N, `toc` B, `source` S, `created_at_ms` N; `txns` B (version 1 + bincode of the facts, `docs/FORMATS.md` "Transaction facts") when it has any |
//! | ledger    | `src#<source id>`                    | `ledger`              | `status` S (`indexed` / `quarantined`), `reason` S and `copy` S (quarantined only), `segments` L of S, `at_ms` N, `expires_at` N (TTL: `at_ms` in seconds + 30 days) |
//!
//! Zero-padded offsets make the sort-key order the offset order, and `seg#~` sorts after every segment
//! (`~` is above every digit), so "segments with last offset >= X" is `sk BETWEEN seg#<X> AND seg#~`.
//! Decoding never panics: a missing or mistyped attribute is [`CatalogError::Corrupt`] naming it.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::catalog::{
    CatalogError, CatalogResult, IngestRecord, IngestStatus, PartitionInfo, SegmentEntry,
};
use crate::txn::{MAX_TXN_FACTS, TxnFacts};
use crate::types::{Offset, SegmentId, TopicPartition};

/// A DynamoDB item.
pub(super) type Item = HashMap<String, AttributeValue>;

/// Sort key of a partition's summary item.
pub(super) const META_SK: &str = "meta";
/// Sort key of a ledger item.
pub(super) const LEDGER_SK: &str = "ledger";
/// Upper bound of every segment sort key.
pub(super) const SEGMENT_SK_END: &str = "seg#~";
/// Prefix of every segment sort key.
pub(super) const SEGMENT_SK_PREFIX: &str = "seg#";
/// How long ledger items live (DynamoDB TTL on `expires_at`).
pub(super) const LEDGER_TTL_SECS: i64 = 30 * 24 * 3600;

/// Partition key shared by a partition's summary and segments.
pub(super) fn partition_pk(tp: &TopicPartition) -> String {
    format!("p#{}#{:010}", tp.topic, tp.partition.get())
}

/// Sort key of the segment whose last offset is `last`.
pub(super) fn segment_sk(last: Offset) -> String {
    format!("{SEGMENT_SK_PREFIX}{}", last.padded())
}

/// Partition key of a source's ledger item.
pub(super) fn ledger_pk(source: &str) -> String {
    format!("src#{source}")
}

/// The primary key `{pk, sk}`.
pub(super) fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The partition item's state: its version, and its summary while it has segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Meta {
    pub version: u64,
    pub info: Option<PartitionInfo>,
}

/// Reads typed attributes of one item, naming the item and attribute in errors.
pub(super) struct Fields<'a> {
    pub item: &'a Item,
}

impl<'a> Fields<'a> {
    fn corrupt(&self, name: &str, expected: &str) -> CatalogError {
        let key = |k: &str| {
            self.item
                .get(k)
                .and_then(|v| v.as_s().ok())
                .map_or("?", |v| v)
        };
        CatalogError::Corrupt(format!(
            "DynamoDB item {}/{}: attribute `{name}` is missing or not {expected}",
            key("pk"),
            key("sk")
        ))
    }

    pub(super) fn str(&self, name: &str) -> CatalogResult<&'a str> {
        match self.item.get(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            _ => Err(self.corrupt(name, "a string (S)")),
        }
    }

    pub(super) fn num<T: FromStr>(&self, name: &str) -> CatalogResult<T> {
        match self.item.get(name) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| self.corrupt(name, "a number (N) in range")),
            _ => Err(self.corrupt(name, "a number (N)")),
        }
    }

    fn bytes(&self, name: &str) -> CatalogResult<&'a [u8]> {
        match self.item.get(name) {
            Some(AttributeValue::B(v)) => Ok(v.as_ref()),
            _ => Err(self.corrupt(name, "binary (B)")),
        }
    }

    fn strings(&self, name: &str) -> CatalogResult<Vec<&'a str>> {
        match self.item.get(name) {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| v.as_s().map(String::as_str))
                .collect::<Result<_, _>>()
                .map_err(|_| self.corrupt(name, "a list (L) of strings")),
            _ => Err(self.corrupt(name, "a list (L)")),
        }
    }

    fn parsed<T: TryFrom<String>>(&self, name: &str, raw: impl Into<String>) -> CatalogResult<T> {
        T::try_from(raw.into()).map_err(|_| self.corrupt(name, "a valid value"))
    }

    fn offset(&self, name: &str) -> CatalogResult<Offset> {
        Offset::try_from(self.num::<i64>(name)?).map_err(|_| self.corrupt(name, "an offset"))
    }

    /// The `txns` attribute: none when absent; valid facts within the segment's offsets.
    fn txns(&self) -> CatalogResult<TxnFacts> {
        if !self.item.contains_key("txns") {
            return Ok(TxnFacts::default());
        }
        let facts = decode_txns(self.bytes("txns")?)
            .ok_or_else(|| self.corrupt("txns", "transaction facts (version 1)"))?;
        let (base, last) = (self.num("base_offset")?, self.num("last_offset")?);
        facts
            .validate(base, last)
            .map_err(|_| self.corrupt("txns", "transaction facts within the segment"))?;
        Ok(facts)
    }

    pub(super) fn tp(&self) -> CatalogResult<TopicPartition> {
        let topic = self.parsed("topic", self.str("topic")?)?;
        let partition = self.num::<i64>("partition")?;
        let partition = partition
            .try_into()
            .map_err(|_| self.corrupt("partition", "a partition number"))?;
        Ok(TopicPartition::new(topic, partition))
    }
}

/// Version byte of the `txns` attribute.
const TXNS_VERSION: u8 = 1;

/// The `txns` attribute's bytes: [`TXNS_VERSION`], then the facts in bincode 2's standard
/// configuration (the embedded catalog's encoding of the same field).
fn encode_txns(facts: &TxnFacts) -> Vec<u8> {
    let mut out = vec![TXNS_VERSION];
    // Integers and sequences of them always encode.
    if let Ok(body) = bincode::serde::encode_to_vec(facts, bincode::config::standard()) {
        out.extend(body);
    }
    out
}

/// The facts of a `txns` attribute, if it is version 1 and decodes (at most about
/// [`MAX_TXN_FACTS`] facts' worth of bytes are decoded: a longer claim is refused unread).
fn decode_txns(bytes: &[u8]) -> Option<TxnFacts> {
    let (&TXNS_VERSION, body) = bytes.split_first()? else {
        return None;
    };
    let config = bincode::config::standard().with_limit::<{ 24 * MAX_TXN_FACTS + 64 }>();
    bincode::serde::decode_from_slice(body, config)
        .ok()
        .map(|(facts, _)| facts)
}

/// The item of segment `seg`.
pub(super) fn segment_item(seg: &SegmentEntry) -> Item {
    let mut item = key(partition_pk(&seg.tp), segment_sk(seg.last_offset));
    item.extend([
        ("id".to_owned(), s(seg.id.as_str())),
        ("topic".to_owned(), s(seg.tp.topic.as_str())),
        ("partition".to_owned(), n(seg.tp.partition.get())),
        ("base_offset".to_owned(), n(seg.base_offset)),
        ("last_offset".to_owned(), n(seg.last_offset)),
        ("record_count".to_owned(), n(seg.record_count)),
        ("batch_count".to_owned(), n(seg.batch_count)),
        ("min_timestamp".to_owned(), n(seg.min_timestamp)),
        ("max_timestamp".to_owned(), n(seg.max_timestamp)),
        ("data_bytes".to_owned(), n(seg.data_bytes)),
        ("archive_key".to_owned(), s(seg.archive_key.as_str())),
        ("archive_size".to_owned(), n(seg.archive_size)),
        (
            "toc".to_owned(),
            AttributeValue::B(Blob::new(seg.toc.clone())),
        ),
        ("source".to_owned(), s(seg.source.as_str())),
        ("created_at_ms".to_owned(), n(seg.created_at_ms)),
    ]);
    if !seg.txns.is_empty() {
        item.insert(
            "txns".to_owned(),
            AttributeValue::B(Blob::new(encode_txns(&seg.txns))),
        );
    }
    item
}

/// Decodes a segment item.
pub(super) fn segment_from_item(item: &Item) -> CatalogResult<SegmentEntry> {
    let f = Fields { item };
    Ok(SegmentEntry {
        id: f.parsed::<SegmentId>("id", f.str("id")?)?,
        tp: f.tp()?,
        base_offset: f.offset("base_offset")?,
        last_offset: f.offset("last_offset")?,
        record_count: f.num("record_count")?,
        batch_count: f.num("batch_count")?,
        min_timestamp: f.num("min_timestamp")?,
        max_timestamp: f.num("max_timestamp")?,
        data_bytes: f.num("data_bytes")?,
        archive_key: f.parsed("archive_key", f.str("archive_key")?)?,
        archive_size: f.num("archive_size")?,
        toc: f.bytes("toc")?.to_vec(),
        source: f.str("source")?.to_owned(),
        created_at_ms: f.num("created_at_ms")?,
        txns: f.txns()?,
    })
}

/// Decodes a partition item; `info` is `None` when it has no segments.
pub(super) fn meta_from_item(item: &Item) -> CatalogResult<Meta> {
    let f = Fields { item };
    let version = f.num("version")?;
    let segment_count: u64 = f.num("segment_count")?;
    if segment_count == 0 {
        return Ok(Meta {
            version,
            info: None,
        });
    }
    let info = PartitionInfo {
        tp: f.tp()?,
        version,
        earliest: f.offset("earliest")?,
        latest: f.offset("latest")?,
        segment_count,
        record_count: f.num("record_count")?,
        data_bytes: f.num("data_bytes")?,
        archive_bytes: f.num("archive_bytes")?,
        min_timestamp: f.num("min_timestamp")?,
        max_timestamp: f.num("max_timestamp")?,
    };
    Ok(Meta {
        version,
        info: Some(info),
    })
}

/// The ledger item of `record`.
pub(super) fn ledger_item(record: &IngestRecord) -> Item {
    let mut item = key(ledger_pk(&record.source), LEDGER_SK.to_owned());
    let segments = record.segments.iter().map(|id| s(id.as_str())).collect();
    item.extend([
        ("segments".to_owned(), AttributeValue::L(segments)),
        ("at_ms".to_owned(), n(record.at_ms)),
        (
            "expires_at".to_owned(),
            n(record
                .at_ms
                .div_euclid(1000)
                .saturating_add(LEDGER_TTL_SECS)),
        ),
    ]);
    match &record.status {
        IngestStatus::Indexed => {
            item.insert("status".to_owned(), s("indexed"));
        }
        IngestStatus::Quarantined { reason, copy } => {
            item.insert("status".to_owned(), s("quarantined"));
            item.insert("reason".to_owned(), s(reason.as_str()));
            item.insert("copy".to_owned(), s(copy.as_str()));
        }
    }
    item
}

/// Decodes a ledger item.
pub(super) fn ledger_from_item(item: &Item) -> CatalogResult<IngestRecord> {
    let f = Fields { item };
    let source = f
        .str("pk")?
        .strip_prefix("src#")
        .ok_or_else(|| f.corrupt("pk", "a ledger key (src#...)"))?;
    let status = match f.str("status")? {
        "indexed" => IngestStatus::Indexed,
        "quarantined" => IngestStatus::Quarantined {
            reason: f.str("reason")?.to_owned(),
            copy: f.str("copy")?.to_owned(),
        },
        _ => return Err(f.corrupt("status", "\"indexed\" or \"quarantined\"")),
    };
    let segments = f
        .strings("segments")?
        .into_iter()
        .map(|id| f.parsed::<SegmentId>("segments", id))
        .collect::<CatalogResult<_>>()?;
    Ok(IngestRecord {
        source: source.to_owned(),
        status,
        segments,
        at_ms: f.num("at_ms")?,
    })
}
