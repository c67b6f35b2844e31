//! Truncated, bit-flipped and otherwise damaged batches: errors, never panics.

use proptest::prelude::*;

use super::super::{
    BatchBuilder, BatchHeader, Compression, KafkaError, RawBatch, RecordInput, batches,
};
use super::support::{CRC_COVERAGE_START, build, fix_crc, sample_batch, sample_inputs};

/// Every strict prefix of a valid batch is `Truncated`, for the header parser,
/// the batch parser and the segment iterator alike.
#[test]
fn every_prefix_is_truncated() {
    for codec in Compression::ALL {
        let bytes = sample_batch(codec);
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            let needed = if len < BatchHeader::SIZE {
                BatchHeader::SIZE
            } else {
                bytes.len()
            };
            match RawBatch::parse(prefix) {
                Err(KafkaError::Truncated {
                    needed: n,
                    available,
                }) => {
                    assert_eq!((n, available), (needed, len), "{codec} prefix {len}")
                }
                other => panic!("{codec} prefix {len}: {other:?}"),
            }
            if len < BatchHeader::SIZE {
                assert!(matches!(
                    BatchHeader::parse(prefix),
                    Err(KafkaError::Truncated { .. })
                ));
            }
            let errors: Vec<_> = batches(prefix).collect();
            match errors.as_slice() {
                [] => assert_eq!(len, 0),
                [
                    Err(KafkaError::AtPosition {
                        position: 0,
                        source,
                    }),
                ] => {
                    assert!(
                        matches!(**source, KafkaError::Truncated { .. }),
                        "{codec} prefix {len}"
                    )
                }
                other => panic!("{codec} prefix {len}: {other:?}"),
            }
        }
    }
}

/// A batch cut short and given a matching length and CRC passes the framing
/// checks, so the records decoder must notice the missing data.
#[test]
fn shortened_batch_with_valid_crc_fails_to_decode() {
    for codec in Compression::ALL {
        let original = sample_batch(codec);
        let expected = RawBatch::parse(&original).unwrap().records().unwrap();
        for len in BatchHeader::SIZE..original.len() {
            let mut bytes = original[..len].to_vec();
            bytes[8..12].copy_from_slice(&(len as i32 - 12).to_be_bytes());
            fix_crc(&mut bytes);
            let batch = RawBatch::parse(&bytes).unwrap();
            batch.verify_crc().unwrap();
            match batch.records() {
                Err(err) => assert!(
                    matches!(
                        err,
                        KafkaError::MalformedRecord(_) | KafkaError::Decompress { .. }
                    ),
                    "{codec} cut at {len}: {err}"
                ),
                // lz4_flex accepts an LZ4 frame missing only its 4-byte end
                // mark; nothing is lost then, and the records must be intact.
                Ok(records) => assert_eq!(records, expected, "{codec} cut at {len}"),
            }
        }
    }
}

/// Any single bit flip in the CRC-covered bytes is reported as `CrcMismatch`,
/// by `verify_crc` or already by `parse`.
#[test]
fn every_bit_flip_after_byte_21_is_a_crc_mismatch() {
    for codec in Compression::ALL {
        let mut bytes = sample_batch(codec);
        for position in CRC_COVERAGE_START..bytes.len() {
            for bit in 0..8 {
                bytes[position] ^= 1 << bit;
                let result = RawBatch::parse(&bytes).and_then(|batch| batch.verify_crc());
                assert!(
                    matches!(result, Err(KafkaError::CrcMismatch { .. })),
                    "{codec} byte {position} bit {bit}: {result:?}"
                );
                bytes[position] ^= 1 << bit;
            }
        }
    }
}

/// Decoding a damaged batch (CRC unchecked or recomputed) returns a result,
/// never panics.
#[test]
fn bit_flips_anywhere_never_panic() {
    for codec in Compression::ALL {
        let mut bytes = sample_batch(codec);
        for position in 0..bytes.len() {
            for bit in 0..8 {
                bytes[position] ^= 1 << bit;
                exercise(&bytes);
                let mut refreshed = bytes.clone();
                if refreshed.len() >= BatchHeader::SIZE {
                    fix_crc(&mut refreshed);
                    exercise(&refreshed);
                }
                bytes[position] ^= 1 << bit;
            }
        }
    }
}

fn exercise(bytes: &[u8]) {
    let _ = BatchHeader::parse(bytes);
    if let Ok(batch) = RawBatch::parse(bytes) {
        let _ = batch.verify_crc();
        let _ = batch.records();
    }
    for batch in batches(bytes).flatten() {
        let _ = batch.records();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random edits of a batch, with the CRC fixed so decoding goes deep.
    #[test]
    fn random_edits_never_panic(
        codec_index in 0..Compression::ALL.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = sample_batch(Compression::ALL[codec_index]);
        for (index, value) in edits {
            let position = index.index(bytes.len() - CRC_COVERAGE_START) + CRC_COVERAGE_START;
            bytes[position] = value;
        }
        fix_crc(&mut bytes);
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
    }
}

#[test]
fn legacy_message_sets_are_rejected_with_their_magic() {
    for magic in [0u8, 1] {
        // offset, size, crc, magic, attributes, (timestamp for v1), key -1, value "v"
        let mut message = vec![0u8; 8];
        let body_len: i32 = 4 + 1 + 1 + if magic == 1 { 8 } else { 0 } + 4 + 4 + 1;
        message.extend_from_slice(&body_len.to_be_bytes());
        message.extend_from_slice(&[0, 0, 0, 0, magic, 0]);
        message.extend(std::iter::repeat_n(0, if magic == 1 { 8 } else { 0 }));
        message.extend_from_slice(&(-1i32).to_be_bytes());
        message.extend_from_slice(&1i32.to_be_bytes());
        message.push(b'v');
        let err = RawBatch::parse(&message).unwrap_err();
        assert!(
            matches!(err, KafkaError::UnsupportedMagic(m) if m == magic as i8),
            "{err}"
        );
        assert!(err.to_string().contains("v0/v1"), "{err}");
    }
}

#[test]
fn header_sanity_checks() {
    let original = sample_batch(Compression::None);
    let edited = |range: std::ops::Range<usize>, value: &[u8]| {
        let mut bytes = original.clone();
        bytes[range].copy_from_slice(value);
        fix_crc(&mut bytes);
        RawBatch::parse(&bytes).map(|_| ())
    };
    assert!(matches!(
        edited(8..12, &48i32.to_be_bytes()),
        Err(KafkaError::InvalidLength(48))
    ));
    assert!(matches!(
        edited(8..12, &(-5i32).to_be_bytes()),
        Err(KafkaError::InvalidLength(-5))
    ));
    assert!(matches!(
        edited(21..23, &5i16.to_be_bytes()),
        Err(KafkaError::UnsupportedCompression(5))
    ));
    assert!(matches!(
        edited(0..8, &(-1i64).to_be_bytes()),
        Err(KafkaError::InvalidHeader(_))
    ));
    assert!(matches!(
        edited(57..61, &(-1i32).to_be_bytes()),
        Err(KafkaError::InvalidHeader(_))
    ));
    assert!(matches!(
        edited(23..27, &(-1i32).to_be_bytes()),
        Err(KafkaError::InvalidHeader(_))
    ));
    // Three records cannot fit in offset deltas 0..=1.
    assert!(matches!(
        edited(23..27, &1i32.to_be_bytes()),
        Err(KafkaError::InvalidHeader(_))
    ));
    let overflow = edited(0..8, &(i64::MAX - 1).to_be_bytes()).unwrap_err();
    assert!(overflow.to_string().contains("overflows"), "{overflow}");
}

#[test]
fn record_count_mismatches_are_malformed() {
    let original = sample_batch(Compression::None);
    let declared = sample_inputs().len() as i32;
    for count in [declared - 1, declared + 1] {
        let mut bytes = original.clone();
        bytes[23..27].copy_from_slice(&(declared + 1).to_be_bytes()); // room for the extra delta
        bytes[57..61].copy_from_slice(&count.to_be_bytes());
        fix_crc(&mut bytes);
        let err = RawBatch::parse(&bytes).unwrap().records().unwrap_err();
        assert!(matches!(err, KafkaError::MalformedRecord(_)), "{err}");
    }
}

#[test]
fn decompression_is_capped() {
    let one_mib_of_zeros = |codec| {
        let record = RecordInput {
            value: Some(vec![0; 1 << 20]),
            ..Default::default()
        };
        build(BatchBuilder::new(0, codec), &[record])
    };
    let plain = one_mib_of_zeros(Compression::None);
    let expected = RawBatch::parse(&plain).unwrap().records().unwrap();
    for codec in &Compression::ALL[1..] {
        let bytes = one_mib_of_zeros(*codec);
        assert!(
            bytes.len() < 64 * 1024,
            "{codec} should shrink 1 MiB of zeros"
        );
        let batch = RawBatch::parse(&bytes).unwrap();
        let err = batch.records_with_limit(64 * 1024).unwrap_err();
        assert!(
            matches!(err, KafkaError::TooLarge { limit: 65536 }),
            "{codec}: {err}"
        );
        assert_eq!(batch.records().unwrap(), expected);
    }
}
