//! Compactor input: the schedule's constant input, or an EventBridge event carrying it in `detail`.

use serde::Deserialize;
use serde_json::Value;
use tier::pipeline::CompactionRequest;

/// What a run is asked to do. Arrives either as the schedule's constant input itself, or inside an
/// EventBridge event's `detail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompactorInput {
    /// Only these topics (all when empty).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Report the plan without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

impl CompactorInput {
    /// Reads the input from a scheduled event (`detail`) or a plain input object; anything else is
    /// an error naming what was expected.
    pub fn parse(event: &Value) -> Result<CompactorInput, String> {
        let body = match event.get("detail-type") {
            Some(_) => event.get("detail").cloned().unwrap_or(Value::Null),
            None => event.clone(),
        };
        match body {
            Value::Null => Ok(CompactorInput::default()),
            Value::Object(map) if map.is_empty() => Ok(CompactorInput::default()),
            other => serde_json::from_value(other).map_err(|e| {
                format!("compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: {e}")
            }),
        }
    }
}

impl CompactorInput {
    /// The library request for this input under the function's configured policy and retention.
    pub fn request(self, template: &CompactionRequest) -> CompactionRequest {
        CompactionRequest {
            topics: self.topics,
            dry_run: self.dry_run,
            ..template.clone()
        }
    }
}
