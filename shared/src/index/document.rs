//! Turning one Kafka record ([`IndexDoc`]) into the tantivy document that indexes it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use tantivy::TantivyDocument;
use tantivy::schema::OwnedValue;

use super::schema::Fields;

/// One record to index. Borrowed from the decoded batch; nothing of it is stored in the index.
#[derive(Clone, Debug, Default)]
pub struct IndexDoc<'a> {
    /// Record offset within the partition.
    pub offset: i64,
    /// Record timestamp, ms since the epoch.
    pub timestamp: i64,
    /// Record key; indexed as text (lossy UTF-8 decoding).
    pub key: Option<&'a [u8]>,
    /// Record value; indexed as text (lossy UTF-8), and additionally by JSON path when it parses
    /// as a JSON object.
    pub value: Option<&'a [u8]>,
    /// Record headers in wire order; names may repeat. Values are indexed as text.
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

impl<'a> IndexDoc<'a> {
    /// The document of a decoded Kafka record, at the timestamp it is searched by (the batch's
    /// effective timestamp of the record).
    pub fn of_record(record: &'a crate::kafka::Record, timestamp: i64) -> IndexDoc<'a> {
        IndexDoc {
            offset: record.offset,
            timestamp,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            headers: record
                .headers
                .iter()
                .map(|h| (h.key.as_str(), h.value.as_deref()))
                .collect(),
        }
    }
}

/// Builds the tantivy document for `doc`.
///
/// * `key`: lossy UTF-8 text.
/// * `value`: if it parses as a JSON object, the object is added to the JSON field (members at
///   their path) and every leaf (string, number, bool) is also added as a separate string at the
///   root path; otherwise the lossy UTF-8 text is added at the root path. Separate root strings
///   get a position gap, so phrases never match across two leaves.
/// * `headers`: an object `{name: value}` (an array of values when a name repeats) plus every
///   value again at the root path. Headers without a value are skipped.
pub(crate) fn to_tantivy(fields: &Fields, doc: &IndexDoc<'_>) -> TantivyDocument {
    let mut out = TantivyDocument::new();
    out.add_i64(fields.offset, doc.offset);
    out.add_i64(fields.timestamp, doc.timestamp);
    if let Some(key) = doc.key {
        out.add_text(fields.key, String::from_utf8_lossy(key));
    }
    if let Some(value) = doc.value {
        add_value(&mut out, fields, value);
    }
    add_headers(&mut out, fields, &doc.headers);
    out
}

fn add_value(out: &mut TantivyDocument, fields: &Fields, value: &[u8]) {
    if let Some(object) = parse_json_object(value) {
        let mut leaves = Vec::new();
        for member in object.values() {
            collect_leaves(member, &mut leaves);
        }
        let object: BTreeMap<String, OwnedValue> = object
            .into_iter()
            .map(|(k, v)| (k, OwnedValue::from(v)))
            .collect();
        out.add_object(fields.value, object);
        for leaf in leaves {
            out.add_text(fields.value, leaf);
        }
    } else {
        out.add_text(fields.value, String::from_utf8_lossy(value));
    }
}

/// Parses `bytes` as a JSON object; anything else (plain text, arrays, scalars, invalid or too
/// deeply nested JSON) gives `None`.
pub(crate) fn parse_json_object(
    bytes: &[u8],
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    match serde_json::from_slice(bytes) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Text of every scalar leaf of `value`, depth first. Nulls have no text.
fn collect_leaves(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => {}
        serde_json::Value::Bool(b) => out.push(b.to_string()),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_leaves(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_leaves(v, out)),
    }
}

fn add_headers(out: &mut TantivyDocument, fields: &Fields, headers: &[(&str, Option<&[u8]>)]) {
    let mut object: BTreeMap<String, OwnedValue> = BTreeMap::new();
    let mut roots = Vec::new();
    for (name, value) in headers {
        let Some(value) = value else { continue };
        let text = String::from_utf8_lossy(value).into_owned();
        roots.push(text.clone());
        match object.entry((*name).to_owned()) {
            Entry::Vacant(slot) => {
                slot.insert(OwnedValue::Str(text));
            }
            Entry::Occupied(mut slot) => match slot.get_mut() {
                OwnedValue::Array(values) => values.push(OwnedValue::Str(text)),
                single => {
                    let first = std::mem::replace(single, OwnedValue::Null);
                    *single = OwnedValue::Array(vec![first, OwnedValue::Str(text)]);
                }
            },
        }
    }
    if object.is_empty() {
        return;
    }
    out.add_object(fields.headers, object);
    for root in roots {
        out.add_text(fields.headers, root);
    }
}
