//! Compactor input: the schedule's constant input, or an EventBridge event carrying it in `detail`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tier::pipeline::{CompactionReport, CompactionRequest};
use tier_lambda::Metrics;

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

/// Why the input is not a [`CompactorInput`]; the run does not start. Every message names the
/// expected shape, then what serde says is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The input has a field other than `topics` and `dry_run`.
    #[error(
        "compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: unknown field `{field}`, \
         expected `topics` or `dry_run`"
    )]
    UnknownField {
        /// The field.
        field: String,
    },
    /// A field has the wrong type (`topics` is not a list of strings, or `dry_run` not a boolean).
    #[error("compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: {detail}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What serde says.
        detail: String,
    },
    /// The input is not an object (nor null, nor the fields as a sequence, which serde accepts).
    #[error("compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: {detail}")]
    NotAnObject {
        /// What serde says.
        detail: String,
    },
}

impl CompactorInput {
    /// Reads the input from a scheduled event (`detail`) or a plain input object; anything else is
    /// an error naming what was expected. Accepts exactly what `Deserialize` accepts, and an object
    /// is read field by field, in order, so the error names the first field serde would reject.
    pub fn parse(event: &Value) -> Result<CompactorInput, InputError> {
        let body = match event.get("detail-type") {
            Some(_) => event.get("detail").cloned().unwrap_or(Value::Null),
            None => event.clone(),
        };
        match body {
            Value::Null => Ok(CompactorInput::default()),
            Value::Object(fields) => CompactorInput::from_fields(&fields),
            other => serde_json::from_value(other).map_err(|e| InputError::NotAnObject {
                detail: e.to_string(),
            }),
        }
    }

    fn from_fields(fields: &Map<String, Value>) -> Result<CompactorInput, InputError> {
        let mut input = CompactorInput::default();
        for (name, value) in fields {
            match name.as_str() {
                "topics" => input.topics = field("topics", value)?,
                "dry_run" => input.dry_run = field("dry_run", value)?,
                _ => {
                    return Err(InputError::UnknownField {
                        field: name.clone(),
                    });
                }
            }
        }
        Ok(input)
    }
}

/// One field's value, or the field's [`InputError::WrongType`].
fn field<T: DeserializeOwned>(name: &'static str, value: &Value) -> Result<T, InputError> {
    T::deserialize(value).map_err(|e| InputError::WrongType {
        field: name,
        detail: e.to_string(),
    })
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

/// The EMF metrics of a run: what an operator watches.
pub fn metrics(report: &CompactionReport) -> Metrics {
    let mut m = Metrics::new("compactor");
    m.add(
        "PartitionsExamined",
        report.partitions_examined as f64,
        "Count",
    );
    m.add("MergesExecuted", report.merges_executed as f64, "Count");
    m.add("SegmentsMerged", report.segments_in_merges as f64, "Count");
    m.add("BytesRewritten", report.bytes_written as f64, "Bytes");
    m.add("SegmentsExpired", report.segments_expired as f64, "Count");
    m.add(
        "PartitionsSkipped",
        report.plans.iter().filter(|p| p.skipped.is_some()).count() as f64,
        "Count",
    );
    if let Some(gc) = &report.gc {
        m.add(
            "ArchivesDeleted",
            (gc.retired_deleted + gc.orphans_deleted) as f64,
            "Count",
        );
        m.add("ArchivesAwaitingGrace", gc.retired_waiting as f64, "Count");
        m.add("QuarantinedObjects", gc.quarantined as f64, "Count");
    }
    m.add("RunMs", report.took_ms as f64, "Milliseconds");
    m
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// `parse` accepts what the derived `Deserialize` accepts and says what it says.
    #[test]
    fn parse_agrees_with_serde() {
        let inputs = [
            json!({"topics": ["orders"], "dry_run": true}),
            json!({"dry_run": false, "topics": []}),
            json!({}),
            json!({"dryrun": true}),
            json!({"topics": ["a"], "extra": 1}),
            json!({"dry_run": "yes", "extra": 1}),
            json!({"topics": "orders"}),
            json!({"topics": ["orders", 7]}),
            json!({"topics": null}),
            json!({"dry_run": null}),
            json!([["orders"], true]),
            json!([]),
            json!("orders"),
            json!(7),
        ];
        for input in inputs {
            let serde = serde_json::from_value::<CompactorInput>(input.clone()).map_err(|e| {
                format!("compactor input must be {{\"topics\": [..], \"dry_run\": bool}}: {e}")
            });
            let parsed = CompactorInput::parse(&input).map_err(|e| e.to_string());
            assert_eq!(parsed, serde, "{input}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let parse = |v: Value| CompactorInput::parse(&v).unwrap_err();
        assert_eq!(
            parse(json!({"dryrun": true})),
            InputError::UnknownField {
                field: "dryrun".into()
            }
        );
        assert!(matches!(
            parse(json!({"topics": ["orders", 7]})),
            InputError::WrongType {
                field: "topics",
                ..
            }
        ));
        assert!(matches!(
            parse(json!({"detail-type": "Scheduled Event", "detail": {"dry_run": 1}})),
            InputError::WrongType {
                field: "dry_run",
                ..
            }
        ));
        assert!(matches!(
            parse(json!("orders")),
            InputError::NotAnObject { .. }
        ));
    }
}
