//! Tests of the archive module; shared helpers live here.

mod builder;
mod corruption;
mod measure;
mod oracle;
mod reader;
mod system_tar;
mod toc;

use super::*;

/// An owned batch for tests.
#[derive(Debug, Clone)]
pub(super) struct Batch {
    pub first: i64,
    pub last: i64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub bytes: Vec<u8>,
}

impl Batch {
    pub fn span(&self) -> BatchSpan<'_> {
        BatchSpan {
            first_offset: self.first,
            last_offset: self.last,
            min_timestamp: self.min_ts,
            max_timestamp: self.max_ts,
            bytes: &self.bytes,
            // Mix both hints so every chunk-level choice is exercised.
            precompressed: self.first % 3 == 0,
        }
    }
}

/// Deterministic test bytes: `repetitive` gives log-like text that
/// compresses well, otherwise xorshift noise that does not compress.
pub(super) fn gen_bytes(seed: u64, len: usize, repetitive: bool) -> Vec<u8> {
    if repetitive {
        let line = format!(
            "{{\"user\":{},\"event\":\"click\",\"page\":\"/home\",\"ok\":true}}\n",
            seed % 1000
        );
        return line.bytes().cycle().take(len).collect();
    }
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `count` batches of `size` bytes each, offsets 10 apart, timestamps rising.
pub(super) fn simple_batches(count: usize, size: usize, repetitive: bool) -> Vec<Batch> {
    (0..count)
        .map(|i| {
            let first = 1_000 + 10 * i as i64;
            Batch {
                first,
                last: first + 4,
                min_ts: 1_700_000_000_000 + 100 * i as i64,
                max_ts: 1_700_000_000_050 + 100 * i as i64,
                bytes: gen_bytes(i as u64 + 1, size, repetitive),
            }
        })
        .collect()
}

/// Default options with the given chunk target.
pub(super) fn small_options(target: usize) -> ArchiveOptions {
    ArchiveOptions {
        chunk_target_bytes: target,
        ..ArchiveOptions::default()
    }
}

pub(super) const MANIFEST: &[u8] = br#"{"topic":"orders","partition":3,"segment":1000}"#;

/// Builds an archive from batches and `(name, data)` index files.
pub(super) fn build(
    options: ArchiveOptions,
    batches: &[Batch],
    index: &[(String, Vec<u8>)],
) -> (Vec<u8>, Toc) {
    let mut builder = ArchiveBuilder::new(options);
    for b in batches {
        builder.push_batch(b.span()).expect("push_batch");
    }
    for (name, data) in index {
        builder.add_index_file(name, data).expect("add_index_file");
    }
    builder.finish(MANIFEST).expect("finish")
}

/// The bytes of `range` in a whole archive.
pub(super) fn fetch(archive: &[u8], range: ByteRange) -> &[u8] {
    range.slice_of(archive, 0).expect("range inside archive")
}

/// A few index files with Tantivy-like names.
pub(super) fn sample_index() -> Vec<(String, Vec<u8>)> {
    vec![
        ("meta.json".to_owned(), br#"{"segments":[]}"#.to_vec()),
        (".managed.json".to_owned(), b"[]".to_vec()),
        ("0a1b2c3d4e5f.idx".to_owned(), gen_bytes(77, 5_000, false)),
        ("0a1b2c3d4e5f.term".to_owned(), gen_bytes(78, 1_234, true)),
        ("empty.pos".to_owned(), Vec::new()),
    ]
}
