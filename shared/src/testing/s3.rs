//! Test support: S3 clients against the local stack (moto), a fresh bucket per test, and a request
//! counter.
//!
//! The endpoint comes from `TIER_TEST_AWS_ENDPOINT`; without it the tests panic (a missing service is a
//! failure, never a skip). Credentials and region are fixed test values, so a test can never sign a
//! request with real credentials.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;

pub use super::local_stack::RequestCounter;
use super::local_stack::{HINT, endpoint, sdk_config};
use crate::store::S3Store;

/// A path-style S3 client for the local stack, optionally counting its requests.
pub async fn client(counter: Option<&RequestCounter>) -> Client {
    let shared = sdk_config().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared).force_path_style(true);
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    Client::from_conf(config.build())
}

/// A random name usable as a bucket name or key prefix.
pub fn random_name(what: &str) -> String {
    format!("tier-test-{what}-{:016x}", rand::random::<u64>())
}

/// Creates a fresh bucket; panics with the stack hint when the endpoint does not answer.
pub async fn fresh_bucket(client: &Client) -> String {
    let bucket = random_name("bucket");
    if let Err(e) = client.create_bucket().bucket(&bucket).send().await {
        panic!(
            "cannot create bucket {bucket} at {}: {}; {HINT}",
            endpoint(),
            aws_sdk_s3::error::DisplayErrorContext(&e)
        );
    }
    bucket
}

/// A store on a fresh bucket under a random prefix, for the conformance suite.
pub async fn store() -> (S3Store, String) {
    let client = client(None).await;
    let bucket = fresh_bucket(&client).await;
    let store = S3Store::new(client, bucket.clone()).with_prefix(&random_name("prefix"));
    (store, bucket)
}

/// A request counter labelling S3 requests by operation (the `x-id` query parameter the SDK adds),
/// else `METHOD ?first-parameter` (`GET ?list-type`) or the bare method (`HEAD`).
pub fn counter() -> RequestCounter {
    RequestCounter::new(s3_label)
}

fn s3_label(context: &BeforeTransmitInterceptorContextRef<'_>) -> String {
    let request = context.request();
    let query = request.uri().split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut pairs = query
        .split('&')
        .filter_map(|p| p.split_once('=').or(Some((p, ""))));
    match pairs.clone().find(|(k, _)| *k == "x-id") {
        Some((_, operation)) => operation.to_owned(),
        None => match pairs.next().filter(|(k, _)| !k.is_empty()) {
            Some((param, _)) => format!("{} ?{param}", request.method()),
            None => request.method().to_owned(),
        },
    }
}
