//! Test support shared by the S3 and DynamoDB backend tests: the local stack's endpoint and SDK
//! configuration, and a request counter.
//!
//! The endpoint comes from `TIER_TEST_AWS_ENDPOINT`; without it the tests panic (a missing service is a
//! failure, never a skip). Credentials and region are fixed test values, so a test can never sign a
//! request with real credentials.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;

/// How to start the local stack, repeated in every panic message.
pub const HINT: &str = "start the local stack: eval \"$(infra/local-stack.sh up)\"";

/// The local stack's endpoint; panics if it is not configured.
pub fn endpoint() -> String {
    match std::env::var("TIER_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!("TIER_TEST_AWS_ENDPOINT is not set; {HINT}"),
    }
}

/// SDK configuration for the local stack with test credentials.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region("us-east-1")
        .test_credentials()
        .load()
        .await
}

/// Names a request for counting.
pub type Label = fn(&BeforeTransmitInterceptorContextRef<'_>) -> String;

/// Counts the requests a client sends, by the label `label` gives them. Retries count as separate
/// requests.
#[derive(Debug, Clone)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
    label: Label,
}

impl RequestCounter {
    /// A counter labelling requests with `label`.
    pub fn new(label: Label) -> Self {
        RequestCounter {
            counts: Arc::default(),
            label,
        }
    }

    /// Counts so far, and resets them.
    pub fn take(&self) -> BTreeMap<String, usize> {
        self.counts
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
        let label = (self.label)(context);
        if let Ok(mut counts) = self.counts.lock() {
            *counts.entry(label).or_default() += 1;
        }
        Ok(())
    }
}
