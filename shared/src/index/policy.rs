//! Index policies: how much of a topic's records the chunk filters key.
//!
//! Search answers never depend on the policy (records are always matched exactly); a policy that
//! keys less makes archives smaller and lets searches on what it leaves out read more chunks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys::Domain;
use crate::types::Topic;

/// What the chunk filters of a topic's archives key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexPolicy {
    /// Keys, values (text, JSON paths, numbers, booleans) and headers.
    #[default]
    Full,
    /// Keys and headers; a query on values reads every chunk its other terms allow.
    KeysAndHeaders,
    /// Nothing: archives of ≈ 1.0× the batches, and every search reads every chunk.
    None,
}

impl IndexPolicy {
    /// Whether archives of this policy key tokens of `domain`.
    pub fn keys(self, domain: Domain) -> bool {
        match self {
            IndexPolicy::Full => true,
            IndexPolicy::KeysAndHeaders => matches!(
                domain,
                Domain::Key | Domain::HeaderRoot | Domain::HeaderPath
            ),
            IndexPolicy::None => false,
        }
    }

    /// The bit mask of the filter member's "unkeyed" byte (`docs/FORMATS.md`, "Chunk filters").
    pub fn unkeyed_mask(self) -> u8 {
        match self {
            IndexPolicy::Full => 0,
            IndexPolicy::KeysAndHeaders => UNKEYED_VALUE,
            IndexPolicy::None => UNKEYED_KEY | UNKEYED_VALUE | UNKEYED_HEADERS,
        }
    }
}

/// Unkeyed-byte bit: record keys are not keyed.
pub const UNKEYED_KEY: u8 = 1;
/// Unkeyed-byte bit: values (root, paths, numbers, booleans) are not keyed.
pub const UNKEYED_VALUE: u8 = 2;
/// Unkeyed-byte bit: headers are not keyed.
pub const UNKEYED_HEADERS: u8 = 4;

/// Whether a filter set whose unkeyed byte is `mask` holds keys of `domain`.
pub(crate) fn keyed_in(mask: u8, domain: Domain) -> bool {
    let bit = match domain {
        Domain::Key => UNKEYED_KEY,
        Domain::HeaderRoot | Domain::HeaderPath => UNKEYED_HEADERS,
        _ => UNKEYED_VALUE,
    };
    mask & bit == 0
}

impl std::str::FromStr for IndexPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "full" => Ok(IndexPolicy::Full),
            "keys-and-headers" => Ok(IndexPolicy::KeysAndHeaders),
            "none" => Ok(IndexPolicy::None),
            other => Err(format!(
                "{other:?} is not an index policy (full, keys-and-headers, none)"
            )),
        }
    }
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
        self.topics.get(topic).copied().unwrap_or(self.default)
    }

    /// Parses overrides, `{"topic": "none", "audit": "keys-and-headers"}` (empty text: none).
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
