//! The Chronik WAL reader against the real fixtures (our encoder must reproduce them byte for
//! byte) and against the generator's quirks, damage and random corruption.

use proptest::prelude::*;

use super::*;
use crate::kafka::Compression;
use crate::synth::{self, ChronikQuirks, SynthSpec, ValueShape};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/chronik-wal/demo");

fn demo_segments() -> Vec<(String, Vec<u8>)> {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{DEMO}/manifest.json")).unwrap())
            .unwrap();
    manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let path = s["path"].as_str().unwrap().to_owned();
            let bytes = std::fs::read(format!("{DEMO}/{path}")).unwrap();
            (path, bytes)
        })
        .collect()
}

fn tp(partition: i64) -> TopicPartition {
    TopicPartition::new(
        "orders".parse().unwrap(),
        Partition::try_from(partition).unwrap(),
    )
}

/// Synthetic batches of one partition: `n` batches of 10 records, offsets from 0.
fn batches(n: u64, compression: Compression, seed: u64) -> Vec<Vec<u8>> {
    let spec = SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions: 1,
        records: n * 10,
        batch_records: 10,
        compression,
        shape: ValueShape::Json,
        start_offset: 0,
        start_timestamp_ms: 1_717_200_000_000,
        seed,
    };
    synth::batches(&spec)
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect()
}

fn stored(segment: &ChronikSegment<'_>) -> Vec<Vec<u8>> {
    segment
        .batches
        .iter()
        .map(|b| b.batch.bytes().to_vec())
        .collect()
}

#[test]
fn the_encoder_reproduces_every_frame_of_the_chronik_fixtures() {
    let mut frames = 0;
    for (path, bytes) in demo_segments() {
        let mut position = 0;
        while position < bytes.len() {
            let frame = parse_frame(&bytes, position).unwrap();
            let record = CanonicalRecord::decode(frame.canonical_data).unwrap();
            let batch = record.original_v2_wire_format.clone().unwrap();
            assert_eq!(
                CanonicalRecord::from_batch(&batch).unwrap(),
                record,
                "{path} @ {position}"
            );
            let tp = SegmentPath::parse(&format!("wal/{path}")).unwrap().tp;
            assert_eq!(
                encode_data_frame(&tp, &record, frame.crc_rule),
                &bytes[position..position + frame.len],
                "{path} @ {position}"
            );
            position += frame.len;
            frames += 1;
        }
        let segment = read_segment(&bytes).unwrap();
        assert_eq!(segment.frames, segment.batches.len(), "{path}");
    }
    assert_eq!(frames, 30);
}

#[test]
fn generated_segments_read_back_as_the_batches_they_wrap() {
    for codec in Compression::ALL {
        let originals = batches(6, codec, 1);
        let quirks = ChronikQuirks {
            lz4_blocks: true,
            ..Default::default()
        };
        let bytes = synth::chronik_segment(&tp(2), &originals, &quirks).unwrap();
        let segment = read_segment(&bytes).unwrap();
        assert_eq!(segment.tp, Some(tp(2)));
        assert_eq!(segment.batches.len(), 6, "{codec}");
        for b in &segment.batches {
            // Every record decodes, LZ4 blocks included.
            assert_eq!(b.batch.records().unwrap().len(), 10, "{codec}");
        }
        if codec != Compression::Lz4 {
            assert_eq!(stored(&segment), originals, "{codec}");
        }
    }
}

#[test]
fn quirks_of_real_segments_are_read_as_the_broker_meant_them() {
    let originals = batches(8, Compression::Zstd, 2);
    // Out of offset order, with a gap (batch 3 never written), zero-record frames, repeats, and
    // the CRC rule of brokers before v2.4.0.
    let quirks = ChronikQuirks {
        legacy_crc: true,
        order: Some(vec![1, 0, 2, 5, 4, 6, 7]),
        empty_frame_every: Some(3),
        repeat_every: Some(2),
        lz4_blocks: false,
    };
    let bytes = synth::chronik_segment(&tp(0), &originals, &quirks).unwrap();
    let segment = read_segment(&bytes).unwrap();
    let want: Vec<Vec<u8>> = [0, 1, 2, 4, 5, 6, 7]
        .iter()
        .map(|&i| originals[i].clone())
        .collect();
    assert_eq!(stored(&segment), want, "sorted, the gap kept");
    assert_eq!(segment.duplicate_frames, 4);
    assert_eq!(segment.empty_frames, 3);
    assert_eq!(segment.legacy_crc_frames, segment.frames);
    // An empty, just-rotated file is a segment without batches.
    let empty = read_segment(&[]).unwrap();
    assert!(empty.tp.is_none() && empty.batches.is_empty());
}

fn err(bytes: &[u8]) -> ChronikWalError {
    read_segment(bytes).unwrap_err()
}

#[test]
fn damaged_and_foreign_segments_are_rejected_with_a_specific_error() {
    let originals = batches(3, Compression::Gzip, 3);
    let good = synth::chronik_segment(&tp(0), &originals, &ChronikQuirks::default()).unwrap();
    let first = parse_frame(&good, 0).unwrap();

    // A torn last frame (a crash mid-write).
    let torn = &good[..good.len() - 7];
    assert!(
        matches!(err(torn), ChronikWalError::TornFrame { missing: 7, .. }),
        "{}",
        err(torn)
    );
    // A V1 frame, an unknown version, flags, a bad magic.
    let mut v1 = good.clone();
    v1[2] = 1;
    assert!(matches!(err(&v1), ChronikWalError::V1Frame { position: 0 }));
    let mut flags = good.clone();
    flags[3] = 4;
    assert!(matches!(
        err(&flags),
        ChronikWalError::UnknownFlags { flags: 4, .. }
    ));
    let mut magic = good.clone();
    magic[first.len] = 0;
    assert!(matches!(err(&magic), ChronikWalError::BadMagic { .. }));
    // A flipped payload byte: the frame CRC catches it.
    let mut flipped = good.clone();
    flipped[40] ^= 1;
    assert!(matches!(
        err(&flipped),
        ChronikWalError::Checksum { position: 0, .. }
    ));

    // A frame whose payload is not a CanonicalRecord (e.g. a Raft entry of `__meta`).
    let raft = encode_frame(
        "orders",
        0,
        b"\x01\x02raft entry",
        (0, 0, 1),
        CrcRule::Current,
    );
    assert!(
        matches!(err(&raft), ChronikWalError::Payload { .. }),
        "{}",
        err(&raft)
    );
    // A record of a broker before v2.2.0: 12 fields and the optional records section only.
    let mut record = CanonicalRecord::from_batch(&originals[0]).unwrap();
    let full = record.encode();
    let v1_len = 1;
    let v2_len = 1 + 8 + originals[0].len();
    let compressed_len = 1 + 8 + (originals[0].len() - 61);
    let prefix = &full[..full.len() - v2_len - v1_len - compressed_len];
    let old = encode_frame("orders", 0, prefix, (0, 9, 10), CrcRule::LengthAsZero);
    assert!(
        matches!(
            err(&old),
            ChronikWalError::Payload {
                source: CanonicalError::BeforeV2_2,
                ..
            }
        ),
        "{}",
        err(&old)
    );
    // A converted v0/v1 MessageSet keeps no v2 batch.
    record.original_v1_wire_format = Some(vec![0; 30]);
    record.original_v2_wire_format = None;
    let converted = encode_data_frame(&tp(0), &record, CrcRule::Current);
    assert!(matches!(
        err(&converted),
        ChronikWalError::NoOriginalBatch { .. }
    ));

    // A trailer that disagrees with the batch.
    let record = CanonicalRecord::from_batch(&originals[0]).unwrap();
    let lying = encode_frame("orders", 0, &record.encode(), (0, 10, 11), CrcRule::Current);
    assert!(
        matches!(
            err(&lying),
            ChronikWalError::Mismatch {
                what: "trailer",
                field: "last_offset",
                ..
            }
        ),
        "{}",
        err(&lying)
    );
    // Entries out of the batch's range, and a timestamp type the batch does not have.
    let mut shifted = record.clone();
    shifted.records[3].offset = 100;
    let bad = encode_data_frame(&tp(0), &shifted, CrcRule::Current);
    assert!(
        matches!(
            err(&bad),
            ChronikWalError::Mismatch {
                field: "entry offset",
                found: 100,
                ..
            }
        ),
        "{}",
        err(&bad)
    );
    let mut appended = record.clone();
    appended.timestamp_type = TimestampType::LogAppendTime;
    let bad = encode_data_frame(&tp(0), &appended, CrcRule::Current);
    assert!(
        matches!(
            err(&bad),
            ChronikWalError::Mismatch {
                found: 1,
                batch: 0,
                ..
            }
        ),
        "{}",
        err(&bad)
    );
    // A batch whose own CRC-32C is wrong (the frame CRC recomputed over it).
    let mut bad_batch = record.clone();
    if let Some(b) = bad_batch.original_v2_wire_format.as_mut() {
        let last = b.len() - 1;
        b[last] ^= 0xFF;
    }
    let bad = encode_data_frame(&tp(0), &bad_batch, CrcRule::Current);
    assert!(
        matches!(err(&bad), ChronikWalError::Batch { .. }),
        "{}",
        err(&bad)
    );

    // Frames of two partitions, and two different frames over the same offsets.
    let mut mixed = good.clone();
    mixed.extend(
        synth::chronik_segment(&tp(1), &originals[..1], &ChronikQuirks::default()).unwrap(),
    );
    assert!(matches!(
        err(&mixed),
        ChronikWalError::MixedPartitions { .. }
    ));
    let other = batches(1, Compression::None, 99);
    let mut conflict = good.clone();
    conflict.extend(synth::chronik_segment(&tp(0), &other, &ChronikQuirks::default()).unwrap());
    assert!(
        matches!(
            err(&conflict),
            ChronikWalError::ConflictingFrames { offset: 0, .. }
        ),
        "{}",
        err(&conflict)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Random damage never panics; what still reads is a valid segment of whole, CRC-checked
    /// batches.
    #[test]
    fn random_corruption_never_panics_and_never_passes_a_bad_batch(
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<proptest::sample::Index>()),
        fix_crc in any::<bool>(),
    ) {
        let originals = batches(3, Compression::Snappy, 4);
        let mut bytes = synth::chronik_segment(&tp(0), &originals, &ChronikQuirks::default()).unwrap();
        for (at, value) in &flips {
            let i = at.index(bytes.len());
            bytes[i] = *value;
        }
        if fix_crc {
            // Re-seal the first frame's CRC (as its length field now says it is laid out), so
            // the damage reaches the payload checks.
            let length = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
            let end = HEADER_LEN.saturating_add(length);
            if end <= bytes.len() {
                let crc = frame_crc(&bytes[..end], CrcRule::Current);
                bytes[8..12].copy_from_slice(&crc.to_le_bytes());
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(segment) = read_segment(&bytes) {
            for b in &segment.batches {
                prop_assert!(b.batch.verify_crc().is_ok());
            }
        }
    }
}
