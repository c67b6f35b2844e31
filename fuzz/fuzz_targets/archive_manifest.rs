//! `manifest.json` as read back from an archive (its JSON and the invariants on its figures).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::archive::Manifest;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::decode(data);
});
