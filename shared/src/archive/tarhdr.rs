//! The ustar header of one tar entry: building it and checking it.

use tar::{EntryType, Header};

use super::ArchiveError;

/// Size of a tar block (header, data padding unit, end-of-archive block).
pub(crate) const BLOCK: usize = 512;

/// Byte range of the checksum field inside a tar header.
const CKSUM_FIELD: std::ops::Range<usize> = 148..156;

/// Bytes of padding after `size` data bytes, up to the next 512 boundary.
pub(crate) fn padding_len(size: u64) -> usize {
    // The remainder is < 512, so the cast cannot truncate.
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// A ustar header for a regular file: `name` (≤ 100 bytes, in the name
/// field, empty prefix), mode 0644, uid/gid 0, empty user/group names, the
/// given size and mtime, valid checksum.
pub(crate) fn build(name: &str, size: u64, mtime: u64) -> Result<[u8; BLOCK], ArchiveError> {
    let mut header = Header::new_ustar();
    let ustar = header
        .as_ustar_mut()
        .ok_or(ArchiveError::InvalidName(name.to_owned()))?;
    let field = ustar
        .name
        .get_mut(..name.len())
        .ok_or(ArchiveError::InvalidName(name.to_owned()))?;
    field.copy_from_slice(name.as_bytes());
    header.set_entry_type(EntryType::Regular);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_cksum();
    Ok(*header.as_bytes())
}

/// What a 512-byte block decodes to.
pub(crate) enum Parsed {
    /// A regular-file header.
    File { name: String, size: u64 },
    /// An all-zero block (start of the end-of-archive marker).
    Zero,
}

/// Parses and validates a header block: checksum, ustar magic and version,
/// regular-file type, UTF-8 name, size field.
pub(crate) fn parse(block: &[u8; BLOCK], at: u64) -> Result<Parsed, ArchiveError> {
    if block.iter().all(|&b| b == 0) {
        return Ok(Parsed::Zero);
    }
    let corrupt = |reason: String| ArchiveError::CorruptMember { at, reason };
    let header = Header::from_byte_slice(block);
    let recorded = header
        .cksum()
        .map_err(|e| corrupt(format!("bad tar checksum field: {e}")))?;
    let computed = checksum(block);
    if recorded != computed {
        return Err(corrupt(format!(
            "tar header checksum {recorded:o} does not match computed {computed:o}"
        )));
    }
    if header.as_ustar().is_none() {
        return Err(corrupt("tar header is not ustar".to_owned()));
    }
    if header.entry_type() != EntryType::Regular || block.get(156) != Some(&b'0') {
        return Err(corrupt("tar entry is not a regular file".to_owned()));
    }
    let name = String::from_utf8(header.path_bytes().into_owned())
        .map_err(|_| corrupt("tar entry name is not UTF-8".to_owned()))?;
    let size = header
        .entry_size()
        .map_err(|e| corrupt(format!("bad tar size field: {e}")))?;
    Ok(Parsed::File { name, size })
}

/// The ustar checksum: unsigned sum of all header bytes, with the checksum
/// field itself counted as eight spaces.
fn checksum(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if CKSUM_FIELD.contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum()
}
