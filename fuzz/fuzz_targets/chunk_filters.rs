//! Chunk filters (index layout 2) read from an archive: an encoded filter set built from arbitrary
//! keys, then damaged by arbitrary edits, must decode to an error or to filters that can be probed
//! without panicking; undamaged, every key it was built from is held.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use tier::index::{ChunkFilter, ChunkFilters};

#[derive(Arbitrary, Debug)]
struct Input {
    chunks: Vec<Vec<u64>>,
    /// (position, xor) edits of the encoded bytes.
    edits: Vec<(u16, u8)>,
    truncate: Option<u16>,
    probes: Vec<u64>,
    raw: Vec<u8>,
    /// Value paths keyed (a `paths:` policy's filter member, version 2) if any.
    paths: Vec<String>,
}

fuzz_target!(|input: Input| {
    let chunks: Vec<ChunkFilter> = input
        .chunks
        .iter()
        .take(16)
        .map(|keys| ChunkFilter::build(keys.iter().copied().take(2_000).collect()).expect("build"))
        .collect();
    let n = chunks.len();
    let paths: Vec<String> = input
        .paths
        .iter()
        .take(64)
        .map(|p| p.chars().take(256).collect())
        .collect();
    let unkeyed = if paths.is_empty() { 0 } else { 8 };
    let mut bytes = ChunkFilters {
        chunks,
        unkeyed,
        paths: paths.clone(),
    }
    .encode();
    let intact = bytes.clone();
    for (at, xor) in &input.edits {
        let len = bytes.len();
        bytes[usize::from(*at) % len] ^= xor;
    }
    if let Some(t) = input.truncate {
        bytes.truncate(usize::from(t) % (bytes.len() + 1));
    }
    for candidate in [&bytes, &input.raw] {
        if let Ok(decoded) = ChunkFilters::decode(candidate, n) {
            for (i, f) in decoded.chunks.iter().enumerate() {
                for k in &input.probes {
                    let _ = f.may_hold(*k);
                    let _ = decoded.may_hold(i, tier::index::Domain::ValuePath, "a.b", *k);
                }
            }
        }
    }
    let decoded = ChunkFilters::decode(&intact, n).expect("intact filters decode");
    assert_eq!(decoded.paths, paths);
    for (f, keys) in decoded.chunks.iter().zip(&input.chunks) {
        assert!(keys.iter().take(2_000).all(|k| f.may_hold(*k)));
    }
});
