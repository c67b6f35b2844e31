use super::layout::{
    FOOTER_VERSION, FORMAT_VERSION, FRAME_PREFIX_LEN, HEADER_LEN, HEADER_MAGIC, MAX_FRAME_LEN,
    RECORD_VERSION, TRAILER_LEN, TRAILER_MAGIC, bincode_config, read_u32,
};
use super::{CanonicalRecord, PartitionSeal, SealFooter, WalError};

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

fn need(bytes: &[u8], what: &'static str, at: usize, needed: usize) -> Result<(), WalError> {
    if at.checked_add(needed).is_none_or(|end| end > bytes.len()) {
        return Err(WalError::Truncated {
            what,
            at,
            needed,
            len: bytes.len(),
        });
    }
    Ok(())
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
        need(bytes, "header", 0, HEADER_LEN)?;
        if !is_wal(bytes) {
            return Err(WalError::BadMagic(bytes[..8].to_vec()));
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(WalError::UnsupportedVersion {
                what: "file",
                version: version.into(),
            });
        }
        let header_crc = read_u32(bytes, 12).unwrap_or_default();
        check_crc("header", 0, header_crc, &bytes[..12])?;
        let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
        if flags != 0 {
            return Err(WalError::Malformed {
                what: "header",
                at: 10,
                reason: format!("flags {flags:#06x} are set; version 1 defines none"),
            });
        }

        if bytes.len() < HEADER_LEN + TRAILER_LEN || !bytes.ends_with(&TRAILER_MAGIC) {
            return Err(WalError::NotSealed);
        }
        let trailer_at = bytes.len() - TRAILER_LEN;
        let footer_len = read_u32(bytes, trailer_at).unwrap_or_default() as usize;
        let footer_crc = read_u32(bytes, trailer_at + 4).unwrap_or_default();
        let footer_at = trailer_at
            .checked_sub(footer_len)
            .filter(|&at| at >= HEADER_LEN)
            .ok_or(WalError::Truncated {
                what: "footer",
                at: trailer_at,
                needed: footer_len,
                len: bytes.len(),
            })?;
        let footer_bytes = &bytes[footer_at..trailer_at];
        check_crc("footer", footer_at, footer_crc, footer_bytes)?;
        let footer: SealFooter = decode_payload("footer", footer_at, footer_bytes, FOOTER_VERSION)?;

        let frames = &bytes[HEADER_LEN..footer_at];
        let records = parse_frames(frames)?;
        check_crc("frames", HEADER_LEN, footer.frames_crc, frames)?;
        verify_footer(&footer, &records)?;
        Ok(WalSegment { records, footer })
    }
}

fn parse_frames(frames: &[u8]) -> Result<Vec<CanonicalRecord>, WalError> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < frames.len() {
        let at = HEADER_LEN + pos;
        need(frames, "frame prefix", pos, FRAME_PREFIX_LEN)?;
        let len = read_u32(frames, pos).unwrap_or_default() as usize;
        let stored = read_u32(frames, pos + 4).unwrap_or_default();
        if len > MAX_FRAME_LEN {
            return Err(WalError::Malformed {
                what: "frame",
                at,
                reason: format!("length {len} exceeds the {MAX_FRAME_LEN}-byte limit"),
            });
        }
        let start = pos + FRAME_PREFIX_LEN;
        need(frames, "frame payload", start, len).map_err(|e| match e {
            WalError::Truncated { needed, .. } => WalError::Truncated {
                what: "frame payload",
                at: HEADER_LEN + start,
                needed,
                len: HEADER_LEN + frames.len(),
            },
            other => other,
        })?;
        let payload = &frames[start..start + len];
        check_crc("frame", at, stored, payload)?;
        records.push(decode_payload("frame", at, payload, RECORD_VERSION)?);
        pos = start + len;
    }
    Ok(records)
}

fn verify_footer(footer: &SealFooter, records: &[CanonicalRecord]) -> Result<(), WalError> {
    if footer.frame_count != records.len() as u64 {
        return Err(WalError::FooterMismatch(format!(
            "footer says {} frames, file has {}",
            footer.frame_count,
            records.len()
        )));
    }
    let mut seen: Vec<PartitionSeal> = Vec::new();
    for r in records {
        match seen
            .iter_mut()
            .find(|p| p.topic == r.topic && p.partition == r.partition)
        {
            Some(p) => {
                p.last_offset = r.last_offset;
                p.batch_count += 1;
                p.record_count += u64::from(r.record_count);
            }
            None => seen.push(PartitionSeal {
                topic: r.topic.clone(),
                partition: r.partition,
                first_offset: r.base_offset,
                last_offset: r.last_offset,
                batch_count: 1,
                record_count: u64::from(r.record_count),
            }),
        }
    }
    if seen != footer.partitions {
        // Name the first difference only: a footer of thousands of partitions must not make a
        // message of hundreds of kilobytes.
        let first = footer
            .partitions
            .iter()
            .zip(&seen)
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
