//! Indexer Lambda: S3 / SQS / EventBridge notification of a sealed segment → archives + catalog.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tier::clock::{Clock, SystemClock};
use tier_indexer::handler::Indexer;
use tier_lambda::{Config, Metrics};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    tier_lambda::init_tracing(&config.log);
    // One invocation at a time per environment: scratch left in /tmp is a killed run's.
    let stale = tier::scratch::Scratch::remove_stale(&config.scratch);
    if stale > 0 {
        tracing::warn!(
            stale,
            "removed scratch directories of interrupted invocations"
        );
    }
    let pipeline = tier_lambda::aws::pipeline(&config).await;
    let indexer = &Indexer::new(pipeline, config.bucket.clone());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let mut metrics = Metrics::new("indexer");
        let result = indexer.handle(event.payload, &mut metrics).await;
        metrics.emit(SystemClock.now_ms());
        result
    }))
    .await
}
