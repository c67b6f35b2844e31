//! Test support: S3 clients against the local stack (moto), a fresh bucket per test, and a request
//! counter.
//!
//! The endpoint comes from `TIER_TEST_AWS_ENDPOINT`; without it the tests panic (a missing service is a
//! failure, never a skip). Credentials and region are fixed test values, so a test can never sign a
//! request with real credentials.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;

use super::S3Store;

/// How to start the local stack, repeated in every panic message.
pub const HINT: &str = "start the local stack: eval \"$(infra/local-stack.sh up)\"";

/// The local stack's endpoint; panics if it is not configured.
pub fn endpoint() -> String {
    match std::env::var("TIER_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("TIER_TEST_AWS_ENDPOINT is not set; {HINT}"),
    }
}

/// A path-style S3 client for the local stack, optionally counting its requests.
pub async fn client(counter: Option<&RequestCounter>) -> Client {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region("us-east-1")
        .test_credentials()
        .load()
        .await;
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

/// Counts the HTTP requests a client sends, by operation (the `x-id` query parameter the SDK adds),
/// else `METHOD ?first-parameter` (`GET ?list-type`) or the bare method (`HEAD`). Retries count as
/// separate requests.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, usize>>>);

impl RequestCounter {
    /// Counts so far, and resets them.
    pub fn take(&self) -> BTreeMap<String, usize> {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let query = request.uri().split_once('?').map(|(_, q)| q).unwrap_or("");
        let mut pairs = query
            .split('&')
            .filter_map(|p| p.split_once('=').or(Some((p, ""))));
        let label = match pairs.clone().find(|(k, _)| *k == "x-id") {
            Some((_, operation)) => operation.to_owned(),
            None => match pairs.next().filter(|(k, _)| !k.is_empty()) {
                Some((param, _)) => format!("{} ?{param}", request.method()),
                None => request.method().to_owned(),
            },
        };
        if let Ok(mut counts) = self.0.lock() {
            *counts.entry(label).or_default() += 1;
        }
        Ok(())
    }
}
