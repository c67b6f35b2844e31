//! Binary TOC encoding: version byte + bincode v2 (standard config) of a
//! delta-coded mirror of [`Toc`].
//!
//! Every delta is computed with wrapping two's-complement arithmetic against
//! a running predecessor, so encoding is a bijection for *any* field values
//! (decode(encode(t)) == t field by field); invariants are checked afterwards
//! by [`Toc::validate`].

use bincode::{Decode, Encode};

use super::{ArchiveError, ByteRange, ChunkEntry, MemberEntry, Toc};

/// Upper bound on what decoding may allocate, against hostile length prefixes.
const DECODE_LIMIT: usize = 16 << 20;

#[derive(Encode, Decode)]
struct WireToc {
    chunks: Vec<WireChunk>,
    index_files: Vec<WireMember>,
    manifest: WireMember,
}

#[derive(Encode, Decode)]
struct WireChunk {
    /// first_offset − previous chunk's last_offset − 1 (previous = −1 for the first chunk).
    offset_gap: u64,
    /// last_offset − first_offset.
    offset_span: u64,
    /// min_timestamp − previous chunk's min_timestamp (previous = 0 for the first chunk).
    min_timestamp_delta: i64,
    /// max_timestamp − min_timestamp.
    timestamp_span: u64,
    batch_count: u32,
    range: WireRange,
    data_len: u64,
    /// CRC-32C as 4 little-endian bytes (a fixed 4 bytes beats a varint).
    crc32c: [u8; 4],
}

#[derive(Encode, Decode)]
struct WireMember {
    name: String,
    range: WireRange,
    data_len: u64,
    crc32c: [u8; 4],
}

#[derive(Encode, Decode)]
struct WireRange {
    /// start − end of the previous range in the TOC (0 before the first).
    gap: u64,
    /// end − start.
    len: u64,
}

impl WireRange {
    fn from_range(r: ByteRange, cursor: &mut u64) -> Self {
        let wire = Self {
            gap: r.start.wrapping_sub(*cursor),
            len: r.end.wrapping_sub(r.start),
        };
        *cursor = r.end;
        wire
    }

    fn to_range(&self, cursor: &mut u64) -> ByteRange {
        let start = cursor.wrapping_add(self.gap);
        let range = ByteRange::new(start, start.wrapping_add(self.len));
        *cursor = range.end;
        range
    }
}

impl WireMember {
    fn from_entry(m: &MemberEntry, cursor: &mut u64) -> Self {
        Self {
            name: m.name.clone(),
            range: WireRange::from_range(m.range, cursor),
            data_len: m.data_len,
            crc32c: m.crc32c.to_le_bytes(),
        }
    }

    fn into_entry(self, cursor: &mut u64) -> MemberEntry {
        MemberEntry {
            range: self.range.to_range(cursor),
            name: self.name,
            data_len: self.data_len,
            crc32c: u32::from_le_bytes(self.crc32c),
        }
    }
}

pub(crate) fn encode(toc: &Toc) -> Vec<u8> {
    let mut cursor = 0u64;
    let (mut prev_last, mut prev_min_ts) = (-1i64, 0i64);
    let chunks = toc
        .chunks
        .iter()
        .map(|c| {
            let wire = WireChunk {
                offset_gap: c.first_offset.wrapping_sub(prev_last).wrapping_sub(1) as u64,
                offset_span: c.last_offset.wrapping_sub(c.first_offset) as u64,
                min_timestamp_delta: c.min_timestamp.wrapping_sub(prev_min_ts),
                timestamp_span: c.max_timestamp.wrapping_sub(c.min_timestamp) as u64,
                batch_count: c.batch_count,
                range: WireRange::from_range(c.range, &mut cursor),
                data_len: c.data_len,
                crc32c: c.crc32c.to_le_bytes(),
            };
            (prev_last, prev_min_ts) = (c.last_offset, c.min_timestamp);
            wire
        })
        .collect();
    let index_files = toc
        .index_files
        .iter()
        .map(|m| WireMember::from_entry(m, &mut cursor))
        .collect();
    let manifest = WireMember::from_entry(&toc.manifest, &mut cursor);
    let wire = WireToc {
        chunks,
        index_files,
        manifest,
    };
    let mut out = vec![Toc::VERSION];
    // Encoding plain integers, strings and vectors into a Vec cannot fail.
    bincode::encode_into_std_write(&wire, &mut out, bincode::config::standard())
        .expect("bincode encoding into a Vec<u8> is infallible");
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<Toc, ArchiveError> {
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| ArchiveError::CorruptToc("empty input".to_owned()))?;
    if version != Toc::VERSION {
        return Err(ArchiveError::UnsupportedVersion(version));
    }
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    let (wire, used): (WireToc, usize) = bincode::decode_from_slice(body, config)
        .map_err(|e| ArchiveError::CorruptToc(e.to_string()))?;
    if used != body.len() {
        return Err(ArchiveError::CorruptToc(format!(
            "{} trailing bytes",
            body.len().saturating_sub(used)
        )));
    }
    let mut cursor = 0u64;
    let (mut prev_last, mut prev_min_ts) = (-1i64, 0i64);
    let chunks = wire
        .chunks
        .into_iter()
        .map(|w| {
            let first_offset = prev_last.wrapping_add(1).wrapping_add(w.offset_gap as i64);
            let min_timestamp = prev_min_ts.wrapping_add(w.min_timestamp_delta);
            let chunk = ChunkEntry {
                first_offset,
                last_offset: first_offset.wrapping_add(w.offset_span as i64),
                min_timestamp,
                max_timestamp: min_timestamp.wrapping_add(w.timestamp_span as i64),
                batch_count: w.batch_count,
                range: w.range.to_range(&mut cursor),
                data_len: w.data_len,
                crc32c: u32::from_le_bytes(w.crc32c),
            };
            (prev_last, prev_min_ts) = (chunk.last_offset, chunk.min_timestamp);
            chunk
        })
        .collect();
    let index_files = wire
        .index_files
        .into_iter()
        .map(|w| w.into_entry(&mut cursor))
        .collect();
    let manifest = wire.manifest.into_entry(&mut cursor);
    Ok(Toc {
        chunks,
        index_files,
        manifest,
    })
}
