//! Request → route, with every parameter validated (a bad one is a [`RouteError`] saying why; its
//! HTTP status is chosen in [`crate::response`]).

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use tier::pipeline::{ErrorCode, OffsetQuery};
use tier::types::{InvalidValue, Partition, Topic, TopicPartition};

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

/// Why a request does not name a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The method is not `GET`.
    #[error("method {method} is not allowed; the API is read-only")]
    MethodNotAllowed {
        /// The method.
        method: String,
    },
    /// No route has this path.
    #[error("no route for GET /{path}")]
    NoRoute {
        /// The path, from `v1/` on.
        path: String,
    },
    /// A topic or partition in the path or query is invalid.
    #[error(transparent)]
    InvalidName(#[from] InvalidValue),
    /// A required query parameter is missing.
    #[error("query parameter {0} is required")]
    MissingParameter(&'static str),
    /// A numeric query parameter does not parse.
    #[error("query parameter {name}={value:?} is not a valid number")]
    NotANumber {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// An offsets request gives neither or both of `timestamp` and `spec`, or an unknown `spec`.
    #[error("give exactly one of timestamp=<ms> or spec=earliest|latest")]
    OffsetQuery,
    /// A search `limit` is 0 or above [`MAX_LIMIT`].
    #[error("limit must be 1 to {MAX_LIMIT}")]
    LimitOutOfRange,
}

impl RouteError {
    /// The outcome class: an unknown path is not found, anything else is a bad request.
    pub fn code(&self) -> ErrorCode {
        match self {
            RouteError::NoRoute { .. } => ErrorCode::NotFound,
            _ => ErrorCode::BadRequest,
        }
    }
}

fn number<T: std::str::FromStr>(
    req: &ApiGatewayV2httpRequest,
    name: &'static str,
) -> Result<Option<T>, RouteError> {
    match req.query_string_parameters.first(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| RouteError::NotANumber {
            name,
            value: v.to_owned(),
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
            return Err(RouteError::MethodNotAllowed {
                method: method.to_owned(),
            });
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
            let topic: Topic = topic.parse()?;
            let partition: Partition = partition.parse()?;
            Ok(TopicPartition::new(topic, partition))
        };
        match parts.as_slice() {
            ["v1", "topics"] => Ok(Route::Topics),
            ["v1", "topics", topic] => Ok(Route::Topic(topic.parse()?)),
            ["v1", "topics", topic, "partitions", p, "records"] => Ok(Route::Records {
                tp: tp(topic, p)?,
                offset: number(req, "offset")?.ok_or(RouteError::MissingParameter("offset"))?,
                max_bytes: number(req, "max_bytes")?.unwrap_or(DEFAULT_MAX_BYTES),
                json: accepts_json(req),
            }),
            ["v1", "topics", topic, "partitions", p, "offsets"] => {
                let spec = req.query_string_parameters.first("spec");
                let query = match (number(req, "timestamp")?, spec) {
                    (Some(ts), None) => OffsetQuery::Timestamp(ts),
                    (None, Some("earliest")) => OffsetQuery::Earliest,
                    (None, Some("latest")) => OffsetQuery::Latest,
                    _ => return Err(RouteError::OffsetQuery),
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
                search(req, topic?, None)
            }
            _ => Err(RouteError::NoRoute {
                path: path.to_owned(),
            }),
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
        .ok_or(RouteError::MissingParameter("q"))?;
    let limit = number(req, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(RouteError::LimitOutOfRange);
    }
    Ok(Route::Search {
        topic,
        partition,
        query: query.to_owned(),
        limit,
    })
}
