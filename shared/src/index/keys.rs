//! Token keys: everything of a record a query term can match, as 64-bit hashes.
//!
//! A record's keys are a superset of what the version 1 index holds for it (every text token
//! of the key, of the value at the root and at each JSON path, of each header, plus the typed
//! values of JSON leaves), so a set of keys, or a filter built from them, can rule a record out
//! for a query ([`super::cond::Cond`]) but never rules out one the index would find. The key
//! layout is part of the archive format (`docs/FORMATS.md`, "Token keys").

use super::IndexDoc;
use super::document::parse_json_object;
use super::schema::analyzer;

/// Where a token was found: the field, and whether at the root of a JSON field or at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Domain {
    /// A token of the record key.
    Key = 1,
    /// A token of the value's text at the root (the whole text, or any JSON leaf).
    ValueRoot = 2,
    /// A token of a JSON string at a path of the value.
    ValuePath = 3,
    /// A JSON number at a path of the value (the token is its `f64` bits, little-endian).
    ValueNumber = 4,
    /// A JSON boolean at a path of the value (the token is `0` or `1`).
    ValueBool = 5,
    /// A token of any header value (the root of `headers`).
    HeaderRoot = 6,
    /// A token of a header value, at the header's name.
    HeaderPath = 7,
}

/// FNV-1a (64 bit) of `domain`, the path, a 0xFF separator (never in UTF-8) and the token.
pub(crate) fn key(domain: Domain, path: &str, token: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    };
    eat(domain as u8);
    path.bytes().for_each(&mut eat);
    eat(0xff);
    token.iter().copied().for_each(eat);
    hash
}

/// A JSON path in its canonical form: segments joined by `.`, tantivy's in-path separator
/// (0x01) read as a dot too (with "expand dots", `{"a.b":1}` and `{"a":{"b":1}}` are one path).
pub(crate) fn canonical_path(path: &str) -> String {
    path.replace('\u{1}', ".")
}

/// The key of a JSON number: its value as an `f64` (integers beyond 2^53 share keys with their
/// neighbours, which only lets more records through), `-0` as `0`.
pub(crate) fn number_token(value: f64) -> [u8; 8] {
    let value = if value == 0.0 { 0.0 } else { value };
    value.to_bits().to_le_bytes()
}

/// Collects the keys of records with one analyzer (the index's).
pub struct KeyWriter {
    analyzer: tantivy::tokenizer::TextAnalyzer,
    policy: super::IndexPolicy,
    /// The keys so far, in no order.
    pub out: Vec<u64>,
}

impl Default for KeyWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyWriter {
    /// A writer of every key ([`super::IndexPolicy::Full`]).
    pub fn new() -> KeyWriter {
        Self::with_policy(super::IndexPolicy::Full)
    }

    /// A writer of the keys `policy` keeps.
    pub fn with_policy(policy: super::IndexPolicy) -> KeyWriter {
        KeyWriter {
            analyzer: analyzer(),
            policy,
            out: Vec::new(),
        }
    }

    /// The index analyzer's tokens of `text`, in order, with their positions.
    pub(crate) fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut stream = self.analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        tokens
    }

    /// Adds the keys of `text`'s tokens in `domain` at `path`.
    pub(crate) fn text(&mut self, domain: Domain, path: &str, text: &str) {
        if !self.policy.keys(domain, path) {
            return;
        }
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            self.out
                .push(key(domain, path, stream.token().text.as_bytes()));
        }
    }

    /// Keys of one JSON member at `path`: typed values and string tokens at the path, every
    /// leaf's text at the root.
    fn value(&mut self, path: &str, value: &serde_json::Value) {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::Bool(b) => {
                if self.policy.keys(Domain::ValueBool, path) {
                    self.out.push(key(Domain::ValueBool, path, &[u8::from(*b)]));
                }
                self.text(Domain::ValueRoot, "", &b.to_string());
            }
            serde_json::Value::Number(n) => {
                let keyed = self.policy.keys(Domain::ValueNumber, path);
                if let Some(f) = n.as_f64().filter(|_| keyed) {
                    self.out
                        .push(key(Domain::ValueNumber, path, &number_token(f)));
                }
                self.text(Domain::ValueRoot, "", &n.to_string());
            }
            serde_json::Value::String(s) => {
                self.text(Domain::ValuePath, path, s);
                self.text(Domain::ValueRoot, "", s);
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| self.value(path, v)),
            serde_json::Value::Object(map) => {
                for (name, member) in map {
                    self.value(&format!("{path}.{}", canonical_path(name)), member);
                }
            }
        }
    }

    /// Adds every key of `doc`.
    pub fn record(&mut self, doc: &IndexDoc<'_>) {
        if let Some(k) = doc.key {
            self.text(Domain::Key, "", &String::from_utf8_lossy(k));
        }
        if let Some(value) = doc.value {
            match parse_json_object(value) {
                Some(object) => {
                    for (name, member) in &object {
                        self.value(&canonical_path(name), member);
                    }
                }
                None => self.text(Domain::ValueRoot, "", &String::from_utf8_lossy(value)),
            }
        }
        for (name, value) in &doc.headers {
            let Some(value) = value else { continue };
            let text = String::from_utf8_lossy(value);
            self.text(Domain::HeaderRoot, "", &text);
            self.text(Domain::HeaderPath, &canonical_path(name), &text);
        }
    }
}

/// Every key of `doc`, sorted and without duplicates.
pub fn record_keys(doc: &IndexDoc<'_>) -> Vec<u64> {
    let mut writer = KeyWriter::new();
    writer.record(doc);
    let mut out = writer.out;
    out.sort_unstable();
    out.dedup();
    out
}
