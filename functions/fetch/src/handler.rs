//! Route → pipeline call → response. Never fails: every error becomes an HTTP status with a reason.
//! Response bodies follow the schemas of docs/openapi.yaml.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use serde_json::json;
use tier::catalog::PartitionInfo;
use tier::pipeline::{
    FetchRequest, FetchResult, OffsetQuery, Pipeline, PipelineError, SearchRequest,
};
use tier::summary::{PartitionSummary, TopicSummary};
use tier_lambda::Metrics;

use crate::response::HttpResponse;
use crate::routes::Route;

/// The fetch API over one pipeline (clients and caches live as long as the container).
#[derive(Debug, Clone)]
pub struct Fetcher {
    pipeline: Pipeline,
    json_budget: usize,
}

/// The most bytes of records a JSON fetch response holds: a Lambda response is at most 6 MB, and
/// the envelope (headers, the other fields, escaping already counted) stays well under the rest.
/// A window that would exceed it ends early, with `truncated` and the `next_offset` to go on from.
pub const JSON_RECORDS_BUDGET: usize = 5 << 20;

/// `TopicSummary`s (docs/openapi.yaml) of `partitions`, sorted by topic.
fn topics(partitions: &[PartitionInfo]) -> Vec<TopicSummary> {
    TopicSummary::group(partitions.iter().map(PartitionSummary::from).collect())
}

/// The `X-Tier-*` headers describing a fetched window.
fn window_headers(result: &FetchResult) -> [(String, String); 4] {
    [
        ("x-tier-batch-count".into(), result.batch_count.to_string()),
        (
            "x-tier-first-offset".into(),
            result.first_offset.to_string(),
        ),
        ("x-tier-last-offset".into(), result.last_offset.to_string()),
        ("x-tier-next-offset".into(), result.next_offset.to_string()),
    ]
}

impl Fetcher {
    /// A fetcher over `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        Fetcher {
            pipeline,
            json_budget: JSON_RECORDS_BUDGET,
        }
    }

    /// The same with another JSON records budget (tests use small ones).
    pub fn with_json_budget(self, bytes: usize) -> Self {
        Fetcher {
            json_budget: bytes,
            ..self
        }
    }

    /// Answers one request.
    pub async fn handle(
        &self,
        req: &ApiGatewayV2httpRequest,
        metrics: &mut Metrics,
    ) -> HttpResponse {
        let before = self.pipeline.cache_stats();
        let response = match Route::parse(req) {
            Ok(route) => self
                .route(route, metrics)
                .await
                .unwrap_or_else(|e| HttpResponse::from_pipeline(&e)),
            Err(e) => HttpResponse::from_route(&e),
        };
        let after = self.pipeline.cache_stats();
        metrics.add("Requests", 1.0, "Count");
        metrics.add("CacheHits", (after.hits - before.hits) as f64, "Count");
        metrics.add(
            "CacheMisses",
            (after.misses - before.misses) as f64,
            "Count",
        );
        if response.status_code >= 400 {
            let name = if response.status_code >= 500 {
                "Errors5xx"
            } else {
                "Errors4xx"
            };
            metrics.add(name, 1.0, "Count");
        }
        response
    }

    async fn route(
        &self,
        route: Route,
        metrics: &mut Metrics,
    ) -> Result<HttpResponse, PipelineError> {
        let catalog = self.pipeline.catalog();
        match route {
            Route::Topics => {
                let partitions = catalog.partitions().await?;
                Ok(HttpResponse::json(
                    200,
                    &json!({ "topics": topics(&partitions) }),
                ))
            }
            Route::Topic(topic) => {
                let partitions: Vec<PartitionInfo> = catalog
                    .partitions()
                    .await?
                    .into_iter()
                    .filter(|p| p.tp.topic == topic)
                    .collect();
                match topics(&partitions).pop() {
                    Some(t) => Ok(HttpResponse::json(200, &json!(t))),
                    None => Ok(HttpResponse::not_found(&format!(
                        "no tiered data for topic {topic}"
                    ))),
                }
            }
            Route::Records {
                tp,
                offset,
                max_bytes,
                json,
            } => {
                let result = self
                    .pipeline
                    .fetch(&FetchRequest {
                        tp,
                        offset,
                        max_bytes,
                    })
                    .await?;
                metrics.add("FetchBytes", result.batches.len() as f64, "Bytes");
                metrics.add("FetchBatches", result.batch_count as f64, "Count");
                if !json {
                    return Ok(HttpResponse::binary(
                        &result.batches,
                        window_headers(&result),
                    ));
                }
                let records = result
                    .records(offset)
                    .map_err(|e| PipelineError::Internal(e.to_string()))?;
                // Whole records while they fit the budget (at least one): a cut window says so and
                // names the offset to continue from.
                let (mut kept, mut used) = (Vec::new(), 0usize);
                let mut next_offset = result.next_offset;
                let mut truncated = false;
                for record in records {
                    let size = serde_json::to_vec(&record).map_or(0, |v| v.len()) + 1;
                    if !kept.is_empty() && used + size > self.json_budget {
                        next_offset = record.offset;
                        truncated = true;
                        break;
                    }
                    used += size;
                    kept.push(record);
                }
                let window = json!({
                    "topic": result.tp.topic.as_str(),
                    "partition": result.tp.partition.get(),
                    "batch_count": result.batch_count,
                    "first_offset": result.first_offset,
                    "last_offset": result.last_offset,
                    "next_offset": next_offset,
                    "truncated": truncated,
                    "records": kept,
                });
                let mut response = HttpResponse::json(200, &window);
                response.headers.extend(window_headers(&result));
                response
                    .headers
                    .insert("x-tier-next-offset".into(), next_offset.to_string());
                Ok(response)
            }
            Route::Offsets { tp, query } => {
                let result = self.pipeline.offsets(&tp, query).await?;
                let spec = match query {
                    OffsetQuery::Earliest => "earliest",
                    OffsetQuery::Latest => "latest",
                    OffsetQuery::Timestamp(_) => "timestamp",
                };
                let answer = json!({
                    "topic": tp.topic.as_str(),
                    "partition": tp.partition.get(),
                    "spec": spec,
                    "offset": result.offset,
                    "timestamp": result.timestamp,
                });
                Ok(HttpResponse::json(200, &answer))
            }
            Route::Search {
                topic,
                partition,
                query,
                limit,
            } => {
                // A partition search names a partition: nothing tiered there is a 404, as for
                // records and offsets (a topic-wide search with no hits is an empty 200).
                if let (Some(t), Some(p)) = (&topic, partition) {
                    let tp = tier::types::TopicPartition::new(t.clone(), p);
                    if self.pipeline.catalog().partition(&tp).await?.is_none() {
                        return Err(PipelineError::UnknownPartition(tp));
                    }
                }
                let req = SearchRequest {
                    topic,
                    partition,
                    query: query.clone(),
                    limit,
                    ..Default::default()
                };
                let hits = self.pipeline.search(&req).await?;
                let result = json!({ "query": query, "count": hits.len(), "hits": hits });
                Ok(HttpResponse::json(200, &result))
            }
        }
    }
}
