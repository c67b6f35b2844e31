//! Request → route, with every parameter validated (a bad one is a [`RouteError`] saying why; its
//! HTTP status is chosen in [`crate::response`]).

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use tier::pipeline::{ErrorCode, OffsetQuery, SearchCursor};
use tier::types::{InvalidValue, Partition, Topic, TopicPartition};

/// Default `max_bytes` of a records request.
pub const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// Default `limit` of a search (docs/openapi.yaml).
pub const DEFAULT_LIMIT: usize = 100;
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
        /// `isolation=read_committed`: JSON records without aborted transactions' records and
        /// none at or after the last stable offset.
        read_committed: bool,
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
        /// Continue after this hit (a previous page's `next_cursor`).
        cursor: Option<SearchCursor>,
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
    /// A numeric query parameter is below its minimum (docs/openapi.yaml).
    #[error("query parameter {name} must be at least {minimum}")]
    BelowMinimum {
        /// The parameter.
        name: &'static str,
        /// Its smallest valid value.
        minimum: i64,
    },
    /// A query parameter appears more than once.
    #[error("query parameter {0} is given more than once")]
    RepeatedParameter(String),
    /// An `isolation` other than `read_uncommitted` and `read_committed`.
    #[error("isolation={0:?}: expected read_uncommitted or read_committed")]
    Isolation(String),
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

/// The query parameters of a request, from its raw query string as the client sent it
/// (form-urlencoded: `%XX` escapes and `+` for a space). API Gateway's `queryStringParameters`
/// joins repeated parameters with commas, which makes `q=a,b` indistinguishable from `q=a&q=b`;
/// the raw string is used instead, and only when a request has none does this fall back to it.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// The parameters of `req`.
    pub fn of(req: &ApiGatewayV2httpRequest) -> QueryParams {
        match req.raw_query_string.as_deref() {
            Some(raw) => QueryParams(
                form_urlencoded::parse(raw.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
            None => QueryParams(
                req.query_string_parameters
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            ),
        }
    }

    /// The value of `name`, if given; given twice is an error.
    pub fn get(&self, name: &str) -> Result<Option<&str>, RouteError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(RouteError::RepeatedParameter(name.to_owned()));
        }
        Ok(first)
    }

    /// A plain decimal integer (an optional `-`, then digits: Rust's parser would also take `+5`,
    /// which the spec's integers do not allow).
    fn number<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, RouteError> {
        let not_a_number = |v: &str| RouteError::NotANumber {
            name,
            value: v.to_owned(),
        };
        match self.get(name)? {
            None => Ok(None),
            Some(v) if v.starts_with('+') => Err(not_a_number(v)),
            Some(v) => v.parse().map(Some).map_err(|_| not_a_number(v)),
        }
    }
}

/// Whether the client prefers JSON: the `Accept` header (media types case-insensitive) lists
/// `application/json` with a non-zero quality at least that of `application/octet-stream`.
/// Without one, the binary batches are the answer.
fn accepts_json(req: &ApiGatewayV2httpRequest) -> bool {
    let Some(accept) = req.headers.get("accept").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let quality = |wanted: &str| -> f32 {
        accept
            .split(',')
            .filter_map(|range| {
                let mut parts = range.split(';').map(str::trim);
                let media = parts.next()?;
                if !media.eq_ignore_ascii_case(wanted) {
                    return None;
                }
                let q = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                    .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let json = quality("application/json");
    json > 0.0 && json >= quality("application/octet-stream")
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
        let params = QueryParams::of(req);
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
                offset: params
                    .number("offset")?
                    .ok_or(RouteError::MissingParameter("offset"))?,
                max_bytes: match params.number::<usize>("max_bytes")? {
                    Some(0) => {
                        return Err(RouteError::BelowMinimum {
                            name: "max_bytes",
                            minimum: 1,
                        });
                    }
                    other => other.unwrap_or(DEFAULT_MAX_BYTES),
                },
                json: accepts_json(req),
                read_committed: match params.get("isolation")? {
                    None | Some("read_uncommitted") => false,
                    Some("read_committed") => true,
                    Some(other) => return Err(RouteError::Isolation(other.to_owned())),
                },
            }),
            ["v1", "topics", topic, "partitions", p, "offsets"] => {
                let spec = params.get("spec")?;
                let query = match (params.number("timestamp")?, spec) {
                    (Some(ts), None) if ts < 0 => {
                        return Err(RouteError::BelowMinimum {
                            name: "timestamp",
                            minimum: 0,
                        });
                    }
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
                search(&params, Some(tp.topic), Some(tp.partition))
            }
            ["v1", "search"] => {
                let topic = params.get("topic")?.map(str::parse).transpose()?;
                search(&params, topic, None)
            }
            _ => Err(RouteError::NoRoute {
                path: path.to_owned(),
            }),
        }
    }
}

fn search(
    params: &QueryParams,
    topic: Option<Topic>,
    partition: Option<Partition>,
) -> Result<Route, RouteError> {
    let query = params.get("q")?.ok_or(RouteError::MissingParameter("q"))?;
    let limit = params.number("limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(RouteError::LimitOutOfRange);
    }
    let cursor = params.get("cursor")?.map(str::parse).transpose()?;
    Ok(Route::Search {
        topic,
        partition,
        query: query.to_owned(),
        limit,
        cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request as API Gateway delivers it: `queryStringParameters` with repeated parameters
    /// comma-joined, `rawQueryString` as the client sent it.
    fn request(path: &str, raw: &str, joined: serde_json::Value) -> ApiGatewayV2httpRequest {
        serde_json::from_value(serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": raw,
            "queryStringParameters": joined,
            "headers": {},
            "requestContext": {"http": {"method": "GET", "path": path}},
            "isBase64Encoded": false
        }))
        .unwrap()
    }

    fn search_query(route: Route) -> String {
        match route {
            Route::Search { query, .. } => query,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_parameters_come_from_the_raw_string_and_commas_are_data() {
        let path = "/v1/search";
        let phrase = request(
            path,
            "q=key%3A%22user-1%2C+user-2%22",
            serde_json::json!({"q": "key:\"user-1, user-2\""}),
        );
        assert_eq!(
            search_query(Route::parse(&phrase).unwrap()),
            "key:\"user-1, user-2\""
        );
        let comma = request(path, "q=a%2Cb", serde_json::json!({"q": "a,b"}));
        assert_eq!(search_query(Route::parse(&comma).unwrap()), "a,b");
        // Repeated: API Gateway would show "a,b"; that is a bad request, not a search for "a".
        let twice = request(path, "q=a&q=b", serde_json::json!({"q": "a,b"}));
        assert_eq!(
            Route::parse(&twice).unwrap_err(),
            RouteError::RepeatedParameter("q".into())
        );
        let offsets = request(
            "/v1/topics/orders/partitions/0/records",
            "offset=1&offset=2",
            serde_json::json!({"offset": "1,2"}),
        );
        assert_eq!(
            Route::parse(&offsets).unwrap_err(),
            RouteError::RepeatedParameter("offset".into())
        );
        assert_eq!(
            RouteError::RepeatedParameter("q".into()).code(),
            ErrorCode::BadRequest
        );
    }

    fn with_accept(accept: &str) -> ApiGatewayV2httpRequest {
        let mut req = request(
            "/v1/topics/orders/partitions/0/records",
            "offset=0",
            serde_json::json!({"offset": "0"}),
        );
        req.headers.insert("accept", accept.parse().unwrap());
        req
    }

    #[test]
    fn json_is_chosen_by_media_type_and_quality_case_insensitively() {
        for (accept, json) in [
            ("application/json", true),
            ("APPLICATION/JSON", true),
            ("application/json;q=0", false),
            ("application/json; q=0.5, application/octet-stream", false),
            ("application/octet-stream;q=0.1, application/json", true),
            ("text/html, application/jsonx", false),
            ("*/*", false),
        ] {
            match Route::parse(&with_accept(accept)).unwrap() {
                Route::Records { json: got, .. } => assert_eq!(got, json, "{accept}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn parameters_below_the_documented_minimums_and_odd_partitions_are_bad_requests() {
        let zero = request(
            "/v1/topics/orders/partitions/0/records",
            "offset=0&max_bytes=0",
            serde_json::json!({}),
        );
        assert!(matches!(
            Route::parse(&zero),
            Err(RouteError::BelowMinimum {
                name: "max_bytes",
                ..
            })
        ));
        let before = request(
            "/v1/topics/orders/partitions/0/offsets",
            "timestamp=-1",
            serde_json::json!({}),
        );
        assert!(matches!(
            Route::parse(&before),
            Err(RouteError::BelowMinimum {
                name: "timestamp",
                ..
            })
        ));
        for query in ["offset=%2B5", "offset=0&max_bytes=%2B9"] {
            let req = request(
                "/v1/topics/orders/partitions/0/records",
                query,
                serde_json::json!({}),
            );
            assert!(
                matches!(Route::parse(&req), Err(RouteError::NotANumber { .. })),
                "{query}"
            );
        }
        for p in ["+1", "01", "-0", "%201"] {
            let path = format!("/v1/topics/orders/partitions/{p}/records");
            let req = request(&path, "offset=0", serde_json::json!({}));
            assert!(
                matches!(Route::parse(&req), Err(RouteError::InvalidName(_))),
                "{p}"
            );
        }
        let search = request("/v1/search", "q=x", serde_json::json!({}));
        match Route::parse(&search).unwrap() {
            Route::Search { limit, .. } => assert_eq!(limit, 100, "the documented default"),
            other => panic!("{other:?}"),
        }
    }
}
