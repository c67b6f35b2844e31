//! Rebuilding a lost catalog from the object store alone (`tierctl rebuild-catalog`).
//!
//! Every archive describes itself: its manifest carries the segment's identity and figures, and its
//! members give back the TOC the build registered (chunk ranges, lengths and CRC-32Cs from the
//! members; offsets, batch counts and timestamps from the batches in them). Every quarantined copy
//! has a `<copy>.reason.json` beside it with the source's ledger id and reason.
//!
//! Which archives are live: per partition, archives are taken newest first (then widest) and one is
//! live unless it overlaps one already taken. A merge's output is newer than its inputs and covers
//! them, so inputs still in the store (inside GC's grace period) come back as *retired*, and GC
//! deletes them after the grace period as it would have. Two builds of one segment (a lost race)
//! keep one and retire the other. Archives that retention had already expired come back live; the
//! next compaction run expires them again under the same policy.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::archive::{
    ArchiveError, ChunkEntry, INDEX_PREFIX, MANIFEST_NAME, Manifest, MemberEntry, RECORDS_PREFIX,
    Toc, chunk_member_name, list_members, read_entry,
};
use crate::catalog::{CatalogError, IngestRecord, IngestStatus, SegmentEntry};
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
    let offset = |v: i64| Offset::try_from(v).map_err(invalid);
    let entry = SegmentEntry {
        id,
        tp,
        base_offset: offset(manifest.base_offset)?,
        last_offset: offset(manifest.last_offset)?,
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

/// One partition's archives, split into the live set and the retired rest.
#[derive(Debug, Default)]
struct PartitionPlan {
    live: Vec<SegmentEntry>,
    retired: Vec<SegmentEntry>,
}

fn plan_partition(mut candidates: Vec<SegmentEntry>) -> PartitionPlan {
    candidates.sort_by(|a, b| {
        let span = |s: &SegmentEntry| s.last_offset.get() - s.base_offset.get();
        b.created_at_ms
            .cmp(&a.created_at_ms)
            .then(span(b).cmp(&span(a)))
            .then(a.archive_key.cmp(&b.archive_key))
    });
    let mut plan = PartitionPlan::default();
    for candidate in candidates {
        if plan.live.iter().any(|live| live.overlaps(&candidate)) {
            plan.retired.push(candidate);
        } else {
            plan.live.push(candidate);
        }
    }
    plan.live.sort_by_key(|s| s.base_offset);
    plan
}

impl Pipeline {
    /// Rebuilds the catalog from the store's archives and quarantine reports (see the module
    /// docs). Refuses with [`PipelineError::CatalogNotEmpty`] when the catalog has segments or
    /// retirements, unless `options.force`.
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
        let mut present: HashSet<SegmentId> = HashSet::new();
        for info in &existing {
            for seg in self.catalog.segments(&info.tp).await? {
                known.insert(seg.archive_key);
                present.insert(seg.id);
            }
        }
        let mut by_partition: BTreeMap<TopicPartition, Vec<SegmentEntry>> = BTreeMap::new();
        for object in self.store.list(ObjectKey::ARCHIVE_PREFIX).await? {
            if known.contains(&object.key) {
                continue;
            }
            let bytes = self.store.get(&object.key).await?;
            match describe_archive(&object.key, &bytes) {
                Ok((entry, _)) => {
                    report.archives += 1;
                    by_partition
                        .entry(entry.tp.clone())
                        .or_default()
                        .push(entry);
                }
                Err(e) => report.skipped.push(SkippedObject {
                    key: object.key.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        let now = self.clock.now_ms();
        let mut live: Vec<SegmentEntry> = Vec::new();
        let mut ledger: BTreeMap<String, (Vec<SegmentId>, i64)> = BTreeMap::new();
        for (tp, candidates) in by_partition {
            let plan = plan_partition(candidates);
            for seg in plan.live.iter().chain(&plan.retired) {
                if seg.source != COMPACTION_SOURCE {
                    let (ids, at) = ledger.entry(seg.source.clone()).or_default();
                    ids.push(seg.id.clone());
                    *at = (*at).max(seg.created_at_ms);
                }
            }
            for seg in plan.retired {
                if options.dry_run {
                    report.archives_retired += 1;
                } else if let Err(e) = self.register_retired(&tp, &seg, &present, now).await {
                    report.skipped.push(SkippedObject {
                        key: seg.archive_key.to_string(),
                        reason: format!("not registered as retired: {e}"),
                    });
                } else {
                    report.archives_retired += 1;
                }
            }
            for seg in plan.live {
                if present.contains(&seg.id) {
                    report.segments_already_present += 1;
                } else {
                    live.push(seg);
                }
            }
        }
        self.register_live(live, &mut ledger, options, now, &mut report)
            .await?;
        self.rebuild_quarantine_ledger(options, &mut report).await?;
        report.partitions = if options.dry_run {
            0
        } else {
            self.catalog.partitions().await?.len()
        };
        Ok(report)
    }

    /// Registers `seg` and swaps it out at once, so its archive is recorded as retired at `now`.
    async fn register_retired(
        &self,
        tp: &TopicPartition,
        seg: &SegmentEntry,
        present: &HashSet<SegmentId>,
        now: i64,
    ) -> PipelineResult<()> {
        if present.contains(&seg.id) {
            return Err(PipelineError::InvalidRequest(format!(
                "the catalog already has segment {} of {tp} with another archive",
                seg.id
            )));
        }
        let version = self
            .swap_at_current(tp, &[], std::slice::from_ref(seg), now)
            .await?;
        self.catalog
            .swap_segments(tp, version, std::slice::from_ref(&seg.id), &[], now)
            .await?;
        Ok(())
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

    /// Registers the live segments: those of each indexed source with its ledger entry, merged
    /// ones (no source of their own) by swaps; then the ledger entries of sources all of whose
    /// archives are retired.
    async fn register_live(
        &self,
        live: Vec<SegmentEntry>,
        ledger: &mut BTreeMap<String, (Vec<SegmentId>, i64)>,
        options: RebuildOptions,
        now: i64,
        report: &mut RebuildReport,
    ) -> PipelineResult<()> {
        let mut by_source: BTreeMap<String, Vec<SegmentEntry>> = BTreeMap::new();
        for seg in live {
            by_source.entry(seg.source.clone()).or_default().push(seg);
        }
        if let Some(merged) = by_source.remove(COMPACTION_SOURCE) {
            for seg in merged {
                if options.dry_run {
                    report.segments_registered += 1;
                    continue;
                }
                let tp = seg.tp.clone();
                match self
                    .swap_at_current(&tp, &[], std::slice::from_ref(&seg), now)
                    .await
                {
                    Ok(_) => report.segments_registered += 1,
                    Err(e) => report.skipped.push(SkippedObject {
                        key: seg.archive_key.to_string(),
                        reason: format!("not registered: {e}"),
                    }),
                }
            }
        }
        for (source, segments) in by_source {
            let (ids, at_ms) = ledger.remove(&source).unwrap_or_default();
            let record = IngestRecord {
                source: source.clone(),
                status: IngestStatus::Indexed,
                segments: ids,
                at_ms,
            };
            if options.dry_run {
                report.segments_registered += segments.len();
                report.sources_indexed += 1;
                continue;
            }
            match self.catalog.register(&record, &segments).await {
                Ok(outcome) => {
                    report.segments_registered += outcome.added;
                    report.segments_already_present += outcome.already_present.len();
                    report.sources_indexed += 1;
                }
                Err(e) => {
                    for seg in &segments {
                        report.skipped.push(SkippedObject {
                            key: seg.archive_key.to_string(),
                            reason: format!("not registered: {e}"),
                        });
                    }
                }
            }
        }
        for (source, (ids, at_ms)) in std::mem::take(ledger) {
            if options.force && self.catalog.ingest_record(&source).await?.is_some() {
                continue;
            }
            report.sources_indexed += 1;
            if !options.dry_run {
                let status = IngestStatus::Indexed;
                let record = IngestRecord {
                    source,
                    status,
                    segments: ids,
                    at_ms,
                };
                self.catalog.record_ingest(&record).await?;
            }
        }
        Ok(())
    }

    /// Ledger entries of quarantined sources, from the reports beside their copies.
    async fn rebuild_quarantine_ledger(
        &self,
        options: RebuildOptions,
        report: &mut RebuildReport,
    ) -> PipelineResult<()> {
        let objects = self.store.list(ObjectKey::QUARANTINE_PREFIX).await?;
        let reports: HashSet<&str> = objects
            .iter()
            .filter_map(|o| o.key.as_str().strip_suffix(QuarantineReport::SUFFIX))
            .collect();
        for object in &objects {
            let key = object.key.as_str();
            let Some(copy) = key.strip_suffix(QuarantineReport::SUFFIX) else {
                if !reports.contains(key) {
                    report.skipped.push(SkippedObject {
                        key: key.to_owned(),
                        reason: "a quarantined copy without a report: its ledger id is unknown"
                            .to_owned(),
                    });
                }
                continue;
            };
            let body = self.store.get(&object.key).await?;
            let parsed: QuarantineReport = match serde_json::from_slice(&body) {
                Ok(parsed) => parsed,
                Err(e) => {
                    report.skipped.push(SkippedObject {
                        key: key.to_owned(),
                        reason: format!("not a quarantine report: {e}"),
                    });
                    continue;
                }
            };
            if options.force
                && self
                    .catalog
                    .ingest_record(&parsed.ledger_id)
                    .await?
                    .is_some()
            {
                continue;
            }
            report.sources_quarantined += 1;
            if options.dry_run {
                continue;
            }
            let record = IngestRecord {
                source: parsed.ledger_id,
                status: IngestStatus::Quarantined {
                    reason: bounded_reason(&parsed.reason, &object.key),
                    copy: copy.to_owned(),
                },
                segments: Vec::new(),
                at_ms: parsed.at_ms,
            };
            self.catalog.record_ingest(&record).await?;
        }
        Ok(())
    }
}
