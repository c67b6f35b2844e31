use super::layout::{
    FOOTER_VERSION, FORMAT_VERSION, FRAME_PREFIX_LEN, HEADER_LEN, HEADER_MAGIC, MAX_FRAME_LEN,
    RECORD_VERSION, TRAILER_LEN, TRAILER_MAGIC, bincode_config, read_u32,
};
use super::{CanonicalRecord, PartitionSeal, SealFooter, WalError};
use crate::source::ReadAt;

/// A fully validated sealed WAL segment.
///
/// [`WalSegment::parse`] checks, in order: header magic, version and CRC; the seal trailer; the footer
/// CRC and version; every frame's length, CRC and version; the CRC over all frames; and that the footer's
/// frame count and per-partition ranges equal what the frames contain. Any failure is an error: a
/// segment is accepted whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalSegment {
    /// The frames, in file order.
    pub records: Vec<CanonicalRecord>,
    /// The seal footer.
    pub footer: SealFooter,
}

/// Whether `bytes` starts like a WAL segment (magic only; use [`WalSegment::parse`] to validate).
pub fn is_wal(bytes: &[u8]) -> bool {
    bytes.starts_with(&HEADER_MAGIC)
}

fn check_crc(what: &'static str, at: usize, stored: u32, data: &[u8]) -> Result<(), WalError> {
    let computed = crc32c::crc32c(data);
    if stored != computed {
        return Err(WalError::CrcMismatch {
            what,
            at,
            stored,
            computed,
        });
    }
    Ok(())
}

/// Decodes a version-prefixed bincode payload that must be consumed exactly.
fn decode_payload<T: bincode::Decode<()>>(
    what: &'static str,
    at: usize,
    payload: &[u8],
    expected_version: u8,
) -> Result<T, WalError> {
    let (&version, body) = payload.split_first().ok_or(WalError::Malformed {
        what,
        at,
        reason: "empty payload".into(),
    })?;
    if version != expected_version {
        return Err(WalError::UnsupportedVersion {
            what,
            version: u32::from(version),
        });
    }
    let malformed = |reason: String| WalError::Malformed { what, at, reason };
    let (value, used) =
        bincode::decode_from_slice(body, bincode_config()).map_err(|e| malformed(e.to_string()))?;
    if used != body.len() {
        return Err(malformed(format!("{} trailing bytes", body.len() - used)));
    }
    Ok(value)
}

impl WalSegment {
    /// Parses and validates a whole sealed segment.
    pub fn parse(bytes: &[u8]) -> Result<WalSegment, WalError> {
        let mut records = Vec::new();
        let footer = scan::<InMemory>(bytes, |_, record, _| {
            records.push(record);
            Ok(())
        })
        .map_err(|InMemory(e)| e)?;
        Ok(WalSegment { records, footer })
    }
}

/// [`scan`]'s error over bytes in memory, where every read is within bounds.
struct InMemory(WalError);

impl From<WalError> for InMemory {
    fn from(e: WalError) -> Self {
        InMemory(e)
    }
}

impl From<std::io::Error> for InMemory {
    fn from(e: std::io::Error) -> Self {
        InMemory(WalError::Malformed {
            what: "segment",
            at: 0,
            reason: e.to_string(),
        })
    }
}

/// A [`WalError::Truncated`] unless `needed` bytes at `at` lie within `len`.
fn need_in(len: u64, what: &'static str, at: u64, needed: usize) -> Result<(), WalError> {
    let end = at.checked_add(needed as u64);
    if end.is_none_or(|end| end > len) {
        return Err(WalError::Truncated {
            what,
            at: usize::try_from(at).unwrap_or(usize::MAX),
            needed,
            len: usize::try_from(len).unwrap_or(usize::MAX),
        });
    }
    Ok(())
}

/// Validates the sealed segment in `src` as [`WalSegment::parse`] does, reading one frame at a
/// time (memory is bounded by the largest frame, [`super::layout::MAX_FRAME_LEN`]), and hands
/// every frame to `on_frame` in file order with its index and the position in `src` of its
/// batch bytes (the record's last field).
///
/// Frames are handed over before the checksum over all frames and the footer's summary are
/// checked at the end: a caller acts on them only once `scan` has returned `Ok`.
pub fn scan<E>(
    src: &(impl ReadAt + ?Sized),
    mut on_frame: impl FnMut(usize, CanonicalRecord, u64) -> Result<(), E>,
) -> Result<SealFooter, E>
where
    E: From<WalError> + From<std::io::Error>,
{
    let size = src.size();
    need_in(size, "header", 0, HEADER_LEN)?;
    let header = src.read_vec(0, HEADER_LEN)?;
    if !is_wal(&header) {
        return Err(WalError::BadMagic(header[..8].to_vec()).into());
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != FORMAT_VERSION {
        return Err(WalError::UnsupportedVersion {
            what: "file",
            version: version.into(),
        }
        .into());
    }
    let header_crc = read_u32(&header, 12).unwrap_or_default();
    check_crc("header", 0, header_crc, &header[..12])?;
    let flags = u16::from_le_bytes([header[10], header[11]]);
    if flags != 0 {
        return Err(WalError::Malformed {
            what: "header",
            at: 10,
            reason: format!("flags {flags:#06x} are set; version 1 defines none"),
        }
        .into());
    }

    let too_short = size < (HEADER_LEN + TRAILER_LEN) as u64;
    let trailer_at = size.saturating_sub(TRAILER_LEN as u64);
    let trailer = if too_short {
        Vec::new()
    } else {
        src.read_vec(trailer_at, TRAILER_LEN)?
    };
    if too_short || !trailer.ends_with(&TRAILER_MAGIC) {
        return Err(WalError::NotSealed.into());
    }
    let footer_len = read_u32(&trailer, 0).unwrap_or_default() as usize;
    let footer_crc = read_u32(&trailer, 4).unwrap_or_default();
    if footer_len > MAX_FRAME_LEN {
        // bincode could not decode more (its limit); refused before anything is allocated.
        return Err(WalError::Malformed {
            what: "footer",
            at: usize::try_from(trailer_at).unwrap_or(usize::MAX),
            reason: format!("length {footer_len} exceeds the {MAX_FRAME_LEN}-byte limit"),
        }
        .into());
    }
    let footer_at = trailer_at
        .checked_sub(footer_len as u64)
        .filter(|&at| at >= HEADER_LEN as u64)
        .ok_or(WalError::Truncated {
            what: "footer",
            at: usize::try_from(trailer_at).unwrap_or(usize::MAX),
            needed: footer_len,
            len: usize::try_from(size).unwrap_or(usize::MAX),
        })?;
    let footer_pos = usize::try_from(footer_at).unwrap_or(usize::MAX);
    let footer_bytes = src.read_vec(footer_at, footer_len)?;
    check_crc("footer", footer_pos, footer_crc, &footer_bytes)?;
    let footer: SealFooter = decode_payload("footer", footer_pos, &footer_bytes, FOOTER_VERSION)?;
    drop(footer_bytes);

    let frames_len = footer_at - HEADER_LEN as u64;
    let mut summary = Summary::default();
    let mut frames_crc = 0;
    let mut pos: u64 = 0;
    let mut index = 0;
    while pos < frames_len {
        let at = usize::try_from(HEADER_LEN as u64 + pos).unwrap_or(usize::MAX);
        need_in(frames_len, "frame prefix", pos, FRAME_PREFIX_LEN)?;
        let prefix = src.read_vec(HEADER_LEN as u64 + pos, FRAME_PREFIX_LEN)?;
        let len = read_u32(&prefix, 0).unwrap_or_default() as usize;
        let stored = read_u32(&prefix, 4).unwrap_or_default();
        if len > MAX_FRAME_LEN {
            return Err(WalError::Malformed {
                what: "frame",
                at,
                reason: format!("length {len} exceeds the {MAX_FRAME_LEN}-byte limit"),
            }
            .into());
        }
        let start = pos + FRAME_PREFIX_LEN as u64;
        if need_in(frames_len, "frame payload", start, len).is_err() {
            return Err(WalError::Truncated {
                what: "frame payload",
                at: usize::try_from(HEADER_LEN as u64 + start).unwrap_or(usize::MAX),
                needed: len,
                len: usize::try_from(footer_at).unwrap_or(usize::MAX),
            }
            .into());
        }
        let payload = src.read_vec(HEADER_LEN as u64 + start, len)?;
        check_crc("frame", at, stored, &payload)?;
        frames_crc = crc32c::crc32c_append(frames_crc, &prefix);
        frames_crc = crc32c::crc32c_append(frames_crc, &payload);
        let record: CanonicalRecord = decode_payload("frame", at, &payload, RECORD_VERSION)?;
        summary.add(&record);
        let batch_at = HEADER_LEN as u64 + start + (len - record.batch.len()) as u64;
        on_frame(index, record, batch_at)?;
        index += 1;
        pos = start + len as u64;
    }
    if footer.frames_crc != frames_crc {
        return Err(WalError::CrcMismatch {
            what: "frames",
            at: HEADER_LEN,
            stored: footer.frames_crc,
            computed: frames_crc,
        }
        .into());
    }
    verify_footer(&footer, &summary)?;
    Ok(footer)
}

/// What the frames read so far add up to, as the footer states it.
#[derive(Default)]
struct Summary {
    frames: u64,
    partitions: Vec<PartitionSeal>,
}

impl Summary {
    fn add(&mut self, r: &CanonicalRecord) {
        self.frames += 1;
        match self
            .partitions
            .iter_mut()
            .find(|p| p.topic == r.topic && p.partition == r.partition)
        {
            Some(p) => {
                p.last_offset = r.last_offset;
                p.batch_count += 1;
                p.record_count += u64::from(r.record_count);
            }
            None => self.partitions.push(PartitionSeal {
                topic: r.topic.clone(),
                partition: r.partition,
                first_offset: r.base_offset,
                last_offset: r.last_offset,
                batch_count: 1,
                record_count: u64::from(r.record_count),
            }),
        }
    }
}

fn verify_footer(footer: &SealFooter, summary: &Summary) -> Result<(), WalError> {
    if footer.frame_count != summary.frames {
        return Err(WalError::FooterMismatch(format!(
            "footer says {} frames, file has {}",
            footer.frame_count, summary.frames
        )));
    }
    let seen = &summary.partitions;
    if *seen != footer.partitions {
        // Name the first difference only: a footer of thousands of partitions must not make a
        // message of hundreds of kilobytes.
        let first = footer
            .partitions
            .iter()
            .zip(seen.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(footer.partitions.len().min(seen.len()));
        return Err(WalError::FooterMismatch(format!(
            "per-partition summary ({} entries) does not match the frames ({} partitions): entry {first} says {:?}, the frames give {:?}",
            footer.partitions.len(),
            seen.len(),
            footer.partitions.get(first),
            seen.get(first)
        )));
    }
    Ok(())
}
