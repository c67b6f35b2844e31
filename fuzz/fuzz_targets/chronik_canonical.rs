//! The bincode-encoded CanonicalRecord inside a Chronik WAL frame, on its own (reaches the
//! decoder without first having to forge a frame CRC).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::chronik::CanonicalRecord;

fuzz_target!(|data: &[u8]| {
    let _ = CanonicalRecord::decode(data);
});
