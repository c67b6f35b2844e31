//! The `WalRecord` V2 frame: a 12-byte header (magic, version, flags, length, CRC-32), topic,
//! partition, the `CanonicalRecord` bytes and a 20-byte trailer (base offset, last offset, record
//! count). All integers little-endian.

use super::ChronikWalError;

/// The frame magic, `7E CA` on disk.
pub const FRAME_MAGIC: u16 = 0xCA7E;
/// The version of data frames.
pub const FRAME_VERSION: u8 = 2;
/// Bytes before the frame body (magic, version, flags, length, CRC).
pub const HEADER_LEN: usize = 12;
/// Bytes of the trailer.
pub const TRAILER_LEN: usize = 20;
/// The byte range of the frame length field.
pub const LENGTH_FIELD: std::ops::Range<usize> = 4..8;
/// Body bytes besides the topic and the payload: topic length, partition, data length, trailer.
const FIXED_BODY_LEN: usize = 2 + 4 + 4 + TRAILER_LEN;

/// Which CRC rule a frame was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CrcRule {
    /// CRC-32 over the frame but its CRC field (v2.4.0 and later).
    Current,
    /// The same with the length field hashed as zeros (brokers before v2.4.0).
    LengthAsZero,
}

/// One parsed V2 frame, borrowing from the segment.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Byte offset of the frame in the segment.
    pub position: usize,
    /// Frame size in bytes (header included).
    pub len: usize,
    /// Topic as written.
    pub topic: &'a str,
    /// Partition as written.
    pub partition: i32,
    /// The bincode `CanonicalRecord`.
    pub canonical_data: &'a [u8],
    /// Trailer: first offset.
    pub base_offset: i64,
    /// Trailer: last offset.
    pub last_offset: i64,
    /// Trailer: records.
    pub record_count: i32,
    /// The CRC rule that matched.
    pub crc_rule: CrcRule,
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn le_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(a)
}

/// The CRC-32/IEEE of `frame` (a whole frame) under `rule`.
pub fn frame_crc(frame: &[u8], rule: CrcRule) -> u32 {
    let mut h = crc32fast::Hasher::new();
    match rule {
        CrcRule::Current => h.update(&frame[..8]),
        CrcRule::LengthAsZero => {
            h.update(&frame[..4]);
            h.update(&[0; 4]);
        }
    }
    h.update(&frame[HEADER_LEN..]);
    h.finalize()
}

/// Parses the frame at `position` of `segment`, validating its bounds, magic, version, flags,
/// length, CRC (either rule) and name fields. The payload is not decoded here.
pub fn parse_frame(segment: &[u8], position: usize) -> Result<Frame<'_>, ChronikWalError> {
    parse_frame_bytes(segment.get(position..).unwrap_or_default(), position)
}

/// Parses the frame at the start of `rest`, the bytes of a segment from byte `position` on (at
/// least the whole frame, or all the segment has left), as [`parse_frame`] does.
pub fn parse_frame_bytes(rest: &[u8], position: usize) -> Result<Frame<'_>, ChronikWalError> {
    let torn = |need: usize| ChronikWalError::TornFrame {
        position,
        missing: need - rest.len(),
    };
    if rest.len() < 3 {
        return Err(torn(HEADER_LEN));
    }
    let magic = le_u16(rest, 0);
    if magic != FRAME_MAGIC {
        return Err(ChronikWalError::BadMagic {
            position,
            found: magic,
        });
    }
    match rest[2] {
        FRAME_VERSION => {}
        1 => return Err(ChronikWalError::V1Frame { position }),
        version => return Err(ChronikWalError::UnknownVersion { position, version }),
    }
    if rest.len() < HEADER_LEN {
        return Err(torn(HEADER_LEN));
    }
    if rest[3] != 0 {
        return Err(ChronikWalError::UnknownFlags {
            position,
            flags: rest[3],
        });
    }
    let length = le_u32(rest, 4);
    let bad_length = |reason: String| ChronikWalError::BadLength {
        position,
        length,
        reason,
    };
    let body_len = usize::try_from(length).unwrap_or(usize::MAX);
    if body_len < FIXED_BODY_LEN {
        return Err(bad_length(format!(
            "a body holds at least {FIXED_BODY_LEN} bytes"
        )));
    }
    let len = HEADER_LEN.saturating_add(body_len);
    if rest.len() < len {
        return Err(torn(len));
    }
    let frame = &rest[..len];
    let stored = le_u32(frame, 8);
    let current = frame_crc(frame, CrcRule::Current);
    let crc_rule = if stored == current {
        CrcRule::Current
    } else {
        let legacy = frame_crc(frame, CrcRule::LengthAsZero);
        if stored != legacy {
            return Err(ChronikWalError::Checksum {
                position,
                stored,
                current,
                legacy,
            });
        }
        CrcRule::LengthAsZero
    };
    let topic_len = usize::from(le_u16(frame, 12));
    let data_at = HEADER_LEN + 2 + topic_len + 8;
    if body_len < FIXED_BODY_LEN + topic_len {
        return Err(bad_length(format!("topic of {topic_len} bytes")));
    }
    let data_len = usize::try_from(le_u32(frame, data_at - 4)).unwrap_or(usize::MAX);
    if body_len
        != FIXED_BODY_LEN
            .saturating_add(topic_len)
            .saturating_add(data_len)
    {
        return Err(bad_length(format!(
            "topic of {topic_len} bytes and payload of {data_len} bytes"
        )));
    }
    let topic =
        std::str::from_utf8(&frame[HEADER_LEN + 2..HEADER_LEN + 2 + topic_len]).map_err(|_| {
            ChronikWalError::InvalidName {
                position,
                reason: "topic is not UTF-8".into(),
            }
        })?;
    let partition = i32::from_le_bytes(
        frame[HEADER_LEN + 2 + topic_len..data_at - 4]
            .try_into()
            .unwrap_or_default(),
    );
    let trailer = data_at + data_len;
    Ok(Frame {
        position,
        len,
        topic,
        partition,
        canonical_data: &frame[data_at..trailer],
        base_offset: le_i64(frame, trailer),
        last_offset: le_i64(frame, trailer + 8),
        record_count: i32::from_le_bytes(
            frame[trailer + 16..trailer + 20]
                .try_into()
                .unwrap_or_default(),
        ),
        crc_rule,
    })
}

/// Encodes a V2 frame (the generator's and tests' encoder, written from the spec).
pub fn encode_frame(
    topic: &str,
    partition: i32,
    canonical_data: &[u8],
    trailer: (i64, i64, i32),
    rule: CrcRule,
) -> Vec<u8> {
    let topic_len = u16::try_from(topic.len()).unwrap_or(u16::MAX);
    let body = FIXED_BODY_LEN + usize::from(topic_len) + canonical_data.len();
    let mut f = Vec::with_capacity(HEADER_LEN + body);
    f.extend_from_slice(&FRAME_MAGIC.to_le_bytes());
    f.push(FRAME_VERSION);
    f.push(0);
    f.extend_from_slice(&u32::try_from(body).unwrap_or(u32::MAX).to_le_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&topic_len.to_le_bytes());
    f.extend_from_slice(&topic.as_bytes()[..usize::from(topic_len)]);
    f.extend_from_slice(&partition.to_le_bytes());
    f.extend_from_slice(
        &u32::try_from(canonical_data.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    f.extend_from_slice(canonical_data);
    f.extend_from_slice(&trailer.0.to_le_bytes());
    f.extend_from_slice(&trailer.1.to_le_bytes());
    f.extend_from_slice(&trailer.2.to_le_bytes());
    let crc = frame_crc(&f, rule);
    f[8..12].copy_from_slice(&crc.to_le_bytes());
    f
}
