//! Creating the catalog table (tests and the local stack; production tables come from the
//! CloudFormation template, which declares the same definition).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use super::error::{backend, build};
use crate::catalog::{CatalogError, CatalogResult};

/// The TTL attribute of ledger items (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// How long to wait for a new table to become `ACTIVE`.
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const POLL_EVERY: Duration = Duration::from_millis(250);

/// Creates the catalog table `table` and waits until it is `ACTIVE`, then enables TTL on
/// `expires_at`. The definition: partition key `pk` (S), sort key `sk` (S), on-demand billing
/// (`PAY_PER_REQUEST`), no secondary indexes.
///
/// An existing table is reused if its key schema is `pk`/`sk` (otherwise [`CatalogError::Backend`]);
/// TTL is only enabled if it is not already.
pub async fn create_table(client: &Client, table: &str) -> CatalogResult<()> {
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .map_err(build)
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(build)
    };
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) =>
        {
            tracing::info!(table, "catalog table exists; reusing it");
        }
        Err(e) => return Err(backend("CreateTable", e)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

async fn wait_until_active(client: &Client, table: &str) -> CatalogResult<()> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| backend("DescribeTable", e))?;
        let description = out
            .table()
            .ok_or_else(|| CatalogError::backend("DescribeTable returned no table"))?;
        let keys: Vec<(&str, &KeyType)> = description
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        if keys != [("pk", &KeyType::Hash), ("sk", &KeyType::Range)] {
            return Err(CatalogError::backend(format!(
                "table {table} has key schema {keys:?}, expected pk (HASH), sk (RANGE)"
            )));
        }
        if description.table_status() == Some(&TableStatus::Active) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(CatalogError::Backend {
                retryable: true,
                message: format!("table {table} not ACTIVE after {ACTIVE_TIMEOUT:?}"),
            });
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn enable_ttl(client: &Client, table: &str) -> CatalogResult<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| backend("DescribeTimeToLive", e))?;
    let ttl = current.time_to_live_description();
    let status = ttl.and_then(|t| t.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        let attribute = ttl.and_then(|t| t.attribute_name());
        if attribute == Some(TTL_ATTRIBUTE) {
            return Ok(());
        }
        return Err(CatalogError::backend(format!(
            "table {table} has TTL on {attribute:?}, expected {TTL_ATTRIBUTE}"
        )));
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(build)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| backend("UpdateTimeToLive", e))?;
    Ok(())
}
