//! Scanning a segment of a Chronik broker's WAL a frame at a time (the checks are those of
//! [`crate::chronik::read_segment`]); batches a broker wrote out of order are put in order.

use super::ReadAt;
use super::scan::{BatchAt, PartitionPlan, ScanError};
use crate::chronik::{self, ChronikWalError};
use crate::types::TopicPartition;

/// A batch found in a frame, and where the frame starts.
struct Found {
    at: BatchAt,
    frame_position: u64,
}

/// The partition plan of the Chronik segment in `src` (none for a segment without data frames).
/// A frame longer than `max_frame_bytes` is rejected unread.
pub(super) fn scan(
    src: &(impl ReadAt + ?Sized),
    path_tp: Option<&TopicPartition>,
    max_frame_bytes: usize,
) -> Result<Option<PartitionPlan>, ScanError> {
    let size = src.size();
    let mut tp: Option<TopicPartition> = None;
    let mut found = Vec::new();
    let mut position: u64 = 0;
    while position < size {
        let at = usize::try_from(position).unwrap_or(usize::MAX);
        let head = src.read_up_to(position, chronik::HEADER_LEN)?;
        let body = head
            .get(chronik::LENGTH_FIELD)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes);
        let len = chronik::HEADER_LEN.saturating_add(body as usize);
        if len > max_frame_bytes {
            // What the header says is wrong comes first (magic, version, flags); then a frame the
            // segment cuts short; only then the limit.
            match chronik::parse_frame_bytes(&head, at) {
                Err(ChronikWalError::TornFrame { .. }) | Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
            let remaining = size - position;
            if len as u64 > remaining {
                return Err(ChronikWalError::TornFrame {
                    position: at,
                    missing: usize::try_from(len as u64 - remaining).unwrap_or(usize::MAX),
                }
                .into());
            }
            return Err(ChronikWalError::BadLength {
                position: at,
                length: body,
                reason: format!("over the {max_frame_bytes}-byte limit of a frame"),
            }
            .into());
        }
        let bytes = src.read_up_to(position, len)?;
        let frame = chronik::parse_frame_bytes(&bytes, at)?;
        let frame_tp = chronik::frame_partition(&frame)?;
        match &tp {
            Some(expected) if *expected != frame_tp => {
                return Err(ChronikWalError::MixedPartitions {
                    position: at,
                    expected: expected.clone(),
                    found: frame_tp,
                }
                .into());
            }
            Some(_) => {}
            None => tp = Some(frame_tp),
        }
        if let Some(stored) = chronik::stored_batch(&frame)? {
            let batch = stored.batch.bytes();
            let within = batch.as_ptr() as usize - bytes.as_ptr() as usize;
            let h = stored.batch.header();
            found.push(Found {
                at: BatchAt {
                    base_offset: h.base_offset,
                    last_offset: h.last_offset(),
                    position: position + within as u64,
                    len: u32::try_from(batch.len()).unwrap_or(u32::MAX),
                },
                frame_position: position,
            });
        }
        position += frame.len as u64;
    }
    let Some(tp) = tp else {
        return Ok(None);
    };
    if let Some(path) = path_tp.filter(|p| **p != tp) {
        return Err(ChronikWalError::PathMismatch {
            path: path.clone(),
            frames: tp,
        }
        .into());
    }
    let mut plan = PartitionPlan::new(tp);
    for at in in_order(src, &plan.tp, found)? {
        plan.push(at)?;
    }
    Ok(Some(plan))
}

/// `found` sorted by offset, a batch repeated byte for byte dropped; overlapping different
/// batches are a conflict.
fn in_order(
    src: &(impl ReadAt + ?Sized),
    tp: &TopicPartition,
    mut found: Vec<Found>,
) -> Result<Vec<BatchAt>, ScanError> {
    found.sort_by_key(|f| (f.at.base_offset, f.frame_position));
    let mut kept: Vec<Found> = Vec::with_capacity(found.len());
    for f in found {
        if let Some(prev) = kept.last()
            && f.at.base_offset <= prev.at.last_offset
        {
            let same = prev.at.len == f.at.len
                && src.read_vec(prev.at.position, prev.at.len as usize)?
                    == src.read_vec(f.at.position, f.at.len as usize)?;
            if same {
                continue;
            }
            return Err(ChronikWalError::ConflictingFrames {
                tp: tp.clone(),
                offset: f.at.base_offset,
                first: usize::try_from(prev.frame_position).unwrap_or(usize::MAX),
                second: usize::try_from(f.frame_position).unwrap_or(usize::MAX),
            }
            .into());
        }
        kept.push(f);
    }
    Ok(kept.into_iter().map(|f| f.at).collect())
}
