//! A Chronik broker's data WAL segment: V2 frames, bincode CanonicalRecords, stored batches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::chronik::{is_chronik_wal, read_segment};

fuzz_target!(|data: &[u8]| {
    let _ = is_chronik_wal(data);
    let _ = read_segment(data);
});
