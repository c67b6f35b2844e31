//! `tierctl serve-kafka`'s request decoding (`tier::kafka_api::decode_request`): a frame from a
//! client is decoded or refused with an error, never a panic, an abort or an allocation sized by
//! a length the frame does not hold. Seeds: frames kafka-python and librdkafka sent to it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tier::kafka_api::decode_request(tier::kafka_api::Bytes::copy_from_slice(data));
});
