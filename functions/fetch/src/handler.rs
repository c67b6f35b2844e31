//! Route → pipeline call → response. Never fails: every error becomes an HTTP status with a reason.
//! Response bodies follow the schemas of docs/openapi.yaml.

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use serde_json::json;
use tier::catalog::PartitionInfo;
use tier::pipeline::{
    FetchRequest, FetchResult, OffsetQuery, Pipeline, PipelineError, SearchRequest,
};
use tier::summary::{PartitionSummary, TopicSummary};
use tier::txn::PartitionTxns;
use tier::types::ObjectKey;
use tier_lambda::Metrics;

use crate::response::{HttpResponse, MAX_BINARY_BYTES, MAX_BODY_BYTES};
use crate::routes::Route;

/// The fetch API over one pipeline (clients and caches live as long as the container).
#[derive(Debug, Clone)]
pub struct Fetcher {
    pipeline: Pipeline,
    json_budget: usize,
}

/// The most bytes of records (a JSON fetch) or hits (a search) a JSON response holds: the body
/// budget ([`MAX_BODY_BYTES`]) less room for the rest of the envelope. A window or a page that
/// would exceed it ends early and says where to continue (`next_offset`, `next_cursor`).
pub const JSON_RECORDS_BUDGET: usize = MAX_BODY_BYTES - (64 << 10);

/// How long the URL of an exported window stays valid.
pub const EXPORT_URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// `TopicSummary`s (docs/openapi.yaml) of `partitions`, sorted by topic.
fn topics(partitions: &[PartitionInfo]) -> Vec<TopicSummary> {
    TopicSummary::group(partitions.iter().map(PartitionSummary::from).collect())
}

/// The aborted transactions with records in a fetched window, as the JSON field lists them.
fn aborted_in(result: &FetchResult, txns: &PartitionTxns) -> Vec<serde_json::Value> {
    txns.aborted_within(result.first_offset, result.last_offset)
        .map(|t| {
            json!({
                "producer_id": t.producer_id,
                "first_offset": t.first_offset,
                "last_offset": t.last_offset,
            })
        })
        .collect()
}

/// The most aborted transactions `X-Tier-Aborted-Transactions` lists (about 4 KB); a window
/// overlapping more ends the list with `...` (the JSON field has them all).
const MAX_ABORTED_IN_HEADER: usize = 100;

/// The transaction headers of a fetched window: its last stable offset and the aborted
/// transactions with records in it, `producer:first-last` comma-separated (empty for none).
fn txn_headers(result: &FetchResult, txns: &PartitionTxns) -> [(String, String); 2] {
    let mut aborted: Vec<String> = txns
        .aborted_within(result.first_offset, result.last_offset)
        .take(MAX_ABORTED_IN_HEADER + 1)
        .map(|t| format!("{}:{}-{}", t.producer_id, t.first_offset, t.last_offset))
        .collect();
    if aborted.len() > MAX_ABORTED_IN_HEADER {
        aborted.truncate(MAX_ABORTED_IN_HEADER);
        aborted.push("...".into());
    }
    [
        (
            "x-tier-last-stable-offset".into(),
            txns.last_stable_offset.to_string(),
        ),
        ("x-tier-aborted-transactions".into(), aborted.join(",")),
    ]
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
        let segments_before = self.pipeline.segment_cache_stats();
        let response = match Route::parse(req) {
            Ok(route) => self
                .route(route, metrics)
                .await
                .unwrap_or_else(|e| HttpResponse::from_pipeline(&e)),
            Err(e) => HttpResponse::from_route(&e),
        };
        let after = self.pipeline.cache_stats();
        let segments_after = self.pipeline.segment_cache_stats();
        metrics.add("Requests", 1.0, "Count");
        metrics.add(
            "SegmentCacheHits",
            (segments_after.hits - segments_before.hits) as f64,
            "Count",
        );
        metrics.add(
            "SegmentCacheMisses",
            (segments_after.misses - segments_before.misses) as f64,
            "Count",
        );
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
                read_committed,
            } => {
                let result = self
                    .pipeline
                    .fetch(&FetchRequest {
                        tp,
                        offset,
                        max_bytes,
                    })
                    .await?;
                let txns = self.pipeline.transactions(&result.tp).await?;
                metrics.add("FetchBytes", result.batches.len() as f64, "Bytes");
                metrics.add("FetchBatches", result.batch_count as f64, "Count");
                if !json && result.batches.len() > MAX_BINARY_BYTES {
                    // Only a first batch larger than any response gets here (the pipeline clamps
                    // `max_bytes` below this): its bytes are served from the store instead.
                    return self.export(&result).await;
                }
                if !json {
                    let mut response =
                        HttpResponse::binary(&result.batches, window_headers(&result));
                    response.headers.extend(txn_headers(&result, &txns));
                    return Ok(response);
                }
                // Whole records while they fit the budget (at least one): a cut window says so and
                // names the offset to continue from.
                let page = match read_committed {
                    true => result.committed_page(offset, self.json_budget, &txns),
                    false => result.record_page(offset, self.json_budget),
                };
                let (kept, cut_at) = page.map_err(|e| PipelineError::Internal(e.to_string()))?;
                let truncated = cut_at.is_some();
                // read_committed stops at the last stable offset: nothing from there is stable yet.
                let next_offset = match (cut_at, read_committed) {
                    (Some(at), _) => at,
                    (None, true) => result.next_offset.min(txns.last_stable_offset),
                    (None, false) => result.next_offset,
                };
                let window = json!({
                    "topic": result.tp.topic.as_str(),
                    "partition": result.tp.partition.get(),
                    "batch_count": result.batch_count,
                    "first_offset": result.first_offset,
                    "last_offset": result.last_offset,
                    "next_offset": next_offset,
                    "truncated": truncated,
                    "last_stable_offset": txns.last_stable_offset,
                    "aborted_transactions": aborted_in(&result, &txns),
                    "records": kept,
                });
                let mut response = HttpResponse::json(200, &window);
                response.headers.extend(window_headers(&result));
                response.headers.extend(txn_headers(&result, &txns));
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
                cursor,
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
                    after: cursor,
                    max_bytes: Some(self.json_budget),
                    ..Default::default()
                };
                let page = self.pipeline.search_page(&req).await?;
                let result = json!({
                    "query": query,
                    "count": page.hits.len(),
                    "hits": page.hits,
                    "truncated": page.next.is_some(),
                    "next_cursor": page.next.map(|c| c.to_string()),
                });
                Ok(HttpResponse::json(200, &result))
            }
        }
    }

    /// A window too large for a response body: its bytes are put under `exports/` (same bytes,
    /// same key; a lifecycle rule deletes them a day later) and the answer is a `303 See Other` to a presigned URL of them, with
    /// the window's headers; the bytes behind the URL are exactly the batches.
    async fn export(&self, result: &FetchResult) -> Result<HttpResponse, PipelineError> {
        let store = self.pipeline.store();
        let crc = crc32c::crc32c(&result.batches);
        let key = ObjectKey::export(&result.tp, result.first_offset, result.last_offset, crc);
        let size = result.batches.len();
        // Put every time, even when it exists: a new object restarts the lifecycle rule's day,
        // so the URL handed out never outlives the bytes behind it.
        store.put(&key, result.batches.clone()).await?;
        let Some(url) = store.presigned_get(&key, EXPORT_URL_TTL).await? else {
            let message = format!(
                "the batch at offset {} is {size} bytes, more than a response holds \
                 ({MAX_BINARY_BYTES}), and this store cannot hand out a URL for it",
                result.first_offset
            );
            return Ok(HttpResponse::too_large(&message));
        };
        let mut response = HttpResponse::json(
            303,
            &json!({
                "location": url,
                "bytes": size,
                "expires_in_seconds": EXPORT_URL_TTL.as_secs(),
            }),
        );
        response.headers.extend(window_headers(result));
        response.headers.insert("location".into(), url);
        Ok(response)
    }
}
