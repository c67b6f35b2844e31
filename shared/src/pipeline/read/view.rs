//! Decoded records as callers see them (JSON output of fetch and search).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::kafka::{BatchHeader, Record};

/// How the byte fields of a [`RecordView`] are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Key, value and header values are UTF-8 text as stored.
    Utf8,
    /// At least one of them is not UTF-8, so all of them are standard base64.
    Base64,
}

/// One record header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderView {
    /// Header name.
    pub key: String,
    /// Header value in the record's [`Encoding`], `None` for a null value.
    pub value: Option<String>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    /// Offset.
    pub offset: i64,
    /// Timestamp in ms (the batch's max timestamp for LogAppendTime batches).
    pub timestamp: i64,
    /// How `key`, `value` and header values are written.
    pub encoding: Encoding,
    /// Key, `None` for a null key.
    pub key: Option<String>,
    /// Value, `None` for a null value.
    pub value: Option<String>,
    /// Headers in order.
    pub headers: Vec<HeaderView>,
    /// Set when the record was too large for the response it is in: `key`, `value` and `headers`
    /// are left out (`None`, empty) and this is the size of their bytes; fetch the record's batch
    /// in binary instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elided_bytes: Option<u64>,
}

impl RecordView {
    /// The view of `record` from the batch with `header`.
    pub fn new(header: &BatchHeader, record: &Record) -> Self {
        let fields = [record.key.as_deref(), record.value.as_deref()];
        let all_utf8 = fields
            .into_iter()
            .chain(record.headers.iter().map(|h| h.value.as_deref()))
            .flatten()
            .all(|b| std::str::from_utf8(b).is_ok());
        let encoding = if all_utf8 {
            Encoding::Utf8
        } else {
            Encoding::Base64
        };
        let text = |b: Option<&[u8]>| {
            b.map(|b| match encoding {
                Encoding::Utf8 => String::from_utf8_lossy(b).into_owned(),
                Encoding::Base64 => STANDARD.encode(b),
            })
        };
        RecordView {
            offset: record.offset,
            timestamp: header.effective_timestamp(record),
            encoding,
            key: text(record.key.as_deref()),
            value: text(record.value.as_deref()),
            headers: record
                .headers
                .iter()
                .map(|h| HeaderView {
                    key: h.key.clone(),
                    value: text(h.value.as_deref()),
                })
                .collect(),
            elided_bytes: None,
        }
    }

    /// The bytes of `record`'s key, value and header names and values: what its view holds,
    /// before any base64 or JSON escaping (which at most multiply it by 6).
    pub fn raw_len(record: &Record) -> u64 {
        let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, |b| b.len() as u64);
        len(&record.key)
            + len(&record.value)
            + record
                .headers
                .iter()
                .map(|h| h.key.len() as u64 + len(&h.value))
                .sum::<u64>()
    }

    /// The view of `record` without its contents (see [`RecordView::elided_bytes`]).
    pub fn elided(header: &BatchHeader, record: &Record) -> Self {
        RecordView {
            offset: record.offset,
            timestamp: header.effective_timestamp(record),
            encoding: Encoding::Utf8,
            key: None,
            value: None,
            headers: Vec::new(),
            elided_bytes: Some(Self::raw_len(record)),
        }
    }
}
