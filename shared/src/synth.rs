//! Synthetic data: realistic Kafka batches wrapped in a sealed WAL segment, for the demo, `tierctl gen`,
//! benchmarks and tests. Deterministic for a given seed.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use crate::kafka::{BatchBuilder, Compression, KafkaError, RawBatch, RecordHeader, RecordInput};
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

/// How [`chronik_segment`] writes a segment: the quirks real Chronik segments carry.
#[derive(Debug, Clone, Default)]
pub struct ChronikQuirks {
    /// Write frames under the CRC rule of brokers before v2.4.0.
    pub legacy_crc: bool,
    /// Store LZ4 batches in Chronik's size-prefixed block framing (as a broker accepts them).
    pub lz4_blocks: bool,
    /// Write the frames in this order of the batches (indexes; default: as given).
    pub order: Option<Vec<usize>>,
    /// Write a zero-record frame (an empty produce) after every this many frames.
    pub empty_frame_every: Option<usize>,
    /// Write every this many frames twice.
    pub repeat_every: Option<usize>,
}

/// Writes the v2 batches `batches` of `tp` as a Chronik broker's WAL segment: one `WalRecord` V2
/// frame per batch, each a `CanonicalRecord` as Chronik's produce path builds it, with `quirks`.
pub fn chronik_segment(
    tp: &TopicPartition,
    batches: &[Vec<u8>],
    quirks: &ChronikQuirks,
) -> Result<Vec<u8>, SynthError> {
    use crate::chronik::{CrcRule, encode_data_frame};
    let rule = if quirks.legacy_crc {
        CrcRule::LengthAsZero
    } else {
        CrcRule::Current
    };
    let order: Vec<usize> = quirks
        .order
        .clone()
        .unwrap_or_else(|| (0..batches.len()).collect());
    let mut out = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let Some(batch) = batches.get(i) else {
            continue;
        };
        let batch = if quirks.lz4_blocks {
            lz4_frame_to_block(batch)?
        } else {
            batch.clone()
        };
        let record = crate::chronik::CanonicalRecord::from_batch(&batch)?;
        let frame = encode_data_frame(tp, &record, rule);
        out.extend_from_slice(&frame);
        if quirks.repeat_every.is_some_and(|k| k > 0 && n % k == 0) {
            out.extend_from_slice(&frame);
        }
        if quirks
            .empty_frame_every
            .is_some_and(|k| k > 0 && n % k == 0)
        {
            out.extend_from_slice(&chronik_empty_frame(tp, record.base_offset, rule));
        }
    }
    Ok(out)
}

/// The frame a broker writes for an empty produce (a records field that decodes to no batch).
pub fn chronik_empty_frame(
    tp: &TopicPartition,
    base_offset: i64,
    rule: crate::chronik::CrcRule,
) -> Vec<u8> {
    use crate::chronik::{CanonicalRecord, CompressionType, TimestampType};
    let record = CanonicalRecord {
        base_offset: 0,
        partition_leader_epoch: 0,
        producer_id: 0,
        producer_epoch: 0,
        base_sequence: 0,
        is_transactional: false,
        is_control: false,
        compression: CompressionType::None,
        timestamp_type: TimestampType::CreateTime,
        base_timestamp: 0,
        max_timestamp: 0,
        records: Vec::new(),
        compressed_records_wire_bytes: None,
        original_v1_wire_format: None,
        original_v2_wire_format: Some(Vec::new()),
    };
    crate::chronik::encode_frame(
        tp.topic.as_str(),
        i32::try_from(tp.partition.get()).unwrap_or(i32::MAX),
        &record.encode(),
        (base_offset, base_offset - 1, 0),
        rule,
    )
}

/// The same batch with an LZ4-frame records section re-compressed as Chronik's size-prefixed
/// block (batch length and CRC-32C rewritten); other batches unchanged.
fn lz4_frame_to_block(batch: &[u8]) -> Result<Vec<u8>, SynthError> {
    use crate::kafka::{BatchHeader, Compression, compress_lz4_size_prepended, compression};
    let raw = RawBatch::parse(batch)?;
    if raw.header().compression()? != Compression::Lz4 {
        return Ok(batch.to_vec());
    }
    let body = &raw.bytes()[BatchHeader::SIZE..];
    let plain =
        compression::decompress(Compression::Lz4, body, crate::kafka::MAX_DECOMPRESSED_SIZE)?;
    let mut out = raw.bytes()[..BatchHeader::SIZE].to_vec();
    out.extend_from_slice(&compress_lz4_size_prepended(&plain));
    let batch_length = u32::try_from(out.len() - 12).unwrap_or(u32::MAX);
    out[8..12].copy_from_slice(&batch_length.to_be_bytes());
    let crc = crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}
