//! Compactor Lambda: on a schedule, compaction per partition.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tier::clock::{Clock, SystemClock};
use tier_compactor::handler::CompactorInput;
use tier_lambda::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    tier_lambda::init_tracing(&config.log);
    let pipeline = &tier_lambda::aws::pipeline(&config).await;
    let template = &config.compaction_request();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input = CompactorInput::parse(&event.payload)?;
        // Stop starting new work before the invocation's deadline: leave a minute (or a fifth of a
        // short invocation) to finish the step in progress.
        let remaining_ms = event
            .context
            .deadline
            .saturating_sub(SystemClock.now_ms().max(0) as u64);
        let remaining = Duration::from_millis(remaining_ms);
        let mut request = input.request(template);
        // No deadline (0, or already past: a local emulator) means no budget.
        request.time_budget = (remaining_ms > 0)
            .then(|| remaining.saturating_sub(Duration::from_secs(60).min(remaining / 5)));
        let report = pipeline.compact(&request).await?;
        tracing::info!(report = %serde_json::to_string(&report)?, "compaction run");
        tier_compactor::handler::metrics(&report).emit(SystemClock.now_ms());
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
