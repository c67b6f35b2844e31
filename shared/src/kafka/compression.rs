//! Compression codecs of the records section (attribute bits 0..=2).
//!
//! Decoders accept what Kafka clients write for magic v2: gzip (one or more
//! members), snappy as a raw block or in xerial framing, the LZ4 frame format
//! (and, as Chronik brokers store LZ4, a size-prefixed raw block), and zstd
//! frames. Every decoder is capped by a size limit so that a small
//! hostile payload cannot expand into an unbounded allocation.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use super::error::KafkaError;

/// Default cap on the decompressed size of one batch's records: 512 MiB.
pub const MAX_DECOMPRESSED_SIZE: usize = 512 * 1024 * 1024;

/// Magic that opens a xerial-framed snappy stream (the Java client's format).
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Magic, then big-endian i32 version and i32 minimum compatible version.
const XERIAL_HEADER_LEN: usize = XERIAL_MAGIC.len() + 8;
/// Version and compat values written by the xerial library (and by us).
const XERIAL_VERSION: i32 = 1;
/// Uncompressed bytes per xerial block, as in the xerial library.
const XERIAL_BLOCK_SIZE: usize = 32 * 1024;

/// Compression codec of a batch, stored in attribute bits 0..=2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Code 0: records are stored as is.
    None,
    /// Code 1: gzip (RFC 1952).
    Gzip,
    /// Code 2: snappy, xerial-framed or a raw block.
    Snappy,
    /// Code 3: LZ4 frame format.
    Lz4,
    /// Code 4: zstd frames.
    Zstd,
}

impl Compression {
    /// Every codec, in code order.
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    /// The codec for a code in attribute bits 0..=2.
    ///
    /// Returns [`KafkaError::UnsupportedCompression`] for codes 5..=7 (or anything above 7).
    pub fn from_code(code: u8) -> Result<Compression, KafkaError> {
        Compression::ALL
            .into_iter()
            .find(|codec| codec.code() == code)
            .ok_or(KafkaError::UnsupportedCompression(code))
    }

    /// The code stored in attribute bits 0..=2.
    pub fn code(self) -> u8 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The lowercase name Kafka uses for `compression.type`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = KafkaError;

    /// Parses the exact lowercase names "none", "gzip", "snappy", "lz4", "zstd".
    fn from_str(name: &str) -> Result<Compression, KafkaError> {
        Compression::ALL
            .into_iter()
            .find(|codec| codec.name() == name)
            .ok_or_else(|| KafkaError::UnknownCompressionName(name.to_owned()))
    }
}

/// Decompresses a records section written with `codec`.
///
/// Output larger than `limit` bytes yields [`KafkaError::TooLarge`]; any
/// decoder failure (corrupt data, bad checksum, truncated stream) yields
/// [`KafkaError::Decompress`]. `Compression::None` returns the input unchanged
/// if it fits in `limit`.
pub fn decompress(codec: Compression, data: &[u8], limit: usize) -> Result<Vec<u8>, KafkaError> {
    match codec {
        Compression::None if data.len() > limit => Err(KafkaError::TooLarge { limit }),
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => read_capped(codec, flate2::read::MultiGzDecoder::new(data), limit),
        Compression::Snappy if data.starts_with(&XERIAL_MAGIC) => snappy_xerial_decode(data, limit),
        Compression::Snappy => {
            let mut out = Vec::new();
            snappy_block_decode(data, limit, &mut out)?;
            Ok(out)
        }
        Compression::Lz4 if data.starts_with(&LZ4_FRAME_MAGIC) => {
            read_capped(codec, lz4_flex::frame::FrameDecoder::new(data), limit)
        }
        Compression::Lz4 => lz4_size_prepended_decode(data, limit),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(data)
                .map_err(|err| decompress_error(codec, err))?;
            read_capped(codec, decoder, limit)
        }
    }
}

/// Compresses with LZ4 the way a Chronik broker accepts and stores it: the
/// decompressed size (4 bytes, little-endian), then one raw LZ4 block.
pub fn compress_lz4_size_prepended(data: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(data)
}

/// Compresses a records section the way the Java producer does: gzip,
/// xerial-framed snappy (32 KiB blocks), LZ4 frame (64 KiB independent
/// blocks), zstd frame (level 3). `Compression::None` copies the input.
pub fn compress(codec: Compression, data: &[u8]) -> Result<Vec<u8>, KafkaError> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encode_stream(codec, encoder, data, flate2::write::GzEncoder::finish)
        }
        Compression::Snappy => snappy_xerial_encode(data),
        Compression::Lz4 => {
            let frame_info = lz4_flex::frame::FrameInfo::new()
                .block_size(lz4_flex::frame::BlockSize::Max64KB)
                .block_mode(lz4_flex::frame::BlockMode::Independent);
            let encoder = lz4_flex::frame::FrameEncoder::with_frame_info(frame_info, Vec::new());
            encode_stream(codec, encoder, data, lz4_flex::frame::FrameEncoder::finish)
        }
        Compression::Zstd => {
            zstd::bulk::compress(data, 3).map_err(|err| compress_error(codec, err))
        }
    }
}

/// Writes `data` through a streaming encoder and finishes it.
fn encode_stream<E: Write, F: fmt::Display>(
    codec: Compression,
    mut encoder: E,
    data: &[u8],
    finish: impl FnOnce(E) -> Result<Vec<u8>, F>,
) -> Result<Vec<u8>, KafkaError> {
    encoder
        .write_all(data)
        .map_err(|err| compress_error(codec, err))?;
    finish(encoder).map_err(|err| compress_error(codec, err))
}

fn compress_error(codec: Compression, reason: impl fmt::Display) -> KafkaError {
    KafkaError::Compress {
        codec,
        reason: reason.to_string(),
    }
}

fn decompress_error(codec: Compression, reason: impl fmt::Display) -> KafkaError {
    KafkaError::Decompress {
        codec,
        reason: reason.to_string(),
    }
}

/// Reads a streaming decoder to the end, refusing to produce more than `limit` bytes.
fn read_capped(
    codec: Compression,
    decoder: impl Read,
    limit: usize,
) -> Result<Vec<u8>, KafkaError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|err| decompress_error(codec, err))?;
    if out.len() > limit {
        return Err(KafkaError::TooLarge { limit });
    }
    Ok(out)
}

/// The first bytes of an LZ4 frame (magic 0x184D2204, little-endian), as Kafka clients write LZ4.
const LZ4_FRAME_MAGIC: [u8; 4] = [0x04, 0x22, 0x4D, 0x18];

/// Decodes Chronik's LZ4 framing: a 4-byte little-endian decompressed size, then one raw LZ4
/// block (what `lz4_flex::decompress_size_prepended` reads; Chronik accepts only this, so batches
/// in a Chronik WAL use it). The declared size is checked against `limit` before allocating, and
/// the block must decode to exactly that size.
fn lz4_size_prepended_decode(data: &[u8], limit: usize) -> Result<Vec<u8>, KafkaError> {
    let codec = Compression::Lz4;
    let (size, block) = data.split_first_chunk::<4>().ok_or_else(|| {
        decompress_error(codec, "neither an LZ4 frame nor a size-prefixed LZ4 block")
    })?;
    let size = usize::try_from(u32::from_le_bytes(*size)).unwrap_or(usize::MAX);
    // An LZ4 block expands at most 255-fold: a larger claim is not LZ4 (and is never allocated).
    if size > block.len().saturating_mul(255).saturating_add(16) {
        return Err(decompress_error(
            codec,
            format!(
                "size prefix {size} is more than a {}-byte block can hold",
                block.len()
            ),
        ));
    }
    if size > limit {
        return Err(KafkaError::TooLarge { limit });
    }
    let out = lz4_flex::block::decompress(block, size).map_err(|e| decompress_error(codec, e))?;
    if out.len() != size {
        return Err(decompress_error(
            codec,
            format!(
                "block decodes to {} bytes, its prefix says {size}",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Decodes one raw snappy block, appending to `out`; the declared length is
/// checked against the remaining budget before anything is allocated.
fn snappy_block_decode(block: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), KafkaError> {
    let codec = Compression::Snappy;
    let len = snap::raw::decompress_len(block).map_err(|err| decompress_error(codec, err))?;
    if len > limit.saturating_sub(out.len()) {
        return Err(KafkaError::TooLarge { limit });
    }
    let decoded = snap::raw::Decoder::new()
        .decompress_vec(block)
        .map_err(|err| decompress_error(codec, err))?;
    out.extend_from_slice(&decoded);
    Ok(())
}

/// Decodes xerial framing: 16-byte header, then `[i32 BE length][raw snappy block]`*.
///
/// The version and compat fields are not checked: some producers (e.g.
/// Redpanda) are known to write them little-endian; kafka-python skips them too.
fn snappy_xerial_decode(data: &[u8], limit: usize) -> Result<Vec<u8>, KafkaError> {
    let codec = Compression::Snappy;
    let mut rest = data.get(XERIAL_HEADER_LEN..).ok_or_else(|| {
        decompress_error(
            codec,
            format!(
                "xerial header needs {XERIAL_HEADER_LEN} bytes, got {}",
                data.len()
            ),
        )
    })?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let position = data.len() - rest.len();
        let (len_bytes, tail) = rest.split_first_chunk::<4>().ok_or_else(|| {
            decompress_error(
                codec,
                format!("xerial block length at byte {position} is cut short"),
            )
        })?;
        let block_len = i32::from_be_bytes(*len_bytes);
        let block = usize::try_from(block_len)
            .ok()
            .and_then(|len| tail.get(..len))
            .ok_or_else(|| {
                decompress_error(
                    codec,
                    format!(
                        "xerial block at byte {position} declares length {block_len} but {} bytes remain",
                        tail.len()
                    ),
                )
            })?;
        snappy_block_decode(block, limit, &mut out)?;
        rest = tail.get(block.len()..).unwrap_or_default();
    }
    Ok(out)
}

fn snappy_xerial_encode(data: &[u8]) -> Result<Vec<u8>, KafkaError> {
    let codec = Compression::Snappy;
    let mut out = Vec::with_capacity(XERIAL_HEADER_LEN + snap::raw::max_compress_len(data.len()));
    out.extend_from_slice(&XERIAL_MAGIC);
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    out.extend_from_slice(&XERIAL_VERSION.to_be_bytes());
    let mut encoder = snap::raw::Encoder::new();
    for chunk in data.chunks(XERIAL_BLOCK_SIZE) {
        let block = encoder
            .compress_vec(chunk)
            .map_err(|err| compress_error(codec, err))?;
        let block_len = i32::try_from(block.len()).map_err(|err| compress_error(codec, err))?;
        out.extend_from_slice(&block_len.to_be_bytes());
        out.extend_from_slice(&block);
    }
    Ok(out)
}
