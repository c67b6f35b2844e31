//! Seekable tar.gz archives of one log segment, plus their table of contents.
//!
//! An archive is an ordinary tar.gz (`tar xzf` extracts it) built so that
//! every tar entry (512-byte ustar header + data + zero padding to 512) is
//! compressed as its own complete gzip member; the archive is those members
//! concatenated, followed by one gzip member holding the tar end-of-archive
//! marker (two zero blocks). Any entry can therefore be fetched with a single
//! byte-range read and decompressed on its own.
//!
//! Members, in order:
//! 1. `records/<first_offset:020>.batches`: record chunks, whole Kafka batches
//!    concatenated (see [`ArchiveBuilder::push_batch`] for the chunking rule);
//! 2. `index/<name>`: index files, adjacent (one ranged read gets them all);
//! 3. `manifest.json`;
//! 4. the end-of-archive member.
//!
//! [`ArchiveWriter`] writes one segment's archive in that order and derives its
//! [`Manifest`] from the batches; [`ArchiveBuilder`] is the member-level
//! writer under it. The builder returns a [`Toc`] with every member's byte range, length and
//! CRC-32C; it is stored in the catalog (binary form: [`Toc::encode`]), so a
//! reader fetches exactly the members it needs and nothing else. The exact
//! byte formats are specified in the archive section of `docs/FORMATS.md`.
//!
//! Readers never panic on archive or TOC bytes: every defect is an
//! [`ArchiveError`].

mod builder;
mod error;
mod manifest;
mod member;
mod names;
mod range;
mod reader;
mod tarhdr;
mod toc;
mod wire;
mod writer;

#[cfg(test)]
mod tests;

pub use builder::{ArchiveBuilder, ArchiveOptions, BatchSpan};
pub use error::ArchiveError;
pub use manifest::{MANIFEST_VERSION, Manifest};
pub use names::{
    INDEX_PREFIX, MANIFEST_NAME, MAX_INDEX_NAME_LEN, RECORDS_PREFIX, RECORDS_SUFFIX,
    chunk_member_name, index_member_name, validate_index_name,
};
pub use range::ByteRange;
pub use reader::{
    ArchiveListing, list_members, read_chunk, read_chunk_into, read_entry, read_member,
    read_members,
};
pub use toc::{ChunkEntry, MemberEntry, Toc};
pub use writer::{ArchiveIdentity, ArchiveWriter, IndexData, WrittenArchive};
