//! Tests of the Kafka codec, grouped by concern.

mod codecs;
mod corruption;
mod golden;
mod json;
mod records;
mod roundtrip;
mod segment;
mod support;
