//! Connecting the AWS backends (feature `aws`): clients from the default credential chain, with
//! `AWS_ENDPOINT_URL` honoured (S3 then uses path-style addressing, as local stacks need).

use aws_config::BehaviorVersion;

use crate::catalog::DynamoCatalog;
use crate::store::S3Store;

/// The S3 store on `bucket` and the DynamoDB catalog on `table`, sharing one SDK configuration.
pub async fn connect(bucket: &str, table: &str) -> (S3Store, DynamoCatalog) {
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    let store = S3Store::new(aws_sdk_s3::Client::from_conf(s3_config), bucket);
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    (store, catalog)
}
