//! The broker-host side: finding sealed segments in a Chronik data directory or an Apache Kafka
//! log directory, and shipping each to the object store exactly once.
//!
//! Layouts recognised under a directory `DIR`:
//! - Chronik: `DIR/wal/<topic>/<partition>/wal_<partition>_<n>.log` (or `DIR` itself the `wal/`
//!   directory); `__*` directories hold no Kafka data and are skipped. Shipped as
//!   `chronik-wal/<topic>/<partition>/wal_<partition>_<n>.log`.
//! - Kafka: `DIR/<topic>-<partition>/<20-digit base offset>.log`. Shipped as
//!   `kafka-logs/<topic>-<partition>/<name>.log`.
//!
//! **Sealed** means a higher-numbered segment of the same partition exists: brokers append only
//! to their highest-numbered segment, so that one (the active segment) is never taken.
//!
//! **Exactly once**: a [`ShipLedger`] remembers every key shipped with its size and CRC-32C. A
//! segment is uploaded only if the ledger lacks it and the store holds no object of that size
//! under its key (which covers a crash between the upload and the ledger write); re-uploading the
//! same bytes would be harmless anyway (the indexer's ledger keys on the object's version).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::chronik::SegmentPath;
use crate::store::{ObjectStore, StoreError, StoreErrorKind};
use crate::types::{ObjectKey, TopicPartition};

/// Key prefix of shipped Chronik WAL segments (the indexer's S3 trigger filter).
pub const CHRONIK_PREFIX: &str = "chronik-wal/";
/// Key prefix of shipped Kafka `.log` segments.
pub const KAFKA_PREFIX: &str = "kafka-logs/";

/// Which broker wrote a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerLayout {
    /// A Chronik broker's data WAL.
    Chronik,
    /// An Apache Kafka log directory.
    Kafka,
}

/// One segment file found on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalSegment {
    /// Where it is.
    pub path: PathBuf,
    /// Its partition, from the layout.
    pub tp: TopicPartition,
    /// Who wrote it.
    pub layout: BrokerLayout,
    /// Its number within the partition (Chronik's segment id, Kafka's base offset).
    pub sequence: u64,
    /// Size in bytes when scanned.
    pub size: u64,
    /// Whether a higher-numbered segment of the partition exists.
    pub sealed: bool,
    /// The key it is shipped under.
    pub key: ObjectKey,
}

/// Why scanning or shipping failed.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    /// A directory or file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Nothing under the directory follows a known layout.
    #[error(
        "{0}: neither a Chronik data directory (wal/<topic>/<partition>/) nor a Kafka log directory (<topic>-<partition>/)"
    )]
    UnknownLayout(PathBuf),
    /// The ledger file does not parse.
    #[error("ship ledger {path}: {reason}")]
    Ledger {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The object store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ShipError + '_ {
    move |source| ShipError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn dir_entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>, ShipError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let is_dir = entry.file_type().map_err(io(dir))?.is_dir();
        let name = entry.file_name().to_string_lossy().into_owned();
        out.push((name, entry.path(), is_dir));
    }
    out.sort();
    Ok(out)
}

/// Every segment under `dir` (see the module docs), sealed or not, in partition and sequence
/// order.
pub fn scan(dir: &Path) -> Result<Vec<LocalSegment>, ShipError> {
    let wal = dir.join("wal");
    let root = if wal.is_dir() { wal } else { dir.to_path_buf() };
    let mut found: Vec<LocalSegment> = Vec::new();
    let mut recognised = false;
    for (name, path, is_dir) in dir_entries(&root)? {
        if !is_dir || !crate::chronik::is_data_topic_dir(&name) {
            continue;
        }
        if let Ok(tp) = TopicPartition::from_log_dir_name(&name) {
            recognised = true;
            found.extend(kafka_partition(&path, &tp)?);
            continue;
        }
        for (pname, ppath, pdir) in dir_entries(&path)? {
            if !pdir || pname.is_empty() || !pname.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            recognised = true;
            found.extend(chronik_partition(&ppath, &name, &pname)?);
        }
    }
    if !recognised {
        return Err(ShipError::UnknownLayout(dir.to_path_buf()));
    }
    found.sort_by(|a, b| (&a.tp, a.sequence).cmp(&(&b.tp, b.sequence)));
    // All but the highest-numbered segment of each partition are sealed.
    for i in 0..found.len() {
        found[i].sealed = found.get(i + 1).is_some_and(|next| next.tp == found[i].tp);
    }
    Ok(found)
}

/// A segment file found at `path`, shipped under `key`.
fn local_segment(
    path: PathBuf,
    key: String,
    tp: TopicPartition,
    layout: BrokerLayout,
    sequence: u64,
) -> Result<LocalSegment, ShipError> {
    let size = std::fs::metadata(&path).map_err(io(&path))?.len();
    let key: ObjectKey = key.parse().map_err(|e| ShipError::Io {
        path: path.clone(),
        source: std::io::Error::other(format!("cannot be shipped: {e}")),
    })?;
    Ok(LocalSegment {
        path,
        tp,
        layout,
        sequence,
        size,
        sealed: false,
        key,
    })
}

fn chronik_partition(
    dir: &Path,
    topic: &str,
    partition: &str,
) -> Result<Vec<LocalSegment>, ShipError> {
    let mut out = Vec::new();
    for (name, path, is_dir) in dir_entries(dir)? {
        let tail = format!("{topic}/{partition}/{name}");
        let Some(seg) = (!is_dir).then(|| SegmentPath::parse(&tail)).flatten() else {
            continue;
        };
        let key = format!("{CHRONIK_PREFIX}{tail}");
        out.push(local_segment(
            path,
            key,
            seg.tp,
            BrokerLayout::Chronik,
            seg.segment_id,
        )?);
    }
    Ok(out)
}

fn kafka_partition(dir: &Path, tp: &TopicPartition) -> Result<Vec<LocalSegment>, ShipError> {
    let mut out = Vec::new();
    let dir_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (name, path, is_dir) in dir_entries(dir)? {
        // Kafka names segments by their base offset, 20 digits.
        let Some(base) = name
            .strip_suffix(".log")
            .filter(|stem| !is_dir && stem.len() == 20)
            .and_then(|stem| stem.parse::<u64>().ok())
        else {
            continue;
        };
        let key = format!("{KAFKA_PREFIX}{dir_name}/{name}");
        out.push(local_segment(
            path,
            key,
            tp.clone(),
            BrokerLayout::Kafka,
            base,
        )?);
    }
    Ok(out)
}

/// What was shipped under one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedEntry {
    /// The local file.
    pub path: PathBuf,
    /// Its size.
    pub size: u64,
    /// CRC-32C of its bytes (0 for an empty segment, which is recorded but not uploaded).
    pub crc32c: u32,
    /// When (ms since the epoch).
    pub at_ms: i64,
}

/// What a shipper has shipped, persisted as JSON (`{"version": 1, "shipped": {key: entry}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipLedger {
    /// Format version, 1.
    pub version: u32,
    /// By object key.
    pub shipped: BTreeMap<String, ShippedEntry>,
}

impl ShipLedger {
    /// Reads the ledger at `path`; a missing file is an empty ledger.
    pub fn load(path: &Path) -> Result<ShipLedger, ShipError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ShipLedger {
                    version: 1,
                    shipped: BTreeMap::new(),
                });
            }
            Err(e) => return Err(io(path)(e)),
        };
        let ledger: ShipLedger = serde_json::from_str(&text).map_err(|e| ShipError::Ledger {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if ledger.version != 1 {
            return Err(ShipError::Ledger {
                path: path.to_path_buf(),
                reason: format!("unsupported version {}", ledger.version),
            });
        }
        Ok(ledger)
    }

    /// Writes the ledger to `path` atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<(), ShipError> {
        let text = serde_json::to_vec_pretty(self).map_err(|e| ShipError::Ledger {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
        std::fs::write(tmp.path(), text).map_err(io(tmp.path()))?;
        tmp.persist(path).map_err(|e| io(path)(e.error))?;
        Ok(())
    }
}

/// What happened to one sealed segment in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipOutcome {
    /// Uploaded now.
    Uploaded,
    /// The store already held it (an earlier run crashed before recording it).
    FoundInStore,
    /// Empty: recorded, nothing to upload.
    Empty,
    /// Shipped by an earlier round.
    AlreadyShipped,
}

/// Per partition, what is not shipped yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: u32,
    /// Sealed segments not shipped.
    pub pending_segments: usize,
    /// Their bytes.
    pub pending_bytes: u64,
    /// Bytes of the active (highest-numbered) segment, which is never shipped.
    pub active_bytes: u64,
}

/// Ships the sealed segments among `segments` that `ledger` lacks, saving the ledger after each
/// (through `save`); returns each sealed segment's outcome. A failure stops the round with
/// everything shipped so far recorded.
pub async fn ship_sealed(
    store: &dyn ObjectStore,
    segments: &[LocalSegment],
    ledger: &mut ShipLedger,
    now_ms: i64,
    mut save: impl FnMut(&ShipLedger) -> Result<(), ShipError>,
) -> Result<Vec<(LocalSegment, ShipOutcome)>, ShipError> {
    let mut out = Vec::new();
    for seg in segments.iter().filter(|s| s.sealed) {
        if ledger.shipped.contains_key(seg.key.as_str()) {
            out.push((seg.clone(), ShipOutcome::AlreadyShipped));
            continue;
        }
        let bytes = std::fs::read(&seg.path).map_err(io(&seg.path))?;
        let entry = ShippedEntry {
            path: seg.path.clone(),
            size: bytes.len() as u64,
            crc32c: crc32c::crc32c(&bytes),
            at_ms: now_ms,
        };
        let outcome = if bytes.is_empty() {
            ShipOutcome::Empty
        } else if stored_size(store, &seg.key).await? == Some(entry.size) {
            ShipOutcome::FoundInStore
        } else {
            store.put(&seg.key, bytes).await?;
            ShipOutcome::Uploaded
        };
        ledger.shipped.insert(seg.key.to_string(), entry);
        save(ledger)?;
        out.push((seg.clone(), outcome));
    }
    Ok(out)
}

/// The size of the object at `key`, `None` if there is none.
async fn stored_size(store: &dyn ObjectStore, key: &ObjectKey) -> Result<Option<u64>, ShipError> {
    match store.size(key).await {
        Ok(size) => Ok(Some(size)),
        Err(e) if e.kind() == StoreErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What each partition of `segments` has not shipped yet, per `ledger`.
pub fn lag(segments: &[LocalSegment], ledger: &ShipLedger) -> Vec<PartitionLag> {
    let mut out: Vec<PartitionLag> = Vec::new();
    for seg in segments {
        let topic = seg.tp.topic.to_string();
        let partition = seg.tp.partition.get();
        if out
            .last()
            .is_none_or(|l| l.topic != topic || l.partition != partition)
        {
            out.push(PartitionLag {
                topic,
                partition,
                ..Default::default()
            });
        }
        let Some(l) = out.last_mut() else { continue };
        if !seg.sealed {
            l.active_bytes = seg.size;
        } else if !ledger.shipped.contains_key(seg.key.as_str()) {
            l.pending_segments += 1;
            l.pending_bytes += seg.size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_and_chronik_layouts_seal_all_but_the_highest_segment() {
        let dir = tempfile::tempdir().unwrap();
        let kafka = dir.path().join("orders-3");
        std::fs::create_dir_all(&kafka).unwrap();
        for base in [0u64, 120, 40] {
            std::fs::write(kafka.join(format!("{base:020}.log")), b"x").unwrap();
        }
        std::fs::write(kafka.join(format!("{:020}.index", 0)), b"x").unwrap();
        std::fs::write(kafka.join("leader-epoch-checkpoint"), b"x").unwrap();
        let found = scan(dir.path()).unwrap();
        let seen: Vec<(u64, bool, &str)> = found
            .iter()
            .map(|s| (s.sequence, s.sealed, s.key.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (0, true, "kafka-logs/orders-3/00000000000000000000.log"),
                (40, true, "kafka-logs/orders-3/00000000000000000040.log"),
                (120, false, "kafka-logs/orders-3/00000000000000000120.log"),
            ]
        );
        // Chronik: numeric order (wal_0_10 after wal_0_9), `__meta` skipped.
        let chronik = tempfile::tempdir().unwrap();
        for (dir, file) in [
            ("wal/pay/0", "wal_0_9.log"),
            ("wal/pay/0", "wal_0_10.log"),
            ("wal/pay/1", "wal_1_0.log"),
            ("wal/__meta/0", "wal_0_0.log"),
        ] {
            let d = chronik.path().join(dir);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(file), b"").unwrap();
        }
        let found = scan(chronik.path()).unwrap();
        let seen: Vec<(&str, bool)> = found.iter().map(|s| (s.key.as_str(), s.sealed)).collect();
        assert_eq!(
            seen,
            [
                ("chronik-wal/pay/0/wal_0_9.log", true),
                ("chronik-wal/pay/0/wal_0_10.log", false),
                ("chronik-wal/pay/1/wal_1_0.log", false),
            ]
        );
        let ledger = ShipLedger::default();
        let lag = lag(&found, &ledger);
        assert_eq!(lag.len(), 2);
        assert_eq!(lag[0].pending_segments, 1);
        assert!(matches!(
            scan(dir.path().join("orders-3").as_path()),
            Err(ShipError::UnknownLayout(_))
        ));
    }
}
