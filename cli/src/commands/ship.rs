//! `tierctl ship DIR`: upload a broker's sealed segments to the store, each exactly once (see
//! `tier::ship`), once or (`--watch`) as they seal.

use std::path::Path;

use serde::Serialize;
use tier::clock::{Clock, SystemClock};
use tier::pipeline::{IngestOutcome, PipelineConfig, SourceObject};
use tier::ship::{PartitionLag, ShipLedger, ShipOutcome, lag, scan, ship_sealed};

use super::Status;
use crate::args::ShipArgs;
use crate::backends::Backends;
use crate::output;

/// One round's report (`--json`: one JSON document, or one line per round with `--watch`).
#[derive(Serialize)]
struct RoundReport {
    dir: String,
    /// Sealed segments handled this round, by outcome.
    segments: Vec<ShippedReport>,
    uploaded: usize,
    already_shipped: usize,
    /// Per partition: sealed segments still to ship (0 after a clean round) and the active
    /// segment's size.
    lag: Vec<PartitionLag>,
}

#[derive(Serialize)]
struct ShippedReport {
    path: String,
    key: String,
    bytes: u64,
    outcome: ShipOutcome,
    /// With `--index`: `indexed` or `quarantined`.
    #[serde(skip_serializing_if = "Option::is_none")]
    indexed: Option<&'static str>,
}

/// The version string of a shipped file: its CRC-32C and size (the ledger id `key#version` is the
/// same for `ship --index` and `backfill DIR`).
pub fn file_version(crc32c: u32, size: u64) -> String {
    format!("c{crc32c:08x}s{size}")
}

pub async fn run(
    backends: &Backends,
    config: PipelineConfig,
    data: &Path,
    args: ShipArgs,
    json: bool,
) -> anyhow::Result<Status> {
    let ledger_path = args
        .ledger
        .clone()
        .unwrap_or_else(|| data.join("ship-ledger.json"));
    let pipeline = backends.pipeline(config).await?;
    let mut ledger = ShipLedger::load(&ledger_path)?;
    let mut stop = stop_signal()?;
    loop {
        let segments = scan(&args.dir)?;
        let now = SystemClock.now_ms();
        let shipped = ship_sealed(pipeline.store(), &segments, &mut ledger, now, |l| {
            l.save(&ledger_path)
        })
        .await?;
        let mut report = RoundReport {
            dir: args.dir.display().to_string(),
            segments: Vec::new(),
            uploaded: 0,
            already_shipped: 0,
            lag: lag(&segments, &ledger),
        };
        for (seg, outcome) in shipped {
            if outcome == ShipOutcome::AlreadyShipped {
                report.already_shipped += 1;
                continue;
            }
            report.uploaded += usize::from(outcome == ShipOutcome::Uploaded);
            let mut indexed = None;
            if args.index && outcome != ShipOutcome::Empty {
                let entry = &ledger.shipped[seg.key.as_str()];
                let source = SourceObject {
                    key: seg.key.clone(),
                    version: file_version(entry.crc32c, entry.size),
                };
                indexed = Some(match pipeline.ingest_object(&source).await? {
                    IngestOutcome::Indexed(_) => "indexed",
                    IngestOutcome::Quarantined { reason, .. } => {
                        eprintln!("tierctl: warning: {} quarantined: {reason}", seg.key);
                        "quarantined"
                    }
                });
            }
            report.segments.push(ShippedReport {
                path: seg.path.display().to_string(),
                key: seg.key.to_string(),
                bytes: seg.size,
                outcome,
                indexed,
            });
        }
        print(&report, json, args.watch)?;
        if !args.watch {
            return Ok(Status::Success);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(args.interval)) => {}
            _ = stop.recv() => return Ok(Status::Success),
        }
    }
}

fn print(report: &RoundReport, json: bool, watch: bool) -> anyhow::Result<()> {
    if json && watch {
        return output::json_line(report);
    }
    if json {
        return output::json(report);
    }
    for s in &report.segments {
        output::text(format!("shipped {} -> {} ({:?})", s.path, s.key, s.outcome))?;
    }
    let pending: usize = report.lag.iter().map(|l| l.pending_segments).sum();
    output::text(format!(
        "{}: {} uploaded, {} shipped before, {pending} sealed segments pending, {} partitions",
        report.dir,
        report.uploaded,
        report.already_shipped,
        report.lag.len()
    ))
}

/// Receives once SIGINT or SIGTERM arrives.
fn stop_signal() -> anyhow::Result<tokio::sync::mpsc::Receiver<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(()).await;
    });
    Ok(rx)
}
