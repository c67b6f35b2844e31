//! Fetch Lambda: the HTTP API (payload v2) over tiered batches, offsets and search.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tier::clock::{Clock, SystemClock};
use tier_fetch::handler::Fetcher;
use tier_lambda::{Config, Metrics};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    tier_lambda::init_tracing(&config.log);
    let fetcher = &Fetcher::new(tier_lambda::aws::pipeline(&config).await);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let mut metrics = Metrics::new("fetch");
            let response = fetcher.handle(&event.payload, &mut metrics).await;
            metrics.emit(SystemClock.now_ms());
            Ok::<_, Error>(response)
        },
    ))
    .await
}
