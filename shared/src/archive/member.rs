//! One archive member: a complete gzip member holding one tar entry
//! (header + data + zero padding) or the end-of-archive marker.
//!
//! The gzip framing is written and checked here by hand around a raw deflate
//! stream, so the reader can insist on the exact canonical 10-byte header and
//! knows precisely how many input bytes the member occupied.

use std::io::{Read, Write};

use flate2::{Compression, Crc, CrcReader, bufread::DeflateDecoder, write::DeflateEncoder};

use super::tarhdr::{self, BLOCK, Parsed};
use super::{ArchiveError, ByteRange, MemberEntry};

/// The only gzip header this module writes or accepts: magic, CM=deflate,
/// FLG=0, MTIME=0, XFL=0, OS=255 (unknown).
pub(crate) const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
/// CRC-32 and ISIZE, little-endian.
const GZIP_TRAILER_LEN: usize = 8;
const ZERO_BLOCK: [u8; BLOCK] = [0; BLOCK];
/// Never pre-allocate more than this on the word of a (possibly corrupt) size field.
const PREALLOC_CAP: u64 = 16 << 20;

/// A writer that counts the bytes written through it: archive members record their positions.
#[derive(Debug)]
pub(crate) struct Sink<W> {
    inner: W,
    len: u64,
}

impl<W: Write> Sink<W> {
    pub(crate) fn new(inner: W) -> Self {
        Sink { inner, len: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Flushes and returns the inner writer.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Appends one gzip member whose uncompressed content is the concatenation
/// of `parts`; returns the range it occupies in `out`.
fn write_gzip<W: Write>(
    out: &mut Sink<W>,
    parts: &[&[u8]],
    level: Compression,
) -> Result<ByteRange, ArchiveError> {
    let start = out.len();
    out.write_all(&GZIP_HEADER)?;
    let mut crc = Crc::new();
    let mut encoder = DeflateEncoder::new(&mut *out, level);
    for part in parts {
        encoder.write_all(part)?;
        crc.update(part);
    }
    encoder.finish()?;
    out.write_all(&crc.sum().to_le_bytes())?;
    out.write_all(&crc.amount().to_le_bytes())?;
    Ok(ByteRange::new(start, out.len()))
}

/// Appends the member for one regular file `name` holding `data`.
pub(crate) fn write_file<W: Write>(
    out: &mut Sink<W>,
    name: &str,
    data: &[u8],
    mtime: u64,
    level: Compression,
) -> Result<MemberEntry, ArchiveError> {
    write_file_from(out, name, data.len() as u64, &mut &data[..], mtime, level)
}

/// Appends the member for one regular file `name` whose `size` bytes are read from `data`
/// (streamed through, a block at a time); `data` holding more or fewer bytes is an error.
pub(crate) fn write_file_from<W: Write>(
    out: &mut Sink<W>,
    name: &str,
    size: u64,
    data: &mut dyn Read,
    mtime: u64,
    level: Compression,
) -> Result<MemberEntry, ArchiveError> {
    let header = tarhdr::build(name, size, mtime)?;
    let start = out.len();
    out.write_all(&GZIP_HEADER)?;
    let mut crc = Crc::new();
    let mut crc32c = 0;
    let mut encoder = DeflateEncoder::new(&mut *out, level);
    encoder.write_all(&header)?;
    crc.update(&header);
    let mut block = vec![0; BLOCK * 128];
    let mut copied: u64 = 0;
    loop {
        let n = data.read(&mut block)?;
        if n == 0 {
            break;
        }
        copied += n as u64;
        if copied > size {
            break;
        }
        encoder.write_all(&block[..n])?;
        crc.update(&block[..n]);
        crc32c = crc32c::crc32c_append(crc32c, &block[..n]);
    }
    if copied != size {
        return Err(ArchiveError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("member {name}: {size} bytes announced, {copied} or more given"),
        )));
    }
    let padding = ZERO_BLOCK
        .get(..tarhdr::padding_len(size))
        .unwrap_or_default();
    encoder.write_all(padding)?;
    crc.update(padding);
    encoder.finish()?;
    out.write_all(&crc.sum().to_le_bytes())?;
    out.write_all(&crc.amount().to_le_bytes())?;
    Ok(MemberEntry {
        name: name.to_owned(),
        range: ByteRange::new(start, out.len()),
        data_len: size,
        crc32c,
    })
}

/// Appends the end-of-archive member (two zero blocks).
pub(crate) fn write_end<W: Write>(
    out: &mut Sink<W>,
    level: Compression,
) -> Result<ByteRange, ArchiveError> {
    write_gzip(out, &[&ZERO_BLOCK, &ZERO_BLOCK], level)
}

/// What one member decoded to.
pub(crate) enum Decoded {
    /// A regular file entry.
    File { name: String, data: Vec<u8> },
    /// The end-of-archive marker.
    End,
}

/// Header expectations checked before any data is decompressed.
pub(crate) struct Expect<'a> {
    pub name: &'a str,
    pub size: u64,
}

/// Decodes the gzip member at the front of `input` (absolute position `at`).
/// Returns what it held and how many input bytes it occupied; bytes after
/// that are not looked at.
pub(crate) fn decode(input: &[u8], at: u64) -> Result<(Decoded, usize), ArchiveError> {
    let corrupt = |reason: &str| ArchiveError::CorruptMember {
        at,
        reason: reason.to_owned(),
    };
    let body = gzip_body(input, at)?;
    let mut stream = CrcReader::new(DeflateDecoder::new(body));

    let mut block = [0u8; BLOCK];
    fill(&mut stream, &mut block, at, "tar header")?;
    let decoded = match tarhdr::parse(&block, at)? {
        Parsed::Zero => {
            fill(&mut stream, &mut block, at, "end-of-archive marker")?;
            if block.iter().any(|&b| b != 0) {
                return Err(corrupt("second end-of-archive block is not zero"));
            }
            Decoded::End
        }
        Parsed::File { name, size } => {
            let mut data = Vec::with_capacity(usize::try_from(size.min(PREALLOC_CAP)).unwrap_or(0));
            (&mut stream)
                .take(size)
                .read_to_end(&mut data)
                .map_err(|e| io_error(e, at))?;
            if (data.len() as u64) < size {
                return Err(corrupt("member content ends inside the file data"));
            }
            let padding = block
                .get_mut(..tarhdr::padding_len(size))
                .unwrap_or_default();
            fill(&mut stream, padding, at, "tar padding")?;
            if padding.iter().any(|&b| b != 0) {
                return Err(corrupt("tar padding is not zero"));
            }
            Decoded::File { name, data }
        }
    };

    let mut probe = [0u8; 1];
    match stream.read(&mut probe) {
        Ok(0) => {}
        Ok(_) => return Err(corrupt("member holds more than one tar entry")),
        Err(e) => return Err(io_error(e, at)),
    }
    let (crc, amount) = (stream.crc().sum(), stream.crc().amount());
    let rest: &[u8] = stream.into_inner().into_inner();
    let trailer = rest
        .get(..GZIP_TRAILER_LEN)
        .ok_or_else(|| truncated(at, "gzip trailer"))?;
    let (crc_bytes, size_bytes) = trailer.split_at(4);
    if crc_bytes != crc.to_le_bytes() {
        return Err(corrupt("gzip CRC-32 mismatch"));
    }
    if size_bytes != amount.to_le_bytes() {
        return Err(corrupt("gzip ISIZE mismatch"));
    }
    let consumed = input.len() - rest.len() + GZIP_TRAILER_LEN;
    Ok((decoded, consumed))
}

/// Appends to `out` the data of the file member at the front of `input`, which must be exactly
/// one member, for a caller that knows from a TOC the file's name and size. A stream of stored
/// blocks is copied from the block payloads straight into `out`; any other is inflated in one
/// pass into a buffer of exactly the tar entry's size (no window or stream buffers), whose data
/// is then appended. On error `out` is left as it was.
///
/// Checks the canonical gzip header, the tar header against `expect`, zero padding, that the
/// deflate stream ends exactly there, the gzip ISIZE, and that no byte follows the trailer. The
/// gzip CRC-32 is not recomputed: callers verify the data against the TOC's CRC-32C, which covers
/// every byte they use ([`decode`] checks both).
pub(crate) fn decode_exact(
    input: &[u8],
    at: u64,
    expect: Expect<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ArchiveError> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};

    let corrupt = |reason: &str| ArchiveError::CorruptMember {
        at,
        reason: reason.to_owned(),
    };
    let body = gzip_body(input, at)?;
    let entry_len = (BLOCK as u64)
        .saturating_add(expect.size)
        .saturating_add(tarhdr::padding_len(expect.size) as u64);
    // Deflate expands at most ~1032:1: a size beyond that cannot be in this member.
    if entry_len
        > (body.len() as u64)
            .saturating_mul(1032)
            .saturating_add(BLOCK as u64)
    {
        return Err(ArchiveError::LengthMismatch {
            name: expect.name.to_owned(),
            expected: expect.size,
            actual: 0,
        });
    }
    let entry_len_usize = usize::try_from(entry_len).map_err(|_| corrupt("entry too large"))?;
    if let Some((payloads, used)) = stored_blocks(body) {
        let start = out.len();
        let result = stored_entry_data(&payloads, &body[used..], entry_len_usize, at, expect, out);
        if result.is_err() {
            out.truncate(start);
        }
        return result;
    }
    let mut entry = vec![0u8; entry_len_usize];
    let mut state = Box::<DecompressorOxide>::default();
    let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let (status, read, written) = decompress(&mut state, body, &mut entry, 0, flags);
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => {
            return Err(corrupt("member content is longer than its tar entry"));
        }
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            return Err(truncated(at, "deflate stream"));
        }
        _ => return Err(corrupt("invalid deflate stream")),
    }
    let header_block = entry.get(..BLOCK).filter(|_| written >= BLOCK);
    let Some(header_block) = header_block else {
        return Err(corrupt("member content ends inside the tar header"));
    };
    let mut block = [0u8; BLOCK];
    block.copy_from_slice(header_block);
    check_file_header(&block, at, &expect)?;
    if (written as u64) < entry_len {
        return Err(corrupt("member content ends inside the file data"));
    }
    let data_end = BLOCK + expect.size as usize;
    if entry
        .get(data_end..)
        .is_some_and(|pad| pad.iter().any(|&b| b != 0))
    {
        return Err(corrupt("tar padding is not zero"));
    }
    check_trailer(body.get(read..).unwrap_or_default(), entry_len_usize, at)?;
    out.extend_from_slice(&entry[BLOCK..data_end]);
    Ok(())
}

/// The payloads of a deflate stream made only of stored blocks (RFC 1951 §3.2.4: what level 0
/// writes, as for chunks of compressed batches), and the bytes the stream occupies; `None` for
/// any other stream, which the general decoder then reads (and judges).
fn stored_blocks(body: &[u8]) -> Option<(Vec<&[u8]>, usize)> {
    let mut payloads = Vec::new();
    let mut pos = 0;
    loop {
        // Block header bits: BFINAL, then BTYPE 00 (stored); the rest of the byte is padding.
        let first = *body.get(pos)?;
        if first & 0b110 != 0 {
            return None;
        }
        let len = u16::from_le_bytes([*body.get(pos + 1)?, *body.get(pos + 2)?]);
        let nlen = u16::from_le_bytes([*body.get(pos + 3)?, *body.get(pos + 4)?]);
        if len != !nlen {
            return None;
        }
        let start = pos + 5;
        payloads.push(body.get(start..start + usize::from(len))?);
        pos = start + usize::from(len);
        if first & 1 == 1 {
            return Some((payloads, pos));
        }
    }
}

/// [`decode_exact`] for a stream of stored blocks: the entry is read straight from the block
/// payloads, and only the file data is copied (once).
fn stored_entry_data(
    payloads: &[&[u8]],
    rest: &[u8],
    entry_len: usize,
    at: u64,
    expect: Expect<'_>,
    data: &mut Vec<u8>,
) -> Result<(), ArchiveError> {
    let corrupt = |reason: &str| ArchiveError::CorruptMember {
        at,
        reason: reason.to_owned(),
    };
    let total: usize = payloads.iter().map(|p| p.len()).sum();
    if total < BLOCK {
        return Err(corrupt("member content ends inside the tar header"));
    }
    // The logical layout: tar header [0, BLOCK), data [BLOCK, data_end), padding after.
    let data_end = BLOCK.saturating_add(usize::try_from(expect.size).unwrap_or(usize::MAX));
    let mut header = [0u8; BLOCK];
    data.reserve(total.min(data_end) - BLOCK);
    let mut padding_is_zero = true;
    let mut position = 0usize;
    for payload in payloads {
        let end = position + payload.len();
        let part = |from: usize, to: usize| &payload[from - position..to - position];
        if position < BLOCK {
            let upto = end.min(BLOCK);
            header[position..upto].copy_from_slice(part(position, upto));
        }
        let (from, to) = (position.max(BLOCK), end.min(data_end));
        if from < to {
            data.extend_from_slice(part(from, to));
        }
        let pad_from = position.max(data_end);
        if pad_from < end {
            padding_is_zero &= part(pad_from, end).iter().all(|&b| b == 0);
        }
        position = end;
    }
    check_file_header(&header, at, &expect)?;
    if total < entry_len {
        return Err(corrupt("member content ends inside the file data"));
    }
    if total > entry_len {
        return Err(corrupt("member content is longer than its tar entry"));
    }
    if !padding_is_zero {
        return Err(corrupt("tar padding is not zero"));
    }
    check_trailer(rest, entry_len, at)
}

/// What follows the canonical gzip header at the front of `input`.
fn gzip_body(input: &[u8], at: u64) -> Result<&[u8], ArchiveError> {
    let header = input
        .get(..GZIP_HEADER.len())
        .ok_or_else(|| truncated(at, "gzip header"))?;
    if header != GZIP_HEADER {
        return Err(if GZIP_HEADER.starts_with(header) {
            truncated(at, "gzip header")
        } else {
            ArchiveError::CorruptMember {
                at,
                reason: "not the canonical gzip member header".to_owned(),
            }
        });
    }
    Ok(input.get(GZIP_HEADER.len()..).unwrap_or_default())
}

/// The tar header of a member read for a TOC entry: a regular file of the expected name and size.
fn check_file_header(
    block: &[u8; BLOCK],
    at: u64,
    expect: &Expect<'_>,
) -> Result<(), ArchiveError> {
    match tarhdr::parse(block, at)? {
        Parsed::File { name, .. } if name != expect.name => Err(ArchiveError::NameMismatch {
            expected: expect.name.to_owned(),
            actual: name,
        }),
        Parsed::File { name, size } if size != expect.size => Err(ArchiveError::LengthMismatch {
            name,
            expected: expect.size,
            actual: size,
        }),
        Parsed::File { .. } => Ok(()),
        Parsed::Zero => Err(ArchiveError::CorruptMember {
            at,
            reason: "end-of-archive member, not a file".to_owned(),
        }),
    }
}

/// The gzip trailer after the deflate stream: ISIZE must be `entry_len`, and nothing may follow.
fn check_trailer(rest: &[u8], entry_len: usize, at: u64) -> Result<(), ArchiveError> {
    let corrupt = |reason: &str| ArchiveError::CorruptMember {
        at,
        reason: reason.to_owned(),
    };
    let trailer = rest
        .get(..GZIP_TRAILER_LEN)
        .ok_or_else(|| truncated(at, "gzip trailer"))?;
    if trailer[4..] != (entry_len as u32).to_le_bytes() {
        return Err(corrupt("gzip ISIZE mismatch"));
    }
    if rest.len() > GZIP_TRAILER_LEN {
        let extra = rest.len() - GZIP_TRAILER_LEN;
        return Err(corrupt(&format!("{extra} bytes after the gzip member")));
    }
    Ok(())
}

/// Reads exactly `buf.len()` decompressed bytes; a deflate stream that ends
/// early is corruption, input that runs out is truncation.
fn fill(stream: &mut impl Read, buf: &mut [u8], at: u64, what: &str) -> Result<(), ArchiveError> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match stream.read(rest) {
            Ok(0) => {
                return Err(ArchiveError::CorruptMember {
                    at,
                    reason: format!("member content ends inside the {what}"),
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(e, at)),
        }
    }
    Ok(())
}

fn truncated(at: u64, what: &str) -> ArchiveError {
    ArchiveError::Truncated {
        at,
        detail: format!("input ends inside the {what}"),
    }
}

fn io_error(e: std::io::Error, at: u64) -> ArchiveError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ArchiveError::Truncated {
            at,
            detail: format!("deflate stream: {e}"),
        }
    } else {
        ArchiveError::CorruptMember {
            at,
            reason: format!("deflate stream: {e}"),
        }
    }
}
