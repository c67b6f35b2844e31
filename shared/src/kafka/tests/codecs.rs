//! Codec edge cases: the framings other producers write, and hostile payloads.

use std::io::Write;

use super::super::compression::{compress, decompress};
use super::super::{Compression, KafkaError};

const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";

fn sample_data() -> Vec<u8> {
    (0..100_000u32).map(|n| (n % 7) as u8 + b'a').collect()
}

#[test]
fn every_codec_round_trips() {
    let data = sample_data();
    for codec in Compression::ALL {
        let compressed = compress(codec, &data).unwrap();
        assert_eq!(
            decompress(codec, &compressed, data.len()).unwrap(),
            data,
            "{codec}"
        );
        let err = decompress(codec, &compressed, data.len() - 1).unwrap_err();
        assert!(matches!(err, KafkaError::TooLarge { .. }), "{codec}: {err}");
    }
}

#[test]
fn snappy_is_written_in_xerial_framing_and_read_raw_too() {
    let data = sample_data();
    let framed = compress(Compression::Snappy, &data).unwrap();
    assert!(framed.starts_with(XERIAL_MAGIC));
    assert_eq!(
        &framed[8..16],
        &[0, 0, 0, 1, 0, 0, 0, 1],
        "version 1, compat 1"
    );
    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    assert_eq!(
        decompress(Compression::Snappy, &raw, usize::MAX).unwrap(),
        data
    );
}

#[test]
fn xerial_version_fields_are_not_checked() {
    // Some producers (e.g. Redpanda) write version and compat little-endian.
    let data = b"little-endian xerial header".repeat(3);
    let block = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    let mut framed = XERIAL_MAGIC.to_vec();
    framed.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
    framed.extend_from_slice(&(block.len() as i32).to_be_bytes());
    framed.extend_from_slice(&block);
    assert_eq!(
        decompress(Compression::Snappy, &framed, usize::MAX).unwrap(),
        data
    );
}

#[test]
fn broken_xerial_framing_is_a_decompress_error() {
    let framed = compress(Compression::Snappy, &sample_data()).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("header cut", framed[..12].to_vec()),
        ("block length cut", framed[..18].to_vec()),
        (
            "negative block length",
            [&framed[..16], &(-4i32).to_be_bytes()[..]].concat(),
        ),
    ];
    for (what, bytes) in cases {
        let err = decompress(Compression::Snappy, &bytes, usize::MAX).unwrap_err();
        assert!(
            matches!(
                err,
                KafkaError::Decompress {
                    codec: Compression::Snappy,
                    ..
                }
            ),
            "{what}: {err}"
        );
    }
}

#[test]
fn snappy_declared_length_is_capped_before_allocating() {
    // A raw block header claiming 4 GiB - 1 of output.
    let claim = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
    let err = decompress(Compression::Snappy, &claim, 1 << 20).unwrap_err();
    assert!(
        matches!(err, KafkaError::TooLarge { limit: 1_048_576 }),
        "{err}"
    );
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let member = |text: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    };
    let joined = [member(b"first member, "), member(b"second member")].concat();
    let out = decompress(Compression::Gzip, &joined, 1024).unwrap();
    assert_eq!(out, b"first member, second member");
}

#[test]
fn garbage_is_a_decompress_error_for_every_codec() {
    for codec in &Compression::ALL[1..] {
        let err = decompress(*codec, b"definitely not compressed data", 1 << 20).unwrap_err();
        match err {
            KafkaError::Decompress {
                codec: reported,
                ref reason,
            } => {
                assert_eq!(reported, *codec);
                assert!(!reason.is_empty());
                assert!(
                    err.to_string()
                        .starts_with(&format!("{codec} decompression failed"))
                );
            }
            other => panic!("{codec}: expected Decompress, got {other:?}"),
        }
    }
}

#[test]
fn lz4_is_read_as_a_frame_and_in_chronik_size_prefixed_block_framing() {
    let data = sample_data();
    let block = super::super::compress_lz4_size_prepended(&data);
    assert_eq!(&block[..4], &(data.len() as u32).to_le_bytes());
    // Cross-check against lz4_flex's own reader of that framing (what Chronik decodes with).
    assert_eq!(lz4_flex::decompress_size_prepended(&block).unwrap(), data);
    assert_eq!(
        decompress(Compression::Lz4, &block, data.len()).unwrap(),
        data
    );
    let err = decompress(Compression::Lz4, &block, data.len() - 1).unwrap_err();
    assert!(matches!(err, KafkaError::TooLarge { .. }), "{err}");
    // A prefix that claims more than the block holds, and a cut-short block, are errors.
    let mut lying = block.clone();
    lying[..4].copy_from_slice(&(data.len() as u32 + 1).to_le_bytes());
    assert!(matches!(
        decompress(Compression::Lz4, &lying, 1 << 20),
        Err(KafkaError::Decompress { .. })
    ));
    assert!(decompress(Compression::Lz4, &block[..block.len() / 2], 1 << 20).is_err());
    assert!(decompress(Compression::Lz4, &block[..3], 1 << 20).is_err());
}
