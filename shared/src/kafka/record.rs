//! Records inside a v2 batch, and the zigzag varints they are made of.
//!
//! Layout of one record (all integers zigzag varints unless noted):
//! `length`, `attributes: i8`, `timestampDelta: varlong`, `offsetDelta`,
//! `keyLength` (-1 = null), `key`, `valueLength` (-1 = null), `value`,
//! `headerCount`, then per header `keyLength`, `key` (UTF-8, never null),
//! `valueLength` (-1 = null), `value`.
//!
//! Decoding checks that exactly `records_count` records are present and the
//! data is consumed exactly; that every length is -1 (null) or non-negative
//! and within the data (a record's fields must fill its `length` exactly);
//! that varints fit 32 bits (varlongs 64); that offset deltas are strictly
//! increasing within `0..=last_offset_delta` (gaps are allowed, as left by
//! compaction); that header counts are non-negative and header keys non-null
//! UTF-8; and that absolute offsets and timestamps do not overflow. Any
//! violation is a [`KafkaError::MalformedRecord`] naming the record index and
//! byte position in the (decompressed) records data. Record attributes are
//! unused in v2 and ignored.

use super::compression::Compression;
use super::error::KafkaError;
use super::header::BatchHeader;

/// Smallest possible encoded record: seven one-byte fields.
const MIN_RECORD_SIZE: usize = 7;
/// Smallest possible encoded header: two one-byte lengths.
const MIN_HEADER_SIZE: usize = 2;

/// One decoded record, with absolute offset and timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// `base_offset + offsetDelta`.
    pub offset: i64,
    /// `base_timestamp + timestampDelta`, or the batch's `max_timestamp` when
    /// the batch uses log-append time (as Kafka reports it).
    pub timestamp: i64,
    /// Key bytes; `None` when the key length is -1.
    pub key: Option<Vec<u8>>,
    /// Value bytes; `None` when the value length is -1 (a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in wire order.
    pub headers: Vec<RecordHeader>,
}

/// One record header: a UTF-8 key and an optional value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// Header key (Kafka forbids null keys).
    pub key: String,
    /// Header value; `None` when the value length is -1.
    pub value: Option<Vec<u8>>,
}

/// Decodes the (already decompressed) records section of a batch, with the
/// checks listed in the module documentation.
pub(crate) fn decode_records(data: &[u8], header: &BatchHeader) -> Result<Vec<Record>, KafkaError> {
    let section = match header.compression()? {
        Compression::None => "uncompressed records data".to_owned(),
        codec => format!("{codec}-decompressed records data"),
    };
    let declared = usize::try_from(header.records_count).map_err(|_| {
        KafkaError::InvalidHeader(format!(
            "records count {} is negative",
            header.records_count
        ))
    })?;
    let mut cursor = Cursor { buf: data, pos: 0 };
    let mut records = Vec::with_capacity(declared.min(data.len() / MIN_RECORD_SIZE));
    let mut previous_delta = None;
    for index in 0..declared {
        if cursor.remaining() == 0 {
            return Err(KafkaError::MalformedRecord(format!(
                "batch declares {declared} records but the {section} ends after {index}"
            )));
        }
        let (record, offset_delta) =
            decode_record(&mut cursor, header, previous_delta).map_err(|reason| {
                KafkaError::MalformedRecord(format!("record {index} in {section}: {reason}"))
            })?;
        previous_delta = Some(offset_delta);
        records.push(record);
    }
    match cursor.remaining() {
        0 => Ok(records),
        extra => Err(KafkaError::MalformedRecord(format!(
            "{extra} bytes of trailing data at byte {} of the {section} after the {declared} declared records",
            cursor.pos
        ))),
    }
}

/// Decodes one record; the error is a description to be put in context by the caller.
fn decode_record(
    cursor: &mut Cursor<'_>,
    header: &BatchHeader,
    previous_delta: Option<i32>,
) -> Result<(Record, i32), String> {
    let start = cursor.pos;
    let length = cursor
        .length("record length")?
        .ok_or_else(|| format!("record length -1 (null) at byte {start} is not allowed"))?;
    let mut body = cursor.split_off(length, "record body")?;
    body.take(1, "record attributes")?;
    let timestamp_delta = body.varlong("timestamp delta")?;
    let offset_delta = body.varint("offset delta")?;
    let key = body.nullable_bytes("key")?;
    let value = body.nullable_bytes("value")?;
    let headers = decode_headers(&mut body)?;
    if body.remaining() > 0 {
        return Err(format!(
            "record length {length} (record starts at byte {start}) leaves {} unread bytes after the headers",
            body.remaining()
        ));
    }

    if offset_delta < 0 || offset_delta > header.last_offset_delta {
        return Err(format!(
            "offset delta {offset_delta} outside 0..={} (the batch's last offset delta)",
            header.last_offset_delta
        ));
    }
    if let Some(previous) = previous_delta.filter(|&previous| offset_delta <= previous) {
        return Err(format!(
            "offset delta {offset_delta} does not increase past {previous}"
        ));
    }
    let offset = header
        .base_offset
        .checked_add(i64::from(offset_delta))
        .ok_or_else(|| format!("offset {} + {offset_delta} overflows", header.base_offset))?;
    let timestamp = if header.has_log_append_time() {
        header.max_timestamp
    } else {
        header
            .base_timestamp
            .checked_add(timestamp_delta)
            .ok_or_else(|| {
                format!(
                    "timestamp {} + {timestamp_delta} overflows",
                    header.base_timestamp
                )
            })?
    };
    let record = Record {
        offset,
        timestamp,
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers,
    };
    Ok((record, offset_delta))
}

fn decode_headers(body: &mut Cursor<'_>) -> Result<Vec<RecordHeader>, String> {
    let count = body
        .length("header count")?
        .ok_or_else(|| "header count -1 (null) is not allowed".to_owned())?;
    let mut headers = Vec::with_capacity(count.min(body.remaining() / MIN_HEADER_SIZE));
    for index in 0..count {
        let key_pos = body.pos;
        let key = body
            .nullable_bytes("header key")?
            .ok_or_else(|| format!("header {index} has a null key at byte {key_pos}"))?;
        let key = String::from_utf8(key.to_vec())
            .map_err(|err| format!("header {index} key at byte {key_pos} is not UTF-8: {err}"))?;
        let value = body.nullable_bytes("header value")?.map(<[u8]>::to_vec);
        headers.push(RecordHeader { key, value });
    }
    Ok(headers)
}

/// Bounds-checked reader over a byte slice; errors are descriptions with positions.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], String> {
        let bytes = self
            .pos
            .checked_add(len)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or_else(|| {
                format!(
                    "{what} of {len} bytes at byte {} runs past the end ({} bytes remain)",
                    self.pos,
                    self.remaining()
                )
            })?;
        self.pos += len;
        Ok(bytes)
    }

    /// Consumes the next `len` bytes and returns a cursor limited to them
    /// (positions stay relative to the whole buffer).
    fn split_off(&mut self, len: usize, what: &str) -> Result<Cursor<'a>, String> {
        let start = self.pos;
        self.take(len, what)?;
        Ok(Cursor {
            buf: self.buf.get(..self.pos).unwrap_or_default(),
            pos: start,
        })
    }

    /// Reads an unsigned LEB128 varint that must fit in `bits` bits.
    fn unsigned_varint(&mut self, bits: u32, what: &str) -> Result<u64, String> {
        let start = self.pos;
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let &byte = self
                .buf
                .get(self.pos)
                .ok_or_else(|| format!("{what} varint at byte {start} runs past the end"))?;
            self.pos += 1;
            let chunk = u64::from(byte & 0x7f);
            let room = bits.saturating_sub(shift);
            if room == 0 || (room < 7 && chunk >> room != 0) {
                return Err(format!(
                    "{what} varint at byte {start} does not fit in {bits} bits"
                ));
            }
            value |= chunk << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// Zigzag varint (Kafka `varint`, at most 5 bytes).
    fn varint(&mut self, what: &str) -> Result<i32, String> {
        // `unsigned_varint(32, ..)` guarantees the value fits in a u32.
        Ok(zigzag_decode_32(self.unsigned_varint(32, what)? as u32))
    }

    /// Zigzag varlong (Kafka `varlong`, at most 10 bytes).
    fn varlong(&mut self, what: &str) -> Result<i64, String> {
        Ok(zigzag_decode_64(self.unsigned_varint(64, what)?))
    }

    /// A varint length: `Some(n)` for n >= 0, `None` for -1, error for anything lower.
    fn length(&mut self, what: &str) -> Result<Option<usize>, String> {
        let pos = self.pos;
        match self.varint(what)? {
            -1 => Ok(None),
            len => usize::try_from(len)
                .map(Some)
                .map_err(|_| format!("{what} {len} at byte {pos} is negative")),
        }
    }

    /// Length-prefixed bytes where length -1 means null.
    fn nullable_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, String> {
        self.length(what)?
            .map(|len| self.take(len, what))
            .transpose()
    }
}

fn zigzag_decode_32(raw: u32) -> i32 {
    ((raw >> 1) as i32) ^ -((raw & 1) as i32)
}

fn zigzag_decode_64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// Appends `value` as a Kafka zigzag varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i32) {
    put_unsigned_varint(out, u64::from(((value << 1) ^ (value >> 31)) as u32));
}

/// Appends `value` as a Kafka zigzag varlong.
pub(crate) fn put_varlong(out: &mut Vec<u8>, value: i64) {
    put_unsigned_varint(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_unsigned_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
