//! Kafka v2 record batches as a `.log` segment holds them: framing, header, CRC, then the records
//! (decompressed with whichever codec the attributes name) under a decompression bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier::kafka::batches;

/// Decompression bound for the fuzzer: large enough for real batches, small enough that a bomb
/// is refused quickly (the pipeline's own bound is larger; its enforcement is the same code).
const MAX_DECOMPRESSED: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    for batch in batches(data) {
        let Ok(batch) = batch else { break };
        let _ = batch.verify_crc();
        if let Ok(records) = batch.records_with_limit(MAX_DECOMPRESSED) {
            for record in &records {
                let _ = batch.header().effective_timestamp(record);
            }
        }
    }
});
