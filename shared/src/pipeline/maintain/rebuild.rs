//! Rebuilding a lost catalog from the object store alone (`tierctl rebuild-catalog`).
//!
//! Every archive describes itself: its manifest carries the segment's identity and figures, and its
//! members give back the TOC the build registered (chunk ranges, lengths and CRC-32Cs from the
//! members; offsets, batch counts and timestamps from the batches in them). Every quarantined copy
//! has a `<copy>.reason.json` beside it with the source's ledger id and reason.
//!
//! Which archives are live: per partition, archives are taken widest first (then those of sources
//! never quarantined, then the oldest) and one is live unless it overlaps one already taken. A
//! merge's output covers its inputs, so inputs still in the store (inside GC's grace period) come
//! back as *retired*, and GC deletes them after the grace period as it would have. Two builds of
//! one segment (a lost race) keep one and retire the other. An archive that overlaps live ones
//! without being covered by them is left unregistered and reported, never retired. Archives that
//! retention had already expired come back live; the next compaction run expires them again under
//! the same policy.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::archive::{
    ArchiveError, ChunkEntry, INDEX_PREFIX, MANIFEST_NAME, Manifest, MemberEntry, RECORDS_PREFIX,
    Toc, chunk_member_name, list_members, read_entry,
};
use crate::catalog::{CatalogError, IngestRecord, IngestStatus, RetiredArchive, SegmentEntry};
use crate::kafka::{MAX_DECOMPRESSED_SIZE, batches};
use crate::pipeline::ingest::{QuarantineReport, bounded_reason};
use crate::pipeline::{Pipeline, PipelineError, PipelineResult};
use crate::types::{ObjectKey, Offset, SegmentId, Topic, TopicPartition};

/// Source id of the segments a merge wrote (their manifests' `source`).
pub const COMPACTION_SOURCE: &str = "compaction";

/// How to rebuild.
#[derive(Debug, Clone, Copy, Default)]
pub struct RebuildOptions {
    /// Add to a catalog that already has segments: what it has is kept, archives that overlap it
    /// are reported and left alone, ledger entries it has are not replaced.
    pub force: bool,
    /// Read and plan only; change nothing.
    pub dry_run: bool,
}

/// An object the rebuild could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedObject {
    /// The object's key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// What a rebuild did (or, on a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    /// Archives read and described.
    pub archives: usize,
    /// Segments registered live.
    pub segments_registered: usize,
    /// Segments the catalog already had (with `force`).
    pub segments_already_present: usize,
    /// Archives registered as retired (covered by a newer archive): GC deletes them after its grace
    /// period.
    pub archives_retired: usize,
    /// Partitions with live segments afterwards.
    pub partitions: usize,
    /// Ledger entries written for indexed sources.
    pub sources_indexed: usize,
    /// Ledger entries written for quarantined sources.
    pub sources_quarantined: usize,
    /// Objects not used, with the reason (damaged archives, overlaps with the existing catalog,
    /// quarantined copies without a report).
    pub skipped: Vec<SkippedObject>,
    /// Nothing was changed.
    pub dry_run: bool,
}

/// Reads an archive back into the catalog entry its build registered (the TOC recomputed from its
/// members, the figures from its manifest, each checked against the other) and its manifest.
pub fn describe_archive(
    key: &ObjectKey,
    bytes: &[u8],
) -> Result<(SegmentEntry, Manifest), ArchiveError> {
    let mismatch = |what: String| ArchiveError::TocMismatch(what);
    let listing = list_members(bytes)?;
    let (manifest_member, rest) = listing
        .members
        .split_last()
        .ok_or_else(|| mismatch("the archive has no members".to_owned()))?;
    if manifest_member.name != MANIFEST_NAME {
        return Err(mismatch(format!(
            "the last member is {:?}, not {MANIFEST_NAME}",
            manifest_member.name
        )));
    }
    let manifest = Manifest::decode(&member_data(bytes, manifest_member)?)?;
    let (mut chunks, mut index_files) = (Vec::new(), Vec::new());
    let (mut records, mut data_bytes, mut data_crc) = (0u64, 0u64, 0u32);
    for member in rest {
        if member.name.starts_with(RECORDS_PREFIX) {
            let data = member_data(bytes, member)?;
            let (chunk, chunk_records) = chunk_entry(member, &data)?;
            records += chunk_records;
            data_bytes += member.data_len;
            data_crc = crc32c::crc32c_append(data_crc, &data);
            chunks.push(chunk);
        } else if member.name.starts_with(INDEX_PREFIX) {
            index_files.push(member.clone());
        } else {
            return Err(mismatch(format!("unexpected member {:?}", member.name)));
        }
    }
    let toc = Toc {
        chunks,
        index_files,
        manifest: manifest_member.clone(),
    };
    toc.validate()?;
    listing.check_toc(&toc)?;
    let (first, last) = (toc.chunks.first(), toc.chunks.last());
    let figures = [
        (
            "base_offset",
            first.map_or(-1, |c| c.first_offset),
            manifest.base_offset,
        ),
        (
            "last_offset",
            last.map_or(-1, |c| c.last_offset),
            manifest.last_offset,
        ),
        (
            "batch_count",
            toc.chunks.iter().map(|c| i64::from(c.batch_count)).sum(),
            manifest.batch_count as i64,
        ),
        ("record_count", records as i64, manifest.record_count as i64),
        ("data_bytes", data_bytes as i64, manifest.data_bytes as i64),
        (
            "data_crc32c",
            i64::from(data_crc),
            i64::from(manifest.data_crc32c),
        ),
        (
            "min_timestamp",
            toc.chunks
                .iter()
                .map(|c| c.min_timestamp)
                .min()
                .unwrap_or(0),
            manifest.min_timestamp,
        ),
        (
            "max_timestamp",
            toc.chunks
                .iter()
                .map(|c| c.max_timestamp)
                .max()
                .unwrap_or(0),
            manifest.max_timestamp,
        ),
    ];
    if let Some((name, found, said)) = figures.iter().find(|(_, found, said)| found != said) {
        return Err(mismatch(format!(
            "the manifest says {name} {said}, the batches give {found}"
        )));
    }
    let invalid = |e: crate::types::InvalidValue| ArchiveError::InvalidManifest(e.to_string());
    let topic = Topic::try_from(manifest.topic.clone()).map_err(invalid)?;
    let partition = i64::from(manifest.partition).try_into().map_err(invalid)?;
    let tp = TopicPartition::new(topic, partition);
    let id = SegmentId::try_from(manifest.segment_id.clone()).map_err(invalid)?;
    let offset = |v: i64| Offset::try_from(v).map_err(invalid);
    let (base, last) = (offset(manifest.base_offset)?, offset(manifest.last_offset)?);
    if SegmentId::new(base, last, data_crc) != id {
        return Err(mismatch(format!(
            "the manifest's segment id {id} is not the id of the batches it holds"
        )));
    }
    let expected_prefix = format!(
        "{}{}/{}/{}.",
        ObjectKey::ARCHIVE_PREFIX,
        tp.topic,
        tp.partition,
        id
    );
    if !key.as_str().starts_with(&expected_prefix) {
        return Err(mismatch(format!(
            "the manifest names {tp} segment {id}, which is not where the key {key} puts it"
        )));
    }
    let entry = SegmentEntry {
        id,
        tp,
        base_offset: base,
        last_offset: last,
        record_count: manifest.record_count,
        batch_count: manifest.batch_count,
        min_timestamp: manifest.min_timestamp,
        max_timestamp: manifest.max_timestamp,
        data_bytes: manifest.data_bytes,
        archive_key: key.clone(),
        archive_size: bytes.len() as u64,
        toc: toc.encode(),
        source: manifest.source.clone(),
        created_at_ms: manifest.created_at_ms,
        txns: manifest.transactions.clone(),
    };
    Ok((entry, manifest))
}

fn member_data(archive: &[u8], member: &MemberEntry) -> Result<Vec<u8>, ArchiveError> {
    read_entry(member.range.slice_of(archive, 0)?, member)
}

/// The TOC entry of one chunk member, from the batches in it; and its number of records.
fn chunk_entry(member: &MemberEntry, data: &[u8]) -> Result<(ChunkEntry, u64), ArchiveError> {
    let corrupt = |reason: String| ArchiveError::CorruptMember {
        at: member.range.start,
        reason: format!("{}: {reason}", member.name),
    };
    let mut chunk: Option<ChunkEntry> = None;
    let mut records = 0u64;
    for batch in batches(data) {
        let batch = batch.map_err(|e| corrupt(e.to_string()))?;
        batch.verify_crc().map_err(|e| corrupt(e.to_string()))?;
        let decoded = batch
            .records_with_limit(MAX_DECOMPRESSED_SIZE)
            .map_err(|e| corrupt(e.to_string()))?;
        records += decoded.len() as u64;
        let h = batch.header();
        let (lo, hi) = h.timestamp_range(&decoded);
        match &mut chunk {
            Some(c) => {
                c.last_offset = h.last_offset();
                c.min_timestamp = c.min_timestamp.min(lo);
                c.max_timestamp = c.max_timestamp.max(hi);
                c.batch_count = c.batch_count.saturating_add(1);
            }
            None => {
                chunk = Some(ChunkEntry {
                    first_offset: h.base_offset,
                    last_offset: h.last_offset(),
                    min_timestamp: lo,
                    max_timestamp: hi,
                    batch_count: 1,
                    range: member.range,
                    data_len: member.data_len,
                    crc32c: member.crc32c,
                })
            }
        }
    }
    let chunk = chunk.ok_or_else(|| corrupt("holds no batch".to_owned()))?;
    if chunk_member_name(chunk.first_offset) != member.name {
        return Err(corrupt(format!(
            "its first batch starts at offset {}",
            chunk.first_offset
        )));
    }
    Ok((chunk, records))
}

/// One partition's archives: live, retired (wholly covered by live ones) and in conflict.
#[derive(Debug, Default)]
struct PartitionPlan {
    live: Vec<SegmentEntry>,
    retired: Vec<SegmentEntry>,
    conflicts: Vec<SegmentEntry>,
}

/// Whether the offsets of `seg` all lie in `covering` (sorted, non-overlapping) segments.
fn covered(seg: &SegmentEntry, covering: &[&SegmentEntry]) -> bool {
    let mut next = seg.base_offset.get();
    for c in covering {
        if c.base_offset.get() <= next && next <= c.last_offset.get() {
            next = c.last_offset.get().saturating_add(1);
        }
        if next > seg.last_offset.get() {
            return true;
        }
    }
    false
}

/// Splits one partition's archives. `existing` are the catalog's segments (kept as they are);
/// candidates are taken widest first (a merge's output before its inputs), then those of a source
/// never quarantined, then the oldest (the build that won the registration race), then by key. A
/// candidate is live if it overlaps nothing live, retired if live segments cover all its offsets,
/// else in conflict (left unregistered and reported: never retired while it holds offsets nothing
/// else holds).
fn plan_partition(
    existing: &[SegmentEntry],
    mut candidates: Vec<SegmentEntry>,
    quarantined_sources: &HashSet<String>,
) -> PartitionPlan {
    candidates.sort_by(|a, b| {
        let span = |s: &SegmentEntry| s.last_offset.get() - s.base_offset.get();
        span(b)
            .cmp(&span(a))
            .then(
                quarantined_sources
                    .contains(&a.source)
                    .cmp(&quarantined_sources.contains(&b.source)),
            )
            .then(a.created_at_ms.cmp(&b.created_at_ms))
            .then(a.archive_key.cmp(&b.archive_key))
    });
    let mut plan = PartitionPlan::default();
    for candidate in candidates {
        let mut live: Vec<&SegmentEntry> = existing.iter().chain(&plan.live).collect();
        live.sort_by_key(|s| s.base_offset);
        if !live.iter().any(|l| l.overlaps(&candidate)) {
            plan.live.push(candidate);
        } else if covered(&candidate, &live) {
            plan.retired.push(candidate);
        } else {
            plan.conflicts.push(candidate);
        }
    }
    plan.live.sort_by_key(|s| s.base_offset);
    plan
}

/// Segments added per swap: well inside DynamoDB's 100 actions per transaction.
const SEGMENTS_PER_SWAP: usize = 25;

impl Pipeline {
    /// Rebuilds the catalog from the store's archives and quarantine reports (see the module
    /// docs). Refuses with [`PipelineError::CatalogNotEmpty`] when the catalog has segments or
    /// retirements, unless `options.force`.
    ///
    /// Everything is read and planned before the first write; objects that cannot be read or
    /// described are reported and skipped. Then, per partition, live segments are committed
    /// before the archives they cover are recorded as retired, so no archive is ever recorded for
    /// deletion before what replaces it is live. A catalog error stops the rebuild (re-run it with
    /// `force`: it adds only what is missing).
    pub async fn rebuild_catalog(&self, options: RebuildOptions) -> PipelineResult<RebuildReport> {
        let existing = self.catalog.partitions().await?;
        let retired = self.catalog.retired_archives().await?;
        if !options.force && (!existing.is_empty() || !retired.is_empty()) {
            return Err(PipelineError::CatalogNotEmpty {
                partitions: existing.len(),
                retired: retired.len(),
            });
        }
        let mut report = RebuildReport {
            dry_run: options.dry_run,
            ..RebuildReport::default()
        };
        let mut known: HashSet<ObjectKey> = retired.into_iter().map(|r| r.key).collect();
        let mut existing_segments: BTreeMap<TopicPartition, Vec<SegmentEntry>> = BTreeMap::new();
        for info in &existing {
            let segments = self.catalog.segments(&info.tp).await?;
            known.extend(segments.iter().map(|s| s.archive_key.clone()));
            existing_segments.insert(info.tp.clone(), segments);
        }
        let quarantine = self.read_quarantine_reports(&mut report).await?;
        let quarantined_sources: HashSet<String> = quarantine
            .iter()
            .map(|(_, r)| r.ledger_id.clone())
            .collect();
        let mut by_partition: BTreeMap<TopicPartition, Vec<SegmentEntry>> = BTreeMap::new();
        for object in self.store.list(ObjectKey::ARCHIVE_PREFIX).await? {
            if known.contains(&object.key) {
                continue;
            }
            let described = match self.store.get(&object.key).await {
                Ok(bytes) => describe_archive(&object.key, &bytes).map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot be read: {e}")),
            };
            match described {
                Ok((entry, _)) => {
                    report.archives += 1;
                    by_partition
                        .entry(entry.tp.clone())
                        .or_default()
                        .push(entry);
                }
                Err(reason) => report.skipped.push(SkippedObject {
                    key: object.key.to_string(),
                    reason,
                }),
            }
        }
        let now = self.clock.now_ms();
        let mut ledger: BTreeMap<String, (Vec<SegmentId>, i64)> = BTreeMap::new();
        for (tp, candidates) in by_partition {
            let none = Vec::new();
            let current = existing_segments.get(&tp).unwrap_or(&none);
            let plan = plan_partition(current, candidates, &quarantined_sources);
            for seg in plan.live.iter().chain(&plan.retired) {
                if seg.source != COMPACTION_SOURCE {
                    let (ids, at) = ledger.entry(seg.source.clone()).or_default();
                    ids.push(seg.id.clone());
                    *at = (*at).max(seg.created_at_ms);
                }
            }
            for seg in &plan.conflicts {
                report.skipped.push(SkippedObject {
                    key: seg.archive_key.to_string(),
                    reason: format!(
                        "overlaps the live segments of {tp} without being covered by them; left \
                         unregistered (garbage collection deletes it as an orphan unless it is \
                         registered)"
                    ),
                });
            }
            report.segments_registered += plan.live.len();
            report.archives_retired += plan.retired.len();
            if options.dry_run {
                continue;
            }
            for chunk in plan.live.chunks(SEGMENTS_PER_SWAP) {
                self.swap_at_current(&tp, &[], chunk, now).await?;
            }
            let retirements: Vec<RetiredArchive> = plan
                .retired
                .iter()
                .map(|seg| RetiredArchive {
                    key: seg.archive_key.clone(),
                    retired_at_ms: now,
                })
                .collect();
            self.catalog.record_retired(&retirements).await?;
        }
        for (source, (ids, at_ms)) in ledger {
            let record = IngestRecord {
                source,
                status: IngestStatus::Indexed,
                segments: ids,
                at_ms,
            };
            if self.write_ledger_entry(&record, options).await? {
                report.sources_indexed += 1;
            }
        }
        for (copy, parsed) in quarantine {
            let report_key = format!("{copy}{}", QuarantineReport::SUFFIX);
            let reason = match report_key.parse::<ObjectKey>() {
                Ok(key) => bounded_reason(&parsed.reason, &key),
                Err(_) => parsed
                    .reason
                    .chars()
                    .take(crate::pipeline::MAX_REASON_CHARS)
                    .collect(),
            };
            let record = IngestRecord {
                source: parsed.ledger_id,
                status: IngestStatus::Quarantined { reason, copy },
                segments: Vec::new(),
                at_ms: parsed.at_ms,
            };
            if self.write_ledger_entry(&record, options).await? {
                report.sources_quarantined += 1;
            }
        }
        report.partitions = if options.dry_run {
            0
        } else {
            self.catalog.partitions().await?.len()
        };
        Ok(report)
    }

    /// Writes `record` unless forced onto a catalog that already has an entry for its source;
    /// whether it was (or, on a dry run, would be) written.
    async fn write_ledger_entry(
        &self,
        record: &IngestRecord,
        options: RebuildOptions,
    ) -> PipelineResult<bool> {
        if options.force && self.catalog.ingest_record(&record.source).await?.is_some() {
            return Ok(false);
        }
        if !options.dry_run {
            self.catalog.record_ingest(record).await?;
        }
        Ok(true)
    }

    /// A swap at the partition's current version. An emptied partition has no summary but keeps
    /// its version, which a mismatch reports: the swap is retried at it (a few times, in case
    /// something else writes meanwhile).
    async fn swap_at_current(
        &self,
        tp: &TopicPartition,
        remove: &[SegmentId],
        add: &[SegmentEntry],
        now: i64,
    ) -> PipelineResult<u64> {
        let mut version = self.catalog.partition(tp).await?.map_or(0, |p| p.version);
        let mut attempts = 0;
        loop {
            match self
                .catalog
                .swap_segments(tp, version, remove, add, now)
                .await
            {
                Err(CatalogError::VersionMismatch { actual, .. }) if attempts < 3 => {
                    version = actual;
                    attempts += 1;
                }
                result => return Ok(result?),
            }
        }
    }

    /// The quarantine reports beside the quarantined copies, as (copy key, report); unreadable
    /// reports and copies without one are reported and skipped.
    async fn read_quarantine_reports(
        &self,
        report: &mut RebuildReport,
    ) -> PipelineResult<Vec<(String, QuarantineReport)>> {
        let objects = self.store.list(ObjectKey::QUARANTINE_PREFIX).await?;
        let with_report: HashSet<&str> = objects
            .iter()
            .filter_map(|o| o.key.as_str().strip_suffix(QuarantineReport::SUFFIX))
            .collect();
        let mut out = Vec::new();
        for object in &objects {
            let key = object.key.as_str();
            let Some(copy) = key.strip_suffix(QuarantineReport::SUFFIX) else {
                if !with_report.contains(key) {
                    report.skipped.push(SkippedObject {
                        key: key.to_owned(),
                        reason: "a quarantined copy without a report: its ledger id is unknown"
                            .to_owned(),
                    });
                }
                continue;
            };
            let parsed = match self.store.get(&object.key).await {
                Ok(body) => serde_json::from_slice::<QuarantineReport>(&body)
                    .map_err(|e| format!("not a quarantine report: {e}")),
                Err(e) => Err(format!("cannot be read: {e}")),
            };
            match parsed {
                Ok(parsed) => out.push((copy.to_owned(), parsed)),
                Err(reason) => report.skipped.push(SkippedObject {
                    key: key.to_owned(),
                    reason,
                }),
            }
        }
        Ok(out)
    }
}
