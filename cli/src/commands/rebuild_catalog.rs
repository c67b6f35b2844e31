//! `tierctl rebuild-catalog`: the catalog again from the archives and quarantine reports.

use tier::pipeline::{Pipeline, RebuildOptions};

use super::Status;
use crate::args::RebuildCatalogArgs;
use crate::output;

pub async fn run(
    pipeline: &Pipeline,
    args: RebuildCatalogArgs,
    json: bool,
) -> anyhow::Result<Status> {
    let options = RebuildOptions {
        force: args.force,
        dry_run: args.dry_run,
    };
    let report = pipeline.rebuild_catalog(options).await?;
    if json {
        output::json(&report)?;
        return Ok(Status::Success);
    }
    let verb = if report.dry_run {
        "would register"
    } else {
        "registered"
    };
    output::text(format!(
        "read {} archive(s); {verb} {} segment(s) live and {} archive(s) as retired; {} ledger entr(ies) for indexed and {} for quarantined sources",
        report.archives,
        report.segments_registered,
        report.archives_retired,
        report.sources_indexed,
        report.sources_quarantined,
    ))?;
    if report.segments_already_present > 0 {
        output::text(format!(
            "{} segment(s) were already in the catalog",
            report.segments_already_present
        ))?;
    }
    if !report.dry_run {
        output::text(format!("{} partition(s) in the catalog", report.partitions))?;
    }
    for skipped in &report.skipped {
        output::text(format!("skipped {}: {}", skipped.key, skipped.reason))?;
    }
    Ok(Status::Success)
}
