//! Fixed byte layout constants (`docs/FORMATS.md`, "WAL segment", tables 1 and 4).

/// Bytes 0..8 of every WAL segment.
pub const HEADER_MAGIC: [u8; 8] = *b"CHRNKWAL";
/// Bytes 8..16 of the trailer, the last 8 bytes of a sealed segment.
pub const TRAILER_MAGIC: [u8; 8] = *b"CHRNSEAL";
/// The file format version this build writes and reads (header bytes 8..10).
pub const FORMAT_VERSION: u16 = 1;
/// Version byte that starts each frame payload (the [`super::CanonicalRecord`] layout version).
pub const RECORD_VERSION: u8 = 1;
/// Version byte that starts the footer payload.
pub const FOOTER_VERSION: u8 = 1;
/// Header size: magic 8, version u16, flags u16, crc32c u32.
pub const HEADER_LEN: usize = 16;
/// Frame prefix: payload length u32, payload crc32c u32.
pub const FRAME_PREFIX_LEN: usize = 8;
/// Trailer size: footer length u32, footer crc32c u32, magic 8.
pub const TRAILER_LEN: usize = 16;
/// Largest frame payload accepted (a Kafka batch is at most a few MiB; this bounds allocation).
pub const MAX_FRAME_LEN: usize = 256 << 20;

/// bincode configuration of frame and footer payloads: little-endian, fixed-width integers, lengths as
/// u64. Fixed width keeps the layout a plain byte table any language can read.
pub(crate) fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<{ MAX_FRAME_LEN }>()
}

pub(crate) fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
