//! The pipeline over S3 and DynamoDB, built once per container.

use std::sync::Arc;

use tier::clock::SystemClock;
use tier::pipeline::Pipeline;

use crate::Config;

/// The pipeline of a function: S3 store on `config.bucket`, DynamoDB catalog on `config.table`.
pub async fn pipeline(config: &Config) -> Pipeline {
    let (store, catalog) = tier::aws::connect(&config.bucket, &config.table).await;
    Pipeline::new(
        Arc::new(store),
        Arc::new(catalog),
        Arc::new(SystemClock),
        config.pipeline_config(),
    )
}
