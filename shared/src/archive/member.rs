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

/// Appends one gzip member whose uncompressed content is the concatenation
/// of `parts`; returns the range it occupies in `out`.
fn write_gzip(
    out: &mut Vec<u8>,
    parts: &[&[u8]],
    level: Compression,
) -> Result<ByteRange, ArchiveError> {
    let start = out.len() as u64;
    out.extend_from_slice(&GZIP_HEADER);
    let mut crc = Crc::new();
    let mut encoder = DeflateEncoder::new(&mut *out, level);
    for part in parts {
        encoder.write_all(part)?;
        crc.update(part);
    }
    encoder.finish()?;
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&crc.amount().to_le_bytes());
    Ok(ByteRange::new(start, out.len() as u64))
}

/// Appends the member for one regular file `name` holding `data`.
pub(crate) fn write_file(
    out: &mut Vec<u8>,
    name: &str,
    data: &[u8],
    mtime: u64,
    level: Compression,
) -> Result<MemberEntry, ArchiveError> {
    let size = data.len() as u64;
    let header = tarhdr::build(name, size, mtime)?;
    let padding = ZERO_BLOCK
        .get(..tarhdr::padding_len(size))
        .unwrap_or_default();
    let range = write_gzip(out, &[&header, data, padding], level)?;
    Ok(MemberEntry {
        name: name.to_owned(),
        range,
        data_len: size,
        crc32c: crc32c::crc32c(data),
    })
}

/// Appends the end-of-archive member (two zero blocks).
pub(crate) fn write_end(out: &mut Vec<u8>, level: Compression) -> Result<ByteRange, ArchiveError> {
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
pub(crate) fn decode(
    input: &[u8],
    at: u64,
    expect: Option<Expect<'_>>,
) -> Result<(Decoded, usize), ArchiveError> {
    let corrupt = |reason: &str| ArchiveError::CorruptMember {
        at,
        reason: reason.to_owned(),
    };
    let header = input
        .get(..GZIP_HEADER.len())
        .ok_or_else(|| truncated(at, "gzip header"))?;
    if header != GZIP_HEADER {
        let prefix_ok = GZIP_HEADER.starts_with(header);
        return Err(if prefix_ok {
            truncated(at, "gzip header")
        } else {
            corrupt("not the canonical gzip member header")
        });
    }
    let body = input.get(GZIP_HEADER.len()..).unwrap_or_default();
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
            if let Some(expect) = expect {
                if name != expect.name {
                    return Err(ArchiveError::NameMismatch {
                        expected: expect.name.to_owned(),
                        actual: name,
                    });
                }
                if size != expect.size {
                    return Err(ArchiveError::LengthMismatch {
                        name,
                        expected: expect.size,
                        actual: size,
                    });
                }
            }
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
