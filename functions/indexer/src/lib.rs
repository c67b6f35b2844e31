//! The indexer function: S3 notifications (direct, wrapped in SQS, or via EventBridge) of sealed
//! segments → `Pipeline::ingest_object` for every object.

pub mod event;
pub mod handler;
