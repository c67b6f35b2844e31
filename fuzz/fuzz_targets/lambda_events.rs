//! The events the Lambda functions accept: S3 notifications (direct, through SQS, through
//! EventBridge) for the indexer, scheduled events and plain inputs for the compactor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tier_compactor::handler::CompactorInput;
use tier_indexer::event::IndexerEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = CompactorInput::parse(&value);
    let _ = IndexerEvent::parse(value);
});
