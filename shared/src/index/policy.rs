//! Index policies: how much of a topic's records the chunk filters key.
//!
//! Search answers never depend on the policy (records are always matched exactly); a policy that
//! keys less makes archives smaller and lets searches on what it leaves out read more chunks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::Domain;
use crate::types::Topic;

/// What the chunk filters of a topic's archives key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexPolicy {
    /// Keys, values (text, JSON paths, numbers, booleans) and headers.
    #[default]
    Full,
    /// Keys, headers, and the JSON leaves of values at these paths or below them (strings,
    /// numbers, booleans at their path; canonical dotted paths, sorted). A query on another path,
    /// on the value's root (a bare term, `value:x`) or on a value that is not a JSON object reads
    /// every chunk its other terms allow.
    Paths(Vec<String>),
    /// Keys and headers; a query on values reads every chunk its other terms allow.
    KeysAndHeaders,
    /// Nothing: archives of ≈ 1.0× the batches, and every search reads every chunk.
    None,
}

/// The most paths a `paths:` policy may name.
pub const MAX_POLICY_PATHS: usize = 64;
/// The longest path a `paths:` policy may name, in bytes.
pub const MAX_POLICY_PATH_BYTES: usize = 256;

impl IndexPolicy {
    /// Whether archives of this policy key tokens of `domain` at `path` (the canonical JSON path
    /// of a value leaf or a header name; empty at a root).
    pub fn keys(&self, domain: Domain, path: &str) -> bool {
        match self {
            IndexPolicy::Full => true,
            IndexPolicy::Paths(paths) => match domain {
                Domain::Key | Domain::HeaderRoot | Domain::HeaderPath => true,
                Domain::ValueRoot => false,
                Domain::ValuePath | Domain::ValueNumber | Domain::ValueBool => covers(paths, path),
            },
            IndexPolicy::KeysAndHeaders => matches!(
                domain,
                Domain::Key | Domain::HeaderRoot | Domain::HeaderPath
            ),
            IndexPolicy::None => false,
        }
    }

    /// The bit mask of the filter member's "unkeyed" byte (`docs/FORMATS.md`, "Chunk filters").
    pub fn unkeyed_mask(&self) -> u8 {
        match self {
            IndexPolicy::Full => 0,
            IndexPolicy::Paths(_) => UNKEYED_OTHER_PATHS,
            IndexPolicy::KeysAndHeaders => UNKEYED_VALUE,
            IndexPolicy::None => UNKEYED_KEY | UNKEYED_VALUE | UNKEYED_HEADERS,
        }
    }

    /// The value paths a `paths:` policy keys (empty for the others).
    pub fn value_paths(&self) -> &[String] {
        match self {
            IndexPolicy::Paths(paths) => paths,
            _ => &[],
        }
    }
}

/// Whether `path` is one of `paths` or below one (`user` covers `user` and `user.id`).
pub(crate) fn covers(paths: &[String], path: &str) -> bool {
    paths.iter().any(|p| {
        path.strip_prefix(p.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// Unkeyed-byte bit: record keys are not keyed.
pub const UNKEYED_KEY: u8 = 1;
/// Unkeyed-byte bit: values (root, paths, numbers, booleans) are not keyed.
pub const UNKEYED_VALUE: u8 = 2;
/// Unkeyed-byte bit: headers are not keyed.
pub const UNKEYED_HEADERS: u8 = 4;
/// Unkeyed-byte bit: the value's root is not keyed, and of its paths only those the member lists
/// (and below them).
pub const UNKEYED_OTHER_PATHS: u8 = 8;

/// Whether a filter set whose unkeyed byte is `mask` and whose path list is `paths` holds keys
/// of `domain` at `path`.
pub(crate) fn keyed_in(mask: u8, paths: &[String], domain: Domain, path: &str) -> bool {
    let bit = match domain {
        Domain::Key => UNKEYED_KEY,
        Domain::HeaderRoot | Domain::HeaderPath => UNKEYED_HEADERS,
        _ => UNKEYED_VALUE,
    };
    if mask & bit != 0 {
        return false;
    }
    match domain {
        _ if mask & UNKEYED_OTHER_PATHS == 0 => true,
        Domain::ValueRoot => false,
        Domain::ValuePath | Domain::ValueNumber | Domain::ValueBool => covers(paths, path),
        _ => true,
    }
}

impl std::str::FromStr for IndexPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "full" => Ok(IndexPolicy::Full),
            "keys-and-headers" => Ok(IndexPolicy::KeysAndHeaders),
            "none" => Ok(IndexPolicy::None),
            other => match other.strip_prefix("paths:") {
                Some(list) => parse_paths(list).map(IndexPolicy::Paths),
                None => Err(format!(
                    "{other:?} is not an index policy (full, keys-and-headers, none, \
                     paths:<path>[,<path>...])"
                )),
            },
        }
    }
}

impl std::fmt::Display for IndexPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IndexPolicy::Full => f.write_str("full"),
            IndexPolicy::Paths(paths) => write!(f, "paths:{}", paths.join(",")),
            IndexPolicy::KeysAndHeaders => f.write_str("keys-and-headers"),
            IndexPolicy::None => f.write_str("none"),
        }
    }
}

/// The paths of a `paths:` policy: comma-separated dotted JSON paths (a leading `value.` is
/// dropped), at least one, sorted and without repeats.
fn parse_paths(list: &str) -> Result<Vec<String>, String> {
    let mut paths = Vec::new();
    for raw in list.split(',') {
        let path = raw.trim();
        let path = path.strip_prefix("value.").unwrap_or(path);
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!("paths: {raw:?} is not a dotted JSON path"));
        }
        if path.len() > MAX_POLICY_PATH_BYTES || path.chars().any(char::is_control) {
            return Err(format!(
                "paths: {raw:?} is longer than {MAX_POLICY_PATH_BYTES} bytes or holds control characters"
            ));
        }
        paths.push(path.to_owned());
    }
    paths.sort();
    paths.dedup();
    if paths.len() > MAX_POLICY_PATHS {
        return Err(format!("paths: more than {MAX_POLICY_PATHS} paths"));
    }
    Ok(paths)
}

/// The index policy of every topic: a default and per-topic overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexPolicies {
    /// For topics without an override.
    pub default: IndexPolicy,
    /// Overrides.
    pub topics: BTreeMap<Topic, IndexPolicy>,
}

impl IndexPolicies {
    /// The policy of `topic`.
    pub fn for_topic(&self, topic: &Topic) -> IndexPolicy {
        self.topics.get(topic).unwrap_or(&self.default).clone()
    }

    /// Parses overrides, `{"topic": "none", "audit": "keys-and-headers", "orders":
    /// "paths:user.id,country"}` (empty text: none).
    /// Topic names are validated as topics.
    pub fn parse_topics(text: &str) -> Result<BTreeMap<Topic, IndexPolicy>, String> {
        if text.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let raw: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("not a JSON object of topic names to policies: {e}"))?;
        raw.into_iter()
            .map(|(name, policy)| {
                let topic: Topic = name.parse().map_err(|e| format!("topic {name:?}: {e}"))?;
                let policy = policy.parse().map_err(|e| format!("topic {name:?}: {e}"))?;
                Ok((topic, policy))
            })
            .collect()
    }
}
