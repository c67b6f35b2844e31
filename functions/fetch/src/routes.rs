//! Request → route, with every parameter validated (a bad one is a 400 with a reason).

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use tier::pipeline::OffsetQuery;
use tier::types::{Partition, Topic, TopicPartition};

/// Default `max_bytes` of a records request.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// Default and maximum `limit` of a search.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest `limit` of a search.
pub const MAX_LIMIT: usize = 1_000;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/topics`
    Topics,
    /// `GET /v1/topics/{topic}`
    Topic(Topic),
    /// `GET …/records?offset=&max_bytes=`; `json` when the client accepts JSON.
    Records {
        tp: TopicPartition,
        offset: i64,
        max_bytes: usize,
        json: bool,
    },
    /// `GET …/offsets?timestamp=` or `?spec=earliest|latest`
    Offsets {
        tp: TopicPartition,
        query: OffsetQuery,
    },
    /// `GET …/search?q=&limit=` or `GET /v1/search?q=&topic=&limit=`
    Search {
        topic: Option<Topic>,
        partition: Option<Partition>,
        query: String,
        limit: usize,
    },
}

/// Why a request does not name a route: (HTTP status, message).
pub type RouteError = (u16, String);

fn bad(message: impl Into<String>) -> RouteError {
    (400, message.into())
}

fn number<T: std::str::FromStr>(
    req: &ApiGatewayV2httpRequest,
    name: &str,
) -> Result<Option<T>, RouteError> {
    match req.query_string_parameters.first(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            bad(format!(
                "query parameter {name}={v:?} is not a valid number"
            ))
        }),
    }
}

fn accepts_json(req: &ApiGatewayV2httpRequest) -> bool {
    req.headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

impl Route {
    /// Parses method, path (anything before `/v1/`, such as a stage name, is ignored) and query.
    pub fn parse(req: &ApiGatewayV2httpRequest) -> Result<Route, RouteError> {
        let method = req.request_context.http.method.as_str();
        if method != "GET" {
            return Err((
                405,
                format!("method {method} is not allowed; the API is read-only"),
            ));
        }
        let raw = req
            .raw_path
            .as_deref()
            .or(req.request_context.http.path.as_deref())
            .unwrap_or("");
        let path = raw
            .find("/v1/")
            .map(|i| &raw[i + 1..])
            .unwrap_or(raw.trim_start_matches('/'));
        let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let tp = |topic: &str, partition: &str| -> Result<TopicPartition, RouteError> {
            let topic: Topic = topic.parse().map_err(|e| bad(format!("{e}")))?;
            let partition: Partition = partition.parse().map_err(|e| bad(format!("{e}")))?;
            Ok(TopicPartition::new(topic, partition))
        };
        match parts.as_slice() {
            ["v1", "topics"] => Ok(Route::Topics),
            ["v1", "topics", topic] => Ok(Route::Topic(
                topic.parse().map_err(|e| bad(format!("{e}")))?,
            )),
            ["v1", "topics", topic, "partitions", p, "records"] => Ok(Route::Records {
                tp: tp(topic, p)?,
                offset: number(req, "offset")?
                    .ok_or_else(|| bad("query parameter offset is required"))?,
                max_bytes: number(req, "max_bytes")?.unwrap_or(DEFAULT_MAX_BYTES),
                json: accepts_json(req),
            }),
            ["v1", "topics", topic, "partitions", p, "offsets"] => {
                let spec = req.query_string_parameters.first("spec");
                let query = match (number(req, "timestamp")?, spec) {
                    (Some(ts), None) => OffsetQuery::Timestamp(ts),
                    (None, Some("earliest")) => OffsetQuery::Earliest,
                    (None, Some("latest")) => OffsetQuery::Latest,
                    _ => {
                        return Err(bad(
                            "give exactly one of timestamp=<ms> or spec=earliest|latest",
                        ));
                    }
                };
                Ok(Route::Offsets {
                    tp: tp(topic, p)?,
                    query,
                })
            }
            ["v1", "topics", topic, "partitions", p, "search"] => {
                let tp = tp(topic, p)?;
                search(req, Some(tp.topic), Some(tp.partition))
            }
            ["v1", "search"] => {
                let topic = req
                    .query_string_parameters
                    .first("topic")
                    .map(str::parse)
                    .transpose();
                search(req, topic.map_err(|e| bad(format!("{e}")))?, None)
            }
            _ => Err((404, format!("no route for GET /{path}"))),
        }
    }
}

fn search(
    req: &ApiGatewayV2httpRequest,
    topic: Option<Topic>,
    partition: Option<Partition>,
) -> Result<Route, RouteError> {
    let query = req
        .query_string_parameters
        .first("q")
        .ok_or_else(|| bad("query parameter q is required"))?;
    let limit = number(req, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    Ok(Route::Search {
        topic,
        partition,
        query: query.to_owned(),
        limit,
    })
}
