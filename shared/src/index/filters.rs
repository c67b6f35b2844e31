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
/// Version of the layout below without a path list.
pub const VERSION: u8 = 1;
/// Version of the layout with a path list (a `paths:` policy's).
pub const VERSION_PATHS: u8 = 2;
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
    /// With [`super::policy::UNKEYED_OTHER_PATHS`] in `unkeyed`: the value paths keyed (at and
    /// below them); empty otherwise.
    pub paths: Vec<String>,
}

impl ChunkFilters {
    /// Whether chunk `i` may hold `key` of `domain` at `path`.
    pub fn may_hold(&self, i: usize, domain: super::Domain, path: &str, key: u64) -> bool {
        !super::policy::keyed_in(self.unkeyed, &self.paths, domain, path)
            || self.chunks.get(i).is_none_or(|f| f.may_hold(key))
    }
}

impl ChunkFilters {
    /// The encoded bytes (`docs/FORMATS.md`, "Chunk filters").
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = ChunkFiltersWriter::new(self.unkeyed, self.paths.clone(), Vec::new());
        for chunk in &self.chunks {
            // Writes into a Vec cannot fail.
            let _ = writer.push(chunk);
        }
        let (head, fingerprints, crc) = writer.finish();
        [head, fingerprints, crc.to_le_bytes().to_vec()].concat()
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
        if version != VERSION && version != VERSION_PATHS {
            return Err(corrupt(&format!(
                "version {version}, expected {VERSION} or {VERSION_PATHS}"
            )));
        }
        if unkeyed & !0b1111 != 0 {
            return Err(corrupt(&format!("unknown unkeyed domains {unkeyed:#04x}")));
        }
        let with_paths = unkeyed & super::policy::UNKEYED_OTHER_PATHS != 0;
        if with_paths != (version == VERSION_PATHS) {
            return Err(corrupt(
                "a path list without its policy, or the other way round",
            ));
        }
        let count = r.u32()? as usize;
        let mut paths = Vec::new();
        if with_paths {
            let n = r.u32()? as usize;
            if n > super::policy::MAX_POLICY_PATHS {
                return Err(corrupt(&format!("{n} paths")));
            }
            for _ in 0..n {
                let b = r.take(2)?;
                let len = usize::from(u16::from_le_bytes([b[0], b[1]]));
                let path = std::str::from_utf8(r.take(len)?)
                    .map_err(|_| corrupt("a path that is not UTF-8"))?;
                paths.push(path.to_owned());
            }
        }
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
        Ok(ChunkFilters {
            chunks,
            unkeyed,
            paths,
        })
    }
}

/// Encodes a filter set a chunk at a time into the bytes [`ChunkFilters::encode`] gives: the
/// descriptors are kept (28 bytes a chunk) and each filter's fingerprints go to `spool` as it is
/// pushed, so a segment of any size is filtered in memory bounded by one chunk's filter.
#[derive(Debug)]
pub struct ChunkFiltersWriter<S> {
    unkeyed: u8,
    paths: Vec<String>,
    descriptors: Vec<u8>,
    chunks: u32,
    spool: S,
    spooled: u64,
    spool_crc: u32,
}

impl<S: std::io::Write> ChunkFiltersWriter<S> {
    /// A set leaving out the domains in `unkeyed`, keying `paths` (see [`ChunkFilters`]). Paths
    /// a member cannot name (over [`super::policy::MAX_POLICY_PATH_BYTES`], or past the
    /// [`super::policy::MAX_POLICY_PATHS`]th) are left out of the list: a filter then treats
    /// them as unkeyed, which rules out less, never more.
    pub fn new(unkeyed: u8, mut paths: Vec<String>, spool: S) -> Self {
        paths.retain(|p| p.len() <= super::policy::MAX_POLICY_PATH_BYTES);
        paths.truncate(super::policy::MAX_POLICY_PATHS);
        ChunkFiltersWriter {
            unkeyed,
            paths,
            descriptors: Vec::new(),
            chunks: 0,
            spool,
            spooled: 0,
            spool_crc: 0,
        }
    }

    /// Appends the filter of the next chunk.
    pub fn push(&mut self, chunk: &ChunkFilter) -> std::io::Result<()> {
        let (count, seed, len, mask, total, fps) = match chunk {
            ChunkFilter::Empty => (0, 0, 0, 0, 0, 0),
            ChunkFilter::Unfiltered => (UNFILTERED, 0, 0, 0, 0, 0),
            ChunkFilter::Fuse(f) => (
                1,
                f.descriptor.seed,
                f.descriptor.segment_length,
                f.descriptor.segment_length_mask,
                f.descriptor.segment_count_length,
                f.fingerprints.len() as u32,
            ),
        };
        if let ChunkFilter::Fuse(f) = chunk {
            self.spool.write_all(&f.fingerprints)?;
            self.spool_crc = crc32c::crc32c_append(self.spool_crc, &f.fingerprints);
            self.spooled += f.fingerprints.len() as u64;
        }
        self.descriptors.extend_from_slice(&u32::to_le_bytes(count));
        self.descriptors.extend_from_slice(&seed.to_le_bytes());
        for v in [len, mask, total, fps] {
            self.descriptors.extend_from_slice(&v.to_le_bytes());
        }
        self.chunks += 1;
        Ok(())
    }

    /// The encoded set's length in bytes.
    pub fn encoded_len(&self) -> u64 {
        self.head_len() as u64 + self.spooled + 4
    }

    fn with_paths(&self) -> bool {
        self.unkeyed & super::policy::UNKEYED_OTHER_PATHS != 0
    }

    fn head_len(&self) -> usize {
        let paths = if self.with_paths() {
            4 + self.paths.iter().map(|p| 2 + p.len()).sum::<usize>()
        } else {
            0
        };
        12 + paths + self.descriptors.len()
    }

    /// The encoding as three parts: the head (magic, version, domains, count, descriptors), the
    /// spool (every fingerprint, in chunk order) and the CRC-32C of both, which ends it.
    pub fn finish(self) -> (Vec<u8>, S, u32) {
        let mut head = Vec::with_capacity(self.head_len());
        head.extend_from_slice(MAGIC);
        let version = if self.with_paths() {
            VERSION_PATHS
        } else {
            VERSION
        };
        head.extend_from_slice(&[version, self.unkeyed, 0, 0]);
        head.extend_from_slice(&self.chunks.to_le_bytes());
        if self.with_paths() {
            head.extend_from_slice(&(self.paths.len() as u32).to_le_bytes());
            for path in &self.paths {
                // `new` keeps paths of at most 256 bytes.
                let len = u16::try_from(path.len()).unwrap_or(u16::MAX);
                head.extend_from_slice(&len.to_le_bytes());
                head.extend_from_slice(path.as_bytes());
            }
        }
        head.extend_from_slice(&self.descriptors);
        let crc =
            crc32c::crc32c_combine(crc32c::crc32c(&head), self.spool_crc, self.spooled as usize);
        (head, self.spool, crc)
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
