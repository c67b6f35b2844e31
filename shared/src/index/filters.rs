//! Chunk filters: for each record chunk of an archive, a binary fuse filter of its records' token
//! keys ([`super::keys`]), so a search reads only the chunks that may hold a match.
//!
//! A filter answers "maybe" for every key of its chunk and, for any other key, "no" except with
//! probability ~1/256 (8-bit fingerprints, Graf & Lemire's binary fuse filters as implemented by
//! the `xorf` crate). The byte layout is specified in `docs/FORMATS.md`, "Chunk filters".

use xorf::{BinaryFuse8, Filter};

use super::IndexError;

/// Leading bytes of an encoded filter set.
pub const MAGIC: &[u8; 4] = b"CTKF";
/// Version of the layout below.
pub const VERSION: u8 = 1;
/// `key_count` of a chunk without a filter: every key may be present.
const UNFILTERED: u32 = u32::MAX;
/// Bytes of one chunk's descriptor.
const DESCRIPTOR_LEN: usize = 4 + 8 + 4 + 4 + 4 + 4;

/// The filter of one chunk.
#[derive(Clone, Debug)]
pub enum ChunkFilter {
    /// The chunk holds no key at all (only null or empty records).
    Empty,
    /// Keys the chunk may hold.
    Fuse(BinaryFuse8),
    /// No filter (the topic's policy indexes nothing): every key may be present.
    Unfiltered,
}

impl ChunkFilter {
    /// The filter of a chunk whose records hold `keys` (any order, duplicates allowed).
    pub fn build(mut keys: Vec<u64>) -> Result<ChunkFilter, IndexError> {
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() {
            return Ok(ChunkFilter::Empty);
        }
        BinaryFuse8::try_from(&keys)
            .map(ChunkFilter::Fuse)
            .map_err(|e| IndexError::InvalidArgument(format!("chunk filter: {e}")))
    }

    /// Whether the chunk may hold `key`.
    pub fn may_hold(&self, key: u64) -> bool {
        match self {
            ChunkFilter::Empty => false,
            ChunkFilter::Fuse(f) => f.contains(&key),
            ChunkFilter::Unfiltered => true,
        }
    }
}

/// The filters of an archive's chunks, in the TOC's chunk order.
#[derive(Clone, Debug, Default)]
pub struct ChunkFilters {
    /// One per chunk.
    pub chunks: Vec<ChunkFilter>,
    /// Which domains the filters leave out (the policy's [`super::IndexPolicy::unkeyed_mask`]):
    /// their keys are never in a filter, so a filter cannot rule them out.
    pub unkeyed: u8,
}

impl ChunkFilters {
    /// Whether chunk `i` may hold `key` of `domain`.
    pub fn may_hold(&self, i: usize, domain: super::Domain, key: u64) -> bool {
        !super::policy::keyed_in(self.unkeyed, domain)
            || self.chunks.get(i).is_none_or(|f| f.may_hold(key))
    }
}

impl ChunkFilters {
    /// The encoded bytes (`docs/FORMATS.md`, "Chunk filters").
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, self.unkeyed, 0, 0]);
        out.extend_from_slice(&(self.chunks.len() as u32).to_le_bytes());
        for chunk in &self.chunks {
            let (count, seed, len, mask, total, fps) = match chunk {
                ChunkFilter::Empty => (0, 0, 0, 0, 0, 0),
                ChunkFilter::Unfiltered => (UNFILTERED, 0, 0, 0, 0, 0),
                ChunkFilter::Fuse(f) => (
                    // Only the "empty or not" of the count matters to readers.
                    1,
                    f.descriptor.seed,
                    f.descriptor.segment_length,
                    f.descriptor.segment_length_mask,
                    f.descriptor.segment_count_length,
                    f.fingerprints.len() as u32,
                ),
            };
            out.extend_from_slice(&u32::to_le_bytes(count));
            out.extend_from_slice(&seed.to_le_bytes());
            for v in [len, mask, total, fps] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for chunk in &self.chunks {
            if let ChunkFilter::Fuse(f) = chunk {
                out.extend_from_slice(&f.fingerprints);
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes [`ChunkFilters::encode`]'s bytes, checking the CRC-32C, the version, that every
    /// descriptor is one the filter code can probe without reading out of bounds, and that
    /// `expected_chunks` filters are present. Errors are [`IndexError::Corrupt`].
    pub fn decode(bytes: &[u8], expected_chunks: usize) -> Result<ChunkFilters, IndexError> {
        let corrupt = |what: &str| IndexError::Corrupt(format!("chunk filters: {what}"));
        let (body, crc) = bytes
            .split_last_chunk::<4>()
            .ok_or_else(|| corrupt("too short"))?;
        if crc32c::crc32c(body) != u32::from_le_bytes(*crc) {
            return Err(corrupt("checksum mismatch"));
        }
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return Err(corrupt("not a filter set"));
        }
        let head = r.take(4)?;
        let (version, unkeyed) = (head[0], head[1]);
        if version != VERSION {
            return Err(corrupt(&format!("version {version}, expected {VERSION}")));
        }
        if unkeyed & !0b111 != 0 {
            return Err(corrupt(&format!("unknown unkeyed domains {unkeyed:#04x}")));
        }
        let count = r.u32()? as usize;
        if count != expected_chunks {
            return Err(corrupt(&format!(
                "{count} filters for {expected_chunks} chunks"
            )));
        }
        // Each descriptor takes DESCRIPTOR_LEN bytes: a count larger than the body is a lie.
        if count > r.0.len() / DESCRIPTOR_LEN {
            return Err(corrupt("more filters than bytes"));
        }
        let mut descriptors = Vec::with_capacity(count);
        for _ in 0..count {
            let keys = r.u32()?;
            let seed = r.u64()?;
            let (len, mask, total, fps) = (r.u32()?, r.u32()?, r.u32()?, r.u32()?);
            descriptors.push((keys, seed, len, mask, total, fps));
        }
        let mut chunks = Vec::with_capacity(count);
        for (keys, seed, len, mask, total, fps) in descriptors {
            let chunk = match keys {
                0 => ChunkFilter::Empty,
                UNFILTERED => ChunkFilter::Unfiltered,
                _ => {
                    // Probes touch indexes below `total + 2 * len` (xorf's hash_of_hash).
                    let reach = u64::from(total) + 2 * u64::from(len);
                    if !len.is_power_of_two() || mask != len - 1 || u64::from(fps) < reach {
                        return Err(corrupt("a descriptor the filter cannot probe"));
                    }
                    ChunkFilter::Fuse(BinaryFuse8 {
                        descriptor: xorf::Descriptor {
                            seed,
                            segment_length: len,
                            segment_length_mask: mask,
                            segment_count_length: total,
                        },
                        fingerprints: r.take(fps as usize)?.into(),
                    })
                }
            };
            chunks.push(chunk);
        }
        if !r.0.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(ChunkFilters { chunks, unkeyed })
    }
}

/// Little-endian reads off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        if self.0.len() < n {
            return Err(IndexError::Corrupt("chunk filters: truncated".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, IndexError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, IndexError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}
