//! Chronik Tier's own WAL segment format: header, frames, canonical records, seal footer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::wal::{WalSegment, is_wal};

fuzz_target!(|data: &[u8]| {
    let _ = is_wal(data);
    let _ = WalSegment::parse(data);
});
