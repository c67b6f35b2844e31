//! Synthetic data: realistic Kafka batches wrapped in a sealed WAL segment, for the demo, `tierctl gen`,
//! benchmarks and tests. Deterministic for a given seed.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::kafka::{BatchBuilder, Compression, KafkaError, RecordHeader, RecordInput};
use crate::types::{InvalidValue, Partition, Topic, TopicPartition};
use crate::wal::{CanonicalRecord, WalError, WalWriter};

/// The kind of record values to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueShape {
    /// JSON objects: `{"user":{"id":..},"country":"ES","event":"click","amount":..,"msg":".."}`.
    Json,
    /// Short sentences of words.
    Text,
    /// Random bytes (not UTF-8).
    Binary,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthSpec {
    /// Topic name.
    pub topic: Topic,
    /// Number of partitions (batches go round-robin).
    pub partitions: u32,
    /// Total records.
    pub records: u64,
    /// Records per batch.
    pub batch_records: u32,
    /// Batch compression.
    pub compression: Compression,
    /// Value shape.
    pub shape: ValueShape,
    /// First offset of every partition.
    pub start_offset: i64,
    /// Timestamp of the first record (ms).
    pub start_timestamp_ms: i64,
    /// Random seed.
    pub seed: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Building a batch failed.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Writing the WAL failed.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// The spec names an invalid partition.
    #[error(transparent)]
    Spec(InvalidValue),
}

const COUNTRIES: [&str; 6] = ["ES", "FR", "DE", "US", "JP", "BR"];
const EVENTS: [&str; 4] = ["click", "view", "purchase", "signup"];
const WORDS: [&str; 16] = [
    "order",
    "shipped",
    "payment",
    "failed",
    "retry",
    "customer",
    "invoice",
    "refund",
    "login",
    "timeout",
    "cart",
    "checkout",
    "warehouse",
    "delayed",
    "priority",
    "express",
];

fn value(rng: &mut StdRng, shape: ValueShape, user: u32) -> Vec<u8> {
    let sentence = |rng: &mut StdRng| {
        let n = rng.random_range(3..9);
        (0..n)
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    };
    match shape {
        ValueShape::Json => serde_json::json!({
            "user": { "id": user },
            "country": COUNTRIES[rng.random_range(0..COUNTRIES.len())],
            "event": EVENTS[rng.random_range(0..EVENTS.len())],
            "amount": rng.random_range(1..50_000) as f64 / 100.0,
            "msg": sentence(rng),
        })
        .to_string()
        .into_bytes(),
        ValueShape::Text => sentence(rng).into_bytes(),
        ValueShape::Binary => (0..rng.random_range(16..200))
            .map(|_| rng.random::<u8>())
            .collect(),
    }
}

/// Generates the batches of `spec`, in write order, as `(partition, batch bytes)`.
pub fn batches(spec: &SynthSpec) -> Result<Vec<(u32, Vec<u8>)>, SynthError> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let partitions = spec.partitions.max(1);
    let mut next_offset = vec![spec.start_offset; partitions as usize];
    let mut out = Vec::new();
    let mut written = 0u64;
    let mut ts = spec.start_timestamp_ms;
    while written < spec.records {
        let partition = (out.len() as u32) % partitions;
        let n = u64::from(spec.batch_records.max(1)).min(spec.records - written);
        let base = next_offset[partition as usize];
        let mut builder = BatchBuilder::new(base, spec.compression);
        for _ in 0..n {
            ts += rng.random_range(0..20);
            let user = rng.random_range(1..5_000u32);
            builder.push(RecordInput {
                timestamp: ts,
                key: Some(format!("user-{user}").into_bytes()),
                value: Some(value(&mut rng, spec.shape, user)),
                headers: vec![
                    RecordHeader {
                        key: "trace".into(),
                        value: Some(format!("{:016x}", rng.random::<u64>()).into_bytes()),
                    },
                    RecordHeader {
                        key: "source".into(),
                        value: Some(b"synth".to_vec()),
                    },
                ],
            });
        }
        out.push((partition, builder.build()?));
        next_offset[partition as usize] = base + n as i64;
        written += n;
    }
    Ok(out)
}

/// Wraps `(partition, batch)` pairs of `topic` into a sealed WAL segment, as a broker would.
pub fn wal_segment(topic: &Topic, batches: &[(u32, Vec<u8>)]) -> Result<Vec<u8>, SynthError> {
    let mut wal = WalWriter::new();
    for (partition, bytes) in batches {
        let partition = Partition::try_from(i64::from(*partition)).map_err(SynthError::Spec)?;
        let tp = TopicPartition::new(topic.clone(), partition);
        wal.append(&CanonicalRecord::from_batch(&tp, bytes)?)?;
    }
    Ok(wal.seal()?)
}
