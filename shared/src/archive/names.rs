//! Member naming rules.

use super::ArchiveError;

/// Directory of record chunk members.
pub const RECORDS_PREFIX: &str = "records/";
/// Suffix of record chunk members.
pub const RECORDS_SUFFIX: &str = ".batches";
/// Directory of index file members.
pub const INDEX_PREFIX: &str = "index/";
/// Name of the manifest member (always the last file member).
pub const MANIFEST_NAME: &str = "manifest.json";
/// Longest accepted index file name, in bytes (`index/` + 90 fits ustar's
/// 100-byte name field without using the prefix field).
pub const MAX_INDEX_NAME_LEN: usize = 90;

/// Tar name of the chunk whose first batch starts at `first_offset`:
/// `records/` + the offset as 20 zero-padded decimal digits + `.batches`.
///
/// `first_offset` must be non-negative (the builder and TOC validation
/// guarantee it); a negative value would still format, with a sign.
pub fn chunk_member_name(first_offset: i64) -> String {
    format!("{RECORDS_PREFIX}{first_offset:020}{RECORDS_SUFFIX}")
}

/// Checks an index file name: non-empty, at most [`MAX_INDEX_NAME_LEN`]
/// bytes, only ASCII graphic characters (`0x21..=0x7e`: no space, no control
/// characters), no `/`, not `.`, and no `..` anywhere.
pub fn validate_index_name(name: &str) -> Result<(), ArchiveError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_INDEX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
        && name != "."
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(ArchiveError::InvalidName(name.to_owned()))
    }
}

/// Tar name of an index file: `index/<name>`, after [`validate_index_name`].
pub fn index_member_name(name: &str) -> Result<String, ArchiveError> {
    validate_index_name(name)?;
    Ok(format!("{INDEX_PREFIX}{name}"))
}

/// Checks a full tar name of an index member (`index/<valid name>`).
pub(crate) fn validate_index_member_name(full: &str) -> Result<(), ArchiveError> {
    match full.strip_prefix(INDEX_PREFIX) {
        Some(name) => validate_index_name(name),
        None => Err(ArchiveError::InvalidName(full.to_owned())),
    }
}
