//! Reads racing compaction. A reader looks a segment up in the catalog, then reads its archive; in
//! between, a merge can replace the segment and garbage collection can delete the old archive
//! (after its grace period, so only a slow reader sees this). Such a read looks the segment up once
//! more and tries again, from where it got to. Fetch, search and offsets-for-time all go through
//! [`reread_once!`].
//!
//! A macro rather than a function taking closures: the reads borrow the pipeline and the caller's
//! progress, and futures of borrowing async closures are not provably `Send` today, which every
//! caller (Lambda handlers, spawned tasks) needs.

/// `reread_once!(|entry| READ, first: FIRST, again: LOOKUP)`: evaluates `READ` (an awaited read
/// returning a `PipelineResult`, which may use `?`) with `entry` bound to `FIRST`, what the caller found in the catalog.
/// If the archive it names has vanished ([`crate::pipeline::PipelineError::is_vanished_archive`]),
/// binds `entry` to `LOOKUP` (an awaited, `?`-checked fresh catalog read) and evaluates `READ`
/// once more; a second vanished archive is the result.
macro_rules! reread_once {
    (|$entry:ident| $read:expr, first: $first:expr, again: $lookup:expr $(,)?) => {{
        let $entry = $first;
        // `READ` may use `?`: inside a block, so that an error reaches the check below.
        let first: $crate::pipeline::PipelineResult<_> = async { $read }.await;
        match first {
            Err(e) if e.is_vanished_archive() => {
                tracing::debug!(error = %e, "archive vanished after the catalog read; reading the catalog again");
                let $entry = $lookup;
                $read
            }
            other => other,
        }
    }};
}

pub(super) use reread_once;
