use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    Catalog, CatalogError, CatalogResult, CommittedOffset, IngestRecord, PartitionInfo,
    RegisterOutcome, RetiredArchive, SegmentEntry,
};
use crate::types::{GroupId, ObjectKey, Offset, SegmentId, TopicPartition};

/// Segments keyed by `<topic>\0<partition, 10 digits>\0<last offset, 20 digits>` so that "first segment
/// with last offset >= X" is one range lookup (the same design as the DynamoDB sort key).
const SEGMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("segments_v1");
/// Partition versions keyed by `<topic>\0<partition, 10 digits>`.
const VERSIONS: TableDefinition<&str, u64> = TableDefinition::new("partition_versions_v1");
/// Ingest ledger keyed by source id.
const LEDGER: TableDefinition<&str, &[u8]> = TableDefinition::new("ledger_v1");
/// Committed offsets keyed by `<group>\0<topic>\0<partition, 10 digits>` (a group's offsets are
/// one prefix; group ids hold no control character, so no NUL).
const GROUP_OFFSETS: TableDefinition<&str, &[u8]> = TableDefinition::new("group_offsets_v1");
/// Retired archives: archive key → when it was retired (ms since the epoch).
const RETIRED: TableDefinition<&str, i64> = TableDefinition::new("retired_v1");

/// Version byte in front of every encoded value.
const VALUE_VERSION: u8 = 1;

/// Version byte of an encoded segment: 2 since segments carry transaction facts; a segment of
/// version 1 (written before) reads back with none.
const SEGMENT_VERSION: u8 = 2;

/// A segment as version 1 encoded it: every field of [`SegmentEntry`] but `txns`, in order.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct SegmentEntryV1 {
    id: SegmentId,
    tp: TopicPartition,
    base_offset: Offset,
    last_offset: Offset,
    record_count: u64,
    batch_count: u64,
    min_timestamp: i64,
    max_timestamp: i64,
    data_bytes: u64,
    archive_key: ObjectKey,
    archive_size: u64,
    toc: Vec<u8>,
    source: String,
    created_at_ms: i64,
}

impl From<SegmentEntryV1> for SegmentEntry {
    fn from(v: SegmentEntryV1) -> SegmentEntry {
        SegmentEntry {
            id: v.id,
            tp: v.tp,
            base_offset: v.base_offset,
            last_offset: v.last_offset,
            record_count: v.record_count,
            batch_count: v.batch_count,
            min_timestamp: v.min_timestamp,
            max_timestamp: v.max_timestamp,
            data_bytes: v.data_bytes,
            archive_key: v.archive_key,
            archive_size: v.archive_size,
            toc: v.toc,
            source: v.source,
            created_at_ms: v.created_at_ms,
            txns: Default::default(),
        }
    }
}

/// The embedded default catalog: a redb database file (ACID, single writer, many readers).
#[derive(Debug, Clone)]
pub struct EmbeddedCatalog {
    db: Arc<Database>,
}

fn db_err(e: impl Into<redb::Error>) -> CatalogError {
    CatalogError::backend(e.into())
}

fn partition_prefix(tp: &TopicPartition) -> String {
    format!("{}\0{:010}\0", tp.topic, tp.partition.get())
}

fn segment_key(tp: &TopicPartition, last: Offset) -> String {
    format!("{}{}", partition_prefix(tp), last.padded())
}

fn encode<T: Serialize>(value: &T) -> CatalogResult<Vec<u8>> {
    encode_as(VALUE_VERSION, value)
}

fn encode_as<T: Serialize>(version: u8, value: &T) -> CatalogResult<Vec<u8>> {
    let mut out = vec![version];
    out.extend(
        bincode::serde::encode_to_vec(value, bincode::config::standard())
            .map_err(CatalogError::backend)?,
    );
    Ok(out)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> CatalogResult<T> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, body)) => {
            bincode::serde::decode_from_slice(body, bincode::config::standard())
                .map(|(v, _)| v)
                .map_err(|e| CatalogError::Corrupt(e.to_string()))
        }
        Some((v, _)) => Err(CatalogError::Corrupt(format!("unknown value version {v}"))),
        None => Err(CatalogError::Corrupt("empty value".into())),
    }
}

fn decode_segment(bytes: &[u8]) -> CatalogResult<SegmentEntry> {
    let body = |version| {
        bytes
            .split_first()
            .filter(|(v, _)| **v == version)
            .map(|(_, body)| body)
    };
    let entry: SegmentEntry = if let Some(body) = body(SEGMENT_VERSION) {
        bincode::serde::decode_from_slice(body, bincode::config::standard())
            .map(|(v, _)| v)
            .map_err(|e| CatalogError::Corrupt(e.to_string()))?
    } else if let Some(body) = body(VALUE_VERSION) {
        bincode::serde::decode_from_slice::<SegmentEntryV1, _>(body, bincode::config::standard())
            .map(|(v, _)| v.into())
            .map_err(|e| CatalogError::Corrupt(e.to_string()))?
    } else {
        return Err(CatalogError::Corrupt(format!(
            "unknown segment value version {:?}",
            bytes.first()
        )));
    };
    let (base, last) = (entry.base_offset.get(), entry.last_offset.get());
    entry
        .txns
        .validate(base, last)
        .map_err(|e| CatalogError::Corrupt(format!("segment {}: transactions: {e}", entry.id)))?;
    Ok(entry)
}

/// Segments of `tp` from the first whose last offset is `>= from`, in offset order.
fn scan<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    tp: &TopicPartition,
    from: Offset,
) -> CatalogResult<Vec<SegmentEntry>> {
    let prefix = partition_prefix(tp);
    let start = segment_key(tp, from);
    let mut out = Vec::new();
    for item in table.range(start.as_str()..).map_err(db_err)? {
        let (k, v) = item.map_err(db_err)?;
        if !k.value().starts_with(&prefix) {
            break;
        }
        out.push(decode_segment(v.value())?);
    }
    Ok(out)
}

fn version_of(txn: &redb::WriteTransaction, tp: &TopicPartition) -> CatalogResult<u64> {
    let versions = txn.open_table(VERSIONS).map_err(db_err)?;
    let v = versions
        .get(partition_prefix(tp).as_str())
        .map_err(db_err)?;
    Ok(v.map(|g| g.value()).unwrap_or(0))
}

/// Inserts `seg` unless an identical segment is committed; fails on any other overlap.
/// Returns whether it was inserted.
fn insert_segment(
    table: &mut Table<&'static str, &'static [u8]>,
    seg: &SegmentEntry,
) -> CatalogResult<bool> {
    let overlapping: Vec<SegmentEntry> = scan(table, &seg.tp, seg.base_offset)?
        .into_iter()
        .take_while(|s| s.base_offset <= seg.last_offset)
        .collect();
    match overlapping.as_slice() {
        [] => {
            table
                .insert(
                    segment_key(&seg.tp, seg.last_offset).as_str(),
                    encode_as(SEGMENT_VERSION, seg)?.as_slice(),
                )
                .map_err(db_err)?;
            Ok(true)
        }
        [same] if same.id == seg.id => Ok(false),
        [first, ..] => Err(CatalogError::Conflict {
            tp: seg.tp.clone(),
            new: seg.id.clone(),
            existing: first.id.clone(),
        }),
    }
}

fn bump_version(txn: &redb::WriteTransaction, tp: &TopicPartition) -> CatalogResult<u64> {
    let next = version_of(txn, tp)? + 1;
    let mut versions = txn.open_table(VERSIONS).map_err(db_err)?;
    versions
        .insert(partition_prefix(tp).as_str(), next)
        .map_err(db_err)?;
    Ok(next)
}

impl EmbeddedCatalog {
    /// Opens (or creates) the catalog database at `path`.
    pub fn open(path: impl AsRef<Path>) -> CatalogResult<Self> {
        let db = Database::create(path.as_ref()).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(SEGMENTS).map_err(db_err)?;
        txn.open_table(VERSIONS).map_err(db_err)?;
        txn.open_table(LEDGER).map_err(db_err)?;
        txn.open_table(RETIRED).map_err(db_err)?;
        txn.open_table(GROUP_OFFSETS).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(EmbeddedCatalog { db: Arc::new(db) })
    }

    /// Runs blocking database work off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> CatalogResult<T> + Send + 'static,
    ) -> CatalogResult<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(CatalogError::backend)?
    }

    async fn read_segments(
        &self,
        tp: &TopicPartition,
        from: Offset,
    ) -> CatalogResult<Vec<SegmentEntry>> {
        let tp = tp.clone();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            scan(&txn.open_table(SEGMENTS).map_err(db_err)?, &tp, from)
        })
        .await
    }

    async fn read_version(&self, tp: &TopicPartition) -> CatalogResult<u64> {
        let key = partition_prefix(tp);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(VERSIONS).map_err(db_err)?;
            Ok(table
                .get(key.as_str())
                .map_err(db_err)?
                .map(|g| g.value())
                .unwrap_or(0))
        })
        .await
    }
}

#[async_trait]
impl Catalog for EmbeddedCatalog {
    async fn register(
        &self,
        ingest: &IngestRecord,
        segments: &[SegmentEntry],
    ) -> CatalogResult<RegisterOutcome> {
        let (ingest, segments) = (ingest.clone(), segments.to_vec());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            let mut outcome = RegisterOutcome {
                added: 0,
                already_present: Vec::new(),
            };
            let mut changed: Vec<&TopicPartition> = Vec::new();
            {
                let mut table = txn.open_table(SEGMENTS).map_err(db_err)?;
                for seg in &segments {
                    if insert_segment(&mut table, seg)? {
                        outcome.added += 1;
                        if !changed.contains(&&seg.tp) {
                            changed.push(&seg.tp);
                        }
                    } else {
                        outcome.already_present.push(seg.id.clone());
                    }
                }
            }
            for tp in changed {
                bump_version(&txn, tp)?;
            }
            txn.open_table(LEDGER)
                .map_err(db_err)?
                .insert(ingest.source.as_str(), encode(&ingest)?.as_slice())
                .map_err(db_err)?;
            txn.commit().map_err(db_err)?;
            Ok(outcome)
        })
        .await
    }

    async fn ingest_record(&self, source: &str) -> CatalogResult<Option<IngestRecord>> {
        let source = source.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(LEDGER).map_err(db_err)?;
            let found = table.get(source.as_str()).map_err(db_err)?;
            found.map(|v| decode(v.value())).transpose()
        })
        .await
    }

    async fn record_ingest(&self, record: &IngestRecord) -> CatalogResult<()> {
        let record = record.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            txn.open_table(LEDGER)
                .map_err(db_err)?
                .insert(record.source.as_str(), encode(&record)?.as_slice())
                .map_err(db_err)?;
            txn.commit().map_err(db_err)
        })
        .await
    }

    async fn partition(&self, tp: &TopicPartition) -> CatalogResult<Option<PartitionInfo>> {
        let segments = self.read_segments(tp, Offset::ZERO).await?;
        let version = self.read_version(tp).await?;
        Ok(PartitionInfo::summarize(tp, version, &segments))
    }

    async fn partitions(&self) -> CatalogResult<Vec<PartitionInfo>> {
        let all: Vec<SegmentEntry> = self
            .blocking(|db| {
                let txn = db.begin_read().map_err(db_err)?;
                let table = txn.open_table(SEGMENTS).map_err(db_err)?;
                let mut out = Vec::new();
                for item in table.iter().map_err(db_err)? {
                    out.push(decode_segment(item.map_err(db_err)?.1.value())?);
                }
                Ok(out)
            })
            .await?;
        let mut infos = Vec::new();
        for group in all.chunk_by(|a, b| a.tp == b.tp) {
            let tp = &group[0].tp;
            let version = self.read_version(tp).await?;
            infos.extend(PartitionInfo::summarize(tp, version, group));
        }
        infos.sort_by(|a, b| a.tp.cmp(&b.tp));
        Ok(infos)
    }

    async fn segment_covering(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> CatalogResult<Option<SegmentEntry>> {
        Ok(self.read_segments(tp, offset).await?.into_iter().next())
    }

    async fn segment_for_timestamp(
        &self,
        tp: &TopicPartition,
        timestamp_ms: i64,
    ) -> CatalogResult<Option<SegmentEntry>> {
        let segments = self.read_segments(tp, Offset::ZERO).await?;
        Ok(segments
            .into_iter()
            .find(|s| s.max_timestamp >= timestamp_ms))
    }

    async fn segments(&self, tp: &TopicPartition) -> CatalogResult<Vec<SegmentEntry>> {
        self.read_segments(tp, Offset::ZERO).await
    }

    async fn swap_segments(
        &self,
        tp: &TopicPartition,
        expected_version: u64,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        retired_at_ms: i64,
    ) -> CatalogResult<u64> {
        let (tp, remove, add) = (tp.clone(), remove.to_vec(), add.to_vec());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            let actual = version_of(&txn, &tp)?;
            if actual != expected_version {
                return Err(CatalogError::VersionMismatch {
                    tp,
                    expected: expected_version,
                    actual,
                });
            }
            {
                let mut table = txn.open_table(SEGMENTS).map_err(db_err)?;
                let mut retired = txn.open_table(RETIRED).map_err(db_err)?;
                let current = scan(&table, &tp, Offset::ZERO)?;
                for id in &remove {
                    let seg = current.iter().find(|s| &s.id == id).ok_or_else(|| {
                        CatalogError::UnknownSegment {
                            tp: tp.clone(),
                            id: id.clone(),
                        }
                    })?;
                    table
                        .remove(segment_key(&tp, seg.last_offset).as_str())
                        .map_err(db_err)?;
                    retired
                        .insert(seg.archive_key.as_str(), retired_at_ms)
                        .map_err(db_err)?;
                }
                for seg in &add {
                    if seg.tp != tp {
                        return Err(CatalogError::backend(format!(
                            "segment {} belongs to {}, not {tp}",
                            seg.id, seg.tp
                        )));
                    }
                    insert_segment(&mut table, seg)?;
                }
            }
            let version = bump_version(&txn, &tp)?;
            txn.commit().map_err(db_err)?;
            Ok(version)
        })
        .await
    }

    async fn retired_archives(&self) -> CatalogResult<Vec<RetiredArchive>> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(RETIRED).map_err(db_err)?;
            let mut out = Vec::new();
            for item in table.iter().map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                let key = k
                    .value()
                    .parse()
                    .map_err(|e| CatalogError::Corrupt(format!("{e}")))?;
                out.push(RetiredArchive {
                    key,
                    retired_at_ms: v.value(),
                });
            }
            Ok(out)
        })
        .await
    }

    async fn forget_retired(&self, keys: &[ObjectKey]) -> CatalogResult<()> {
        let keys = keys.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            {
                let mut table = txn.open_table(RETIRED).map_err(db_err)?;
                for key in &keys {
                    table.remove(key.as_str()).map_err(db_err)?;
                }
            }
            txn.commit().map_err(db_err)
        })
        .await
    }

    async fn record_retired(&self, archives: &[RetiredArchive]) -> CatalogResult<()> {
        let archives = archives.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            {
                let mut table = txn.open_table(RETIRED).map_err(db_err)?;
                for archive in &archives {
                    table
                        .insert(archive.key.as_str(), archive.retired_at_ms)
                        .map_err(db_err)?;
                }
            }
            txn.commit().map_err(db_err)
        })
        .await
    }

    async fn commit_offsets(
        &self,
        group: &GroupId,
        offsets: &[CommittedOffset],
    ) -> CatalogResult<()> {
        let (group, offsets) = (group.clone(), offsets.to_vec());
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(db_err)?;
            {
                let mut table = txn.open_table(GROUP_OFFSETS).map_err(db_err)?;
                for o in &offsets {
                    let key = format!("{}\0{}", group, partition_prefix(&o.tp));
                    table
                        .insert(key.as_str(), encode(o)?.as_slice())
                        .map_err(db_err)?;
                }
            }
            txn.commit().map_err(db_err)
        })
        .await
    }

    async fn committed_offsets(&self, group: &GroupId) -> CatalogResult<Vec<CommittedOffset>> {
        let prefix = format!("{group}\0");
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(GROUP_OFFSETS).map_err(db_err)?;
            let mut out = Vec::new();
            for item in table.range(prefix.as_str()..).map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                if !k.value().starts_with(&prefix) {
                    break;
                }
                out.push(decode::<CommittedOffset>(v.value())?);
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_written_before_transaction_facts_reads_back_with_none() {
        let tp = TopicPartition::from_log_dir_name("old-0").unwrap();
        let now = crate::testing::catalog_suite::segment(&tp, 0, 9, 4);
        let old = SegmentEntryV1 {
            id: now.id.clone(),
            tp: now.tp.clone(),
            base_offset: now.base_offset,
            last_offset: now.last_offset,
            record_count: now.record_count,
            batch_count: now.batch_count,
            min_timestamp: now.min_timestamp,
            max_timestamp: now.max_timestamp,
            data_bytes: now.data_bytes,
            archive_key: now.archive_key.clone(),
            archive_size: now.archive_size,
            toc: now.toc.clone(),
            source: now.source.clone(),
            created_at_ms: now.created_at_ms,
        };
        let bytes = encode_as(1, &old).unwrap();
        let read = decode_segment(&bytes).unwrap();
        assert_eq!(
            read,
            SegmentEntry {
                txns: Default::default(),
                ..now.clone()
            }
        );
        let current = encode_as(SEGMENT_VERSION, &now).unwrap();
        assert_eq!(decode_segment(&current).unwrap(), now);
        assert!(matches!(
            decode_segment(&[3, 0]),
            Err(CatalogError::Corrupt(_))
        ));
    }

    crate::catalog_test_suite!({
        let dir = tempfile::tempdir().unwrap();
        let catalog = EmbeddedCatalog::open(dir.path().join("catalog.redb")).unwrap();
        (catalog, dir)
    });
}
