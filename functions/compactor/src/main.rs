//! Compactor Lambda: on a schedule, compaction per partition.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tier::pipeline::CompactionPolicy;
use tier_compactor::handler::{CompactorInput, run};
use tier_lambda::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    tier_lambda::init_tracing(&config.log);
    let pipeline = &tier_lambda::aws::pipeline(&config).await;
    let policy = &CompactionPolicy {
        target_bytes: config.target_segment_bytes,
        ..Default::default()
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input = CompactorInput::parse(&event.payload)?;
        let report = run(pipeline, &input, policy).await?;
        tracing::info!(report = %serde_json::to_string(&report)?, "compaction run");
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
