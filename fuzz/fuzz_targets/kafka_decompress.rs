//! Each batch codec's decompressor on arbitrary input: the first byte picks the codec (gzip,
//! snappy — raw or xerial-framed, lz4 — frame or Chronik's size-prefixed block, zstd).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::kafka::Compression;
use tier::kafka::compression::decompress;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else {
        return;
    };
    let Ok(codec) = Compression::from_code(selector % 5) else {
        return;
    };
    if let Ok(out) = decompress(codec, payload, LIMIT) {
        assert!(
            out.len() <= LIMIT,
            "{codec:?} returned {} bytes over its limit",
            out.len()
        );
    }
});
