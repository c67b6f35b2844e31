//! Test support: DynamoDB clients against the local stack (moto), a fresh table per test, and a
//! request counter.
//!
//! The endpoint comes from `TIER_TEST_AWS_ENDPOINT`; without it the tests panic (a missing service is a
//! failure, never a skip). Credentials and region are fixed test values, so a test can never sign a
//! request with real credentials.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;

pub use super::local_stack::RequestCounter;
use super::local_stack::{HINT, endpoint, sdk_config};
use crate::catalog::dynamo::{DynamoCatalog, create_table};
use crate::catalog::{IngestRecord, IngestStatus, SegmentEntry};
use crate::types::{Offset, TopicPartition};

/// A DynamoDB client for the local stack, optionally counting its requests.
pub async fn client(counter: Option<&RequestCounter>) -> Client {
    let shared = sdk_config().await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&shared);
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    Client::from_conf(config.build())
}

/// Creates a fresh, randomly named table; panics with the stack hint when that fails.
pub async fn fresh_table(client: &Client) -> String {
    let table = format!("tier-test-{:016x}", rand::random::<u64>());
    if let Err(e) = create_table(client, &table).await {
        panic!("cannot create table {table} at {}: {e}; {HINT}", endpoint());
    }
    table
}

/// A catalog on a fresh table, for the conformance suite.
pub async fn catalog() -> (DynamoCatalog, String) {
    let client = client(None).await;
    let table = fresh_table(&client).await;
    (DynamoCatalog::new(client, table.clone()), table)
}

/// A partition from its log directory name (`topic-N`).
pub fn tp(name: &str) -> TopicPartition {
    TopicPartition::from_log_dir_name(name).unwrap()
}

/// An offset.
pub fn off(n: i64) -> Offset {
    Offset::try_from(n).unwrap()
}

/// An `Indexed` ledger entry for `segments`.
pub fn ingest(source: &str, segments: &[SegmentEntry]) -> IngestRecord {
    IngestRecord {
        source: source.into(),
        status: IngestStatus::Indexed,
        segments: segments.iter().map(|s| s.id.clone()).collect(),
        at_ms: 1_700_000_000_123,
    }
}

/// Expected request counts.
pub fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// A catalog on a fresh table whose client counts requests; also returns the raw client and table.
pub async fn counted() -> (
    DynamoCatalog,
    RequestCounter,
    aws_sdk_dynamodb::Client,
    String,
) {
    let counter = RequestCounter::new(dynamo_label);
    let client = client(Some(&counter)).await;
    let table = fresh_table(&client).await;
    counter.take();
    (
        DynamoCatalog::new(client.clone(), table.clone()),
        counter,
        client,
        table,
    )
}

/// Labels a DynamoDB request by operation (from the `X-Amz-Target` header).
fn dynamo_label(context: &BeforeTransmitInterceptorContextRef<'_>) -> String {
    let target = context
        .request()
        .headers()
        .get("x-amz-target")
        .unwrap_or("?");
    target.rsplit('.').next().unwrap_or(target).to_owned()
}
