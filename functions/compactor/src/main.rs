//! Compactor Lambda: on a schedule, compaction per partition.

use std::time::{Duration, Instant};

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tier::clock::{Clock, SystemClock};
use tier::pipeline::{CompactionPolicy, CompactionRequest};
use tier_compactor::handler::CompactorInput;
use tier_lambda::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    tier_lambda::init_tracing(&config.log);
    let pipeline = &tier_lambda::aws::pipeline(&config).await;
    let template = &CompactionRequest {
        policy: CompactionPolicy {
            target_bytes: config.target_segment_bytes,
            ..Default::default()
        },
        retention_ms: (config.retention_hours > 0).then(|| {
            i64::try_from(config.retention_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX)
        }),
        gc_grace_ms: Some(
            i64::try_from(config.grace_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
        ),
        ..Default::default()
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let input = CompactorInput::parse(&event.payload)?;
        let started = Instant::now();
        // Stop starting new work a minute before the invocation's deadline.
        let remaining = event
            .context
            .deadline
            .saturating_sub(SystemClock.now_ms().max(0) as u64);
        let mut request = input.request(template);
        request.time_budget =
            Some(Duration::from_millis(remaining).saturating_sub(Duration::from_secs(60)));
        let report = pipeline.compact(&request).await?;
        tracing::info!(report = %serde_json::to_string(&report)?, "compaction run");
        tier_compactor::handler::metrics(&report, started.elapsed()).emit(SystemClock.now_ms());
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
