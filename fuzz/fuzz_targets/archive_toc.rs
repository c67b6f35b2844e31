//! The archive TOC's binary encoding (catalog `toc` attribute): decoding, invariants, lookups,
//! and that whatever decodes re-encodes to bytes that decode to the same TOC. (Not to the same
//! bytes: bincode's decoder accepts non-minimal varints, e.g. `fb 4b 00` for 75, which the encoder
//! never writes; found by fuzzing, harmless.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::archive::Toc;

fuzz_target!(|data: &[u8]| {
    let Ok(toc) = Toc::decode(data) else { return };
    let _ = toc.validate();
    let _ = toc.index_range();
    let _ = toc.members_end();
    if let Some(first) = toc.chunks.first() {
        let _ = toc.chunks_from(first.first_offset);
    }
    let again = Toc::decode(&toc.encode());
    assert!(
        again.as_ref().is_ok_and(|t| *t == toc),
        "a decoded TOC does not survive re-encoding: {again:?}"
    );
});
