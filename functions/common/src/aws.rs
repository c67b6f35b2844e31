//! The pipeline over S3 and DynamoDB, built once per container from the default credential chain.
//! `AWS_ENDPOINT_URL` (e.g. a local stack) is honoured; S3 then uses path-style addressing.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use tier::catalog::DynamoCatalog;
use tier::clock::SystemClock;
use tier::pipeline::Pipeline;
use tier::store::S3Store;

use crate::Config;

/// The pipeline of a function: S3 store on `config.bucket`, DynamoDB catalog on `config.table`.
pub async fn pipeline(config: &Config) -> Pipeline {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    let store = S3Store::new(
        aws_sdk_s3::Client::from_conf(s3_config),
        config.bucket.clone(),
    );
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(&sdk), config.table.clone());
    Pipeline::new(
        Arc::new(store),
        Arc::new(catalog),
        Arc::new(SystemClock),
        config.pipeline_config(),
    )
}
