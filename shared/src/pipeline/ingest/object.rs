//! Ingest a source object that arrived in the object store (what the indexer function does for each
//! S3 notification): index it, or quarantine it when it can never be indexed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::IndexReport;
use crate::catalog::{IngestRecord, IngestStatus};
use crate::pipeline::{ErrorCode, Pipeline, PipelineError, PipelineResult};
use crate::scratch::Scratch;
use crate::source::SourceFile;
use crate::types::{ObjectKey, TopicPartition};

/// A source object in the store, at one version (ETag or version id).
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Where it is.
    pub key: ObjectKey,
    /// Which version of it: the ledger id is `<key>#<version>`, so a re-upload is a new source.
    pub version: String,
}

impl SourceObject {
    /// The ingestion-ledger id of this object version.
    pub fn ledger_id(&self) -> String {
        format!("{}#{}", self.key, self.version)
    }

    /// The partition its key names ([`crate::source::path_partition`]): what a Kafka `.log` source
    /// needs and a Chronik WAL segment must agree with.
    pub fn path_partition(&self) -> Option<TopicPartition> {
        crate::source::path_partition(self.key.as_str())
    }
}

/// What happened to a source object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// Indexed (or found already indexed).
    Indexed(IndexReport),
    /// Rejected for good: copied aside and recorded in the ledger, never retried.
    Quarantined {
        /// Why.
        reason: String,
        /// Where the copy is.
        copy: String,
    },
}

/// The longest quarantine reason kept in the ledger and in reports (a DynamoDB item holds at most
/// 400 KB, and a reason is read by people): a longer one is cut there, and the whole text is put
/// beside the quarantined copy as `<copy>.reason.json`.
pub const MAX_REASON_CHARS: usize = 1_000;

/// The report written beside every quarantined copy, as `<copy>.reason.json` (docs/FORMATS.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineReport {
    /// The source object's key.
    pub source: String,
    /// The source's ledger id (`<key>#<version>`).
    pub ledger_id: String,
    /// Why it was rejected, in full.
    pub reason: String,
    /// When it was quarantined (ms since the epoch).
    pub at_ms: i64,
}

impl QuarantineReport {
    /// Suffix of a report's key after its copy's key.
    pub const SUFFIX: &'static str = ".reason.json";
}

/// The ledger's form of a quarantine reason: whole if at most [`MAX_REASON_CHARS`], else cut with
/// a pointer to the report that holds it whole.
pub fn bounded_reason(reason: &str, report: &ObjectKey) -> String {
    if reason.chars().count() <= MAX_REASON_CHARS {
        return reason.to_owned();
    }
    let head: String = reason.chars().take(MAX_REASON_CHARS).collect();
    format!("{head}… (cut; the whole reason is in {report})")
}

impl Pipeline {
    /// Quarantines a source object whose key the store cannot address (e.g. `..`, `//` or `\`
    /// in it, as an S3 event may name): the ledger records `<raw key>#<version>` as quarantined
    /// with the reason and no copy (`copy` is empty), so a redelivered event is answered the same
    /// without being retried for ever.
    pub async fn quarantine_unaddressable(
        &self,
        raw_key: &str,
        version: &str,
        why: &crate::types::InvalidValue,
    ) -> PipelineResult<IngestOutcome> {
        let reason: String = format!("the key cannot be read or copied: {why}")
            .chars()
            .take(MAX_REASON_CHARS)
            .collect();
        let record = IngestRecord {
            source: format!("{raw_key}#{version}"),
            status: IngestStatus::Quarantined {
                reason: reason.clone(),
                copy: String::new(),
            },
            segments: Vec::new(),
            at_ms: self.clock.now_ms(),
        };
        self.catalog.record_ingest(&record).await?;
        tracing::warn!(key = %raw_key, %reason, "source with an unaddressable key quarantined");
        Ok(IngestOutcome::Quarantined {
            reason,
            copy: String::new(),
        })
    }

    /// Writes the report beside the quarantined copy `copy` (always: a rebuilt catalog reads the
    /// ledger entry back from it) and returns the reason as the ledger keeps it.
    async fn write_quarantine_report(
        &self,
        source: &SourceObject,
        copy: &ObjectKey,
        reason: String,
        at_ms: i64,
    ) -> PipelineResult<String> {
        let report_key: ObjectKey = format!("{copy}{}", QuarantineReport::SUFFIX).parse()?;
        let bounded = bounded_reason(&reason, &report_key);
        let report = QuarantineReport {
            source: source.key.to_string(),
            ledger_id: source.ledger_id(),
            reason,
            at_ms,
        };
        let body = serde_json::to_vec_pretty(&report)
            .map_err(|e| PipelineError::Internal(format!("quarantine report: {e}")))?;
        self.store.put(&report_key, body).await?;
        Ok(bounded)
    }

    /// Copies object `key` into a file in `scratch`, a piece at a time; returns its path. A body
    /// cut short fails with the store's retryable error.
    async fn download(&self, key: &ObjectKey, scratch: &Scratch) -> PipelineResult<PathBuf> {
        let mut body = self.store.get_body(key).await?;
        let mut file = scratch.create("source")?;
        while let Some(piece) = body.next_piece().await? {
            file.write_all(&piece).map_err(|e| scratch.error(e))?;
        }
        Ok(file.finish().map_err(|e| scratch.error(e))?)
    }

    /// Indexes a source object from the store: it is copied into scratch space, indexed from
    /// there and, if it must be quarantined, copied aside from there.
    ///
    /// Sources that can never be indexed — corrupt, unsealed, not a segment, or overlapping different
    /// registered data — are copied under `quarantine/`, recorded in the ledger with the reason, and
    /// reported as [`IngestOutcome::Quarantined`]: the call succeeds so the trigger is not retried
    /// forever. Transient failures (store or catalog unavailable) are returned as errors to retry.
    pub async fn ingest_object(&self, source: &SourceObject) -> PipelineResult<IngestOutcome> {
        let id = source.ledger_id();
        if let Some(IngestRecord {
            status: IngestStatus::Quarantined { reason, copy },
            ..
        }) = self.catalog.ingest_record(&id).await?
        {
            return Ok(IngestOutcome::Quarantined { reason, copy });
        }
        let scratch = Arc::new(Scratch::new(&self.config.scratch)?);
        let copy_path = self.download(&source.key, &scratch).await?;
        let file = SourceFile::open(&copy_path).map_err(|e| scratch.error(e))?;
        let log_tp = source.path_partition();
        let indexed = self
            .index_from(&id, Arc::new(file), log_tp.as_ref(), scratch.clone())
            .await;
        match indexed {
            Ok(report) => Ok(IngestOutcome::Indexed(report)),
            Err(e) if matches!(e.code(), ErrorCode::CorruptInput | ErrorCode::Conflict) => {
                let copy = ObjectKey::quarantine(&source.key);
                self.store.put_file(&copy, &copy_path).await?;
                let at_ms = self.clock.now_ms();
                let reason = self
                    .write_quarantine_report(source, &copy, e.to_string(), at_ms)
                    .await?;
                let record = IngestRecord {
                    source: id,
                    status: IngestStatus::Quarantined {
                        reason: reason.clone(),
                        copy: copy.to_string(),
                    },
                    segments: Vec::new(),
                    at_ms,
                };
                self.catalog.record_ingest(&record).await?;
                tracing::warn!(key = %source.key, %reason, copy = %copy, "source quarantined");
                Ok(IngestOutcome::Quarantined {
                    reason,
                    copy: copy.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::FixedClock;

    #[tokio::test]
    async fn a_quarantine_report_holds_the_whole_reason_and_the_ledger_a_bounded_one() {
        let dir = tempfile::tempdir().unwrap();
        let p =
            Pipeline::embedded(dir.path(), Arc::new(FixedClock(1)), Default::default()).unwrap();
        let source = SourceObject {
            key: "chronik-wal/t/0/wal_0_1.log".parse().unwrap(),
            version: "e1".into(),
        };
        let copy = ObjectKey::quarantine(&source.key);
        let report_key: ObjectKey = format!("{copy}.reason.json").parse().unwrap();
        let read_report = || async {
            let body = p.store().get(&report_key).await.unwrap();
            serde_json::from_slice::<QuarantineReport>(&body).unwrap()
        };
        let short = p
            .write_quarantine_report(&source, &copy, "short".into(), 7)
            .await
            .unwrap();
        assert_eq!(short, "short");
        assert_eq!(
            read_report().await,
            QuarantineReport {
                source: source.key.to_string(),
                ledger_id: source.ledger_id(),
                reason: "short".into(),
                at_ms: 7,
            }
        );
        let long = "x".repeat(450_000);
        let cut = p
            .write_quarantine_report(&source, &copy, long.clone(), 8)
            .await
            .unwrap();
        assert!(cut.len() < MAX_REASON_CHARS + 200, "{}", cut.len());
        assert!(
            cut.ends_with("quarantine/chronik-wal/t/0/wal_0_1.log.reason.json)"),
            "{cut}"
        );
        assert_eq!(read_report().await.reason, long);
    }
}
