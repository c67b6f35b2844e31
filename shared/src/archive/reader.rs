//! Reading members back: one ranged read at a time, or a whole archive.

use super::member::{self, Decoded, Expect};
use super::names::chunk_member_name;
use super::{ArchiveError, ByteRange, ChunkEntry, MemberEntry, Toc};

/// Decodes exactly one gzip member holding one tar entry and returns the
/// entry's `(name, data)`.
///
/// Fails if `member` is truncated, has bytes after the member, is the
/// end-of-archive member, or is corrupt in any detected way: non-canonical
/// gzip header, deflate error, gzip CRC-32/ISIZE mismatch, bad tar checksum,
/// non-ustar or non-regular entry, non-zero padding, more than one entry.
pub fn read_member(member: &[u8]) -> Result<(String, Vec<u8>), ArchiveError> {
    read_member_at(member, 0)
}

fn read_member_at(input: &[u8], at: u64) -> Result<(String, Vec<u8>), ArchiveError> {
    let (decoded, used) = member::decode(input, at)?;
    if used != input.len() {
        return Err(ArchiveError::CorruptMember {
            at,
            reason: format!("{} bytes after the gzip member", input.len() - used),
        });
    }
    match decoded {
        Decoded::File { name, data } => Ok((name, data)),
        Decoded::End => Err(ArchiveError::CorruptMember {
            at,
            reason: "end-of-archive member, not a file".to_owned(),
        }),
    }
}

/// Splits `bytes` (which starts at absolute archive position `base`) into the
/// members at `ranges` and decodes each with [`read_member`]. Typical use:
/// fetch [`Toc::index_range`] in one request, then pass the index entries'
/// ranges. Fails with [`ArchiveError::RangeOutOfBounds`] if a range is not
/// inside `bytes`.
pub fn read_members(
    bytes: &[u8],
    ranges: impl IntoIterator<Item = ByteRange>,
    base: u64,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    ranges
        .into_iter()
        .map(|range| read_member_at(range.slice_of(bytes, base)?, range.start))
        .collect()
}

/// Decodes the member fetched from `entry.range` and returns the exact batch
/// bytes of the chunk. Beyond [`read_member`]'s checks: the member must be
/// exactly `entry.range.len()` bytes, named after `entry.first_offset`, hold
/// `entry.data_len` bytes (checked before decompressing the data) whose
/// CRC-32C equals `entry.crc32c`.
pub fn read_chunk(member: &[u8], entry: &ChunkEntry) -> Result<Vec<u8>, ArchiveError> {
    let mut data = Vec::new();
    read_chunk_into(member, entry, &mut data)?;
    Ok(data)
}

/// [`read_chunk`], appending the batch bytes to `out` (for a caller assembling a response):
/// a chunk stored uncompressed is copied once, from the member straight into `out`. On error
/// `out` is left as it was.
pub fn read_chunk_into(
    member: &[u8],
    entry: &ChunkEntry,
    out: &mut Vec<u8>,
) -> Result<(), ArchiveError> {
    let name = chunk_member_name(entry.first_offset);
    read_checked(
        member,
        &name,
        entry.range,
        entry.data_len,
        entry.crc32c,
        out,
    )
}

/// Like [`read_chunk`] for an index file or the manifest: checks the member
/// against `entry` (length of `member`, name, data length, CRC-32C) and
/// returns the file data.
pub fn read_entry(member: &[u8], entry: &MemberEntry) -> Result<Vec<u8>, ArchiveError> {
    let mut data = Vec::new();
    read_checked(
        member,
        &entry.name,
        entry.range,
        entry.data_len,
        entry.crc32c,
        &mut data,
    )?;
    Ok(data)
}

fn read_checked(
    input: &[u8],
    name: &str,
    range: ByteRange,
    size: u64,
    crc: u32,
    out: &mut Vec<u8>,
) -> Result<(), ArchiveError> {
    let at = range.start;
    let have = input.len() as u64;
    if have < range.len() {
        let detail = format!("member is {have} bytes, TOC range has {}", range.len());
        return Err(ArchiveError::Truncated { at, detail });
    }
    if have > range.len() {
        let reason = format!("member is {have} bytes, TOC range has {}", range.len());
        return Err(ArchiveError::CorruptMember { at, reason });
    }
    let start = out.len();
    member::decode_exact(input, at, Expect { name, size }, out)?;
    let actual = crc32c::crc32c(&out[start..]);
    if actual != crc {
        out.truncate(start);
        return Err(ArchiveError::ChecksumMismatch {
            name: name.to_owned(),
            expected: crc,
            actual,
        });
    }
    Ok(())
}

/// Every member of a whole archive, as found by walking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveListing {
    /// File members in archive order, with ranges, lengths and CRC-32Cs
    /// recomputed from the archive itself.
    pub members: Vec<MemberEntry>,
    /// The end-of-archive member (the last bytes of the archive).
    pub end_of_archive: ByteRange,
}

/// Walks a whole archive member by member (for `inspect` and verification),
/// decoding and checking each one. The archive must end with exactly one
/// end-of-archive member and nothing after it.
pub fn list_members(archive: &[u8]) -> Result<ArchiveListing, ArchiveError> {
    let mut members = Vec::new();
    let mut pos = 0usize;
    loop {
        let rest = archive.get(pos..).unwrap_or_default();
        let at = pos as u64;
        if rest.is_empty() {
            let detail = "archive ends without an end-of-archive member".to_owned();
            return Err(ArchiveError::Truncated { at, detail });
        }
        let (decoded, used) = member::decode(rest, at)?;
        let range = ByteRange::new(at, at + used as u64);
        pos += used;
        match decoded {
            Decoded::File { name, data } => {
                let crc32c = crc32c::crc32c(&data);
                members.push(MemberEntry {
                    name,
                    range,
                    data_len: data.len() as u64,
                    crc32c,
                });
            }
            Decoded::End => {
                if pos != archive.len() {
                    let reason = format!(
                        "{} bytes after the end-of-archive member",
                        archive.len() - pos
                    );
                    return Err(ArchiveError::CorruptMember {
                        at: pos as u64,
                        reason,
                    });
                }
                return Ok(ArchiveListing {
                    members,
                    end_of_archive: range,
                });
            }
        }
    }
}

impl ArchiveListing {
    /// Checks that this listing is exactly what `toc` describes: the chunks'
    /// members (names from their first offsets), then the index files, then
    /// the manifest, with equal ranges, data lengths and CRC-32Cs, and nothing
    /// else.
    pub fn check_toc(&self, toc: &Toc) -> Result<(), ArchiveError> {
        let expected: Vec<MemberEntry> = toc
            .chunks
            .iter()
            .map(|c| MemberEntry {
                name: chunk_member_name(c.first_offset),
                range: c.range,
                data_len: c.data_len,
                crc32c: c.crc32c,
            })
            .chain(toc.index_files.iter().cloned())
            .chain(std::iter::once(toc.manifest.clone()))
            .collect();
        if expected.len() != self.members.len() {
            let msg = format!(
                "TOC has {} members, archive has {}",
                expected.len(),
                self.members.len()
            );
            return Err(ArchiveError::TocMismatch(msg));
        }
        match expected.iter().zip(&self.members).find(|(e, m)| e != m) {
            Some((e, m)) => Err(ArchiveError::TocMismatch(format!(
                "TOC says {e:?}, archive has {m:?}"
            ))),
            None => Ok(()),
        }
    }
}
