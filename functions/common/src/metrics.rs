//! CloudWatch Embedded Metric Format: one JSON line per invocation that CloudWatch turns into metrics.

use serde_json::{Map, Value, json};

/// Metrics of one invocation, written as one EMF line by [`Metrics::emit`].
#[derive(Debug, Clone)]
pub struct Metrics {
    function: &'static str,
    values: Vec<(&'static str, f64, &'static str)>,
}

/// The CloudWatch namespace of every Chronik Tier metric.
pub const NAMESPACE: &str = "ChronikTier";

impl Metrics {
    /// Metrics of `function`, which becomes the `Function` dimension.
    pub fn new(function: &'static str) -> Self {
        Metrics {
            function,
            values: Vec::new(),
        }
    }

    /// Adds `value` (accumulating if `name` was added before) with a CloudWatch unit (`Count`,
    /// `Bytes`, `Milliseconds`).
    pub fn add(&mut self, name: &'static str, value: f64, unit: &'static str) {
        match self.values.iter_mut().find(|(n, ..)| *n == name) {
            Some(entry) => entry.1 += value,
            None => self.values.push((name, value, unit)),
        }
    }

    /// Keeps the largest `value` seen for `name` (e.g. the worst lag of an invocation).
    pub fn max(&mut self, name: &'static str, value: f64, unit: &'static str) {
        match self.values.iter_mut().find(|(n, ..)| *n == name) {
            Some(entry) => entry.1 = entry.1.max(value),
            None => self.values.push((name, value, unit)),
        }
    }

    /// The EMF document.
    pub fn to_json(&self, timestamp_ms: i64) -> Value {
        let definitions: Vec<Value> = self
            .values
            .iter()
            .map(|(name, _, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Function"]],
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert("Function".into(), json!(self.function));
        for (name, value, _) in &self.values {
            doc.insert((*name).into(), json!(value));
        }
        Value::Object(doc)
    }

    /// Prints the EMF line to stdout, where the Lambda runtime ships it to CloudWatch Logs.
    pub fn emit(&self, timestamp_ms: i64) {
        println!("{}", self.to_json(timestamp_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric() {
        let mut m = Metrics::new("indexer");
        m.add("SegmentsIndexed", 2.0, "Count");
        m.add("SegmentsIndexed", 1.0, "Count");
        m.add("BytesIndexed", 1024.0, "Bytes");
        let doc = m.to_json(1_767_225_600_000);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "ChronikTier"
        );
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Name"],
            "BytesIndexed"
        );
        assert_eq!(doc["SegmentsIndexed"], 3.0);
        assert_eq!(doc["Function"], "indexer");
    }
}
