//! The fetch API handler over the embedded backends: every route, every error status.

use std::sync::Arc;

use aws_lambda_events::event::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use serde_json::{Value, json};
use tier::clock::SystemClock;
use tier::kafka::Compression;
use tier::pipeline::{FetchRequest, Pipeline, PipelineConfig, SegmentCacheConfig};
use tier::synth::{self, SynthSpec, ValueShape};
use tier_fetch::handler::Fetcher;
use tier_fetch::response::HttpResponse;
use tier_lambda::Metrics;

async fn fixture() -> (Fetcher, Pipeline, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = PipelineConfig {
        cache_bytes: 16 << 20,
        segment_cache: SegmentCacheConfig {
            max_bytes: 1 << 20,
            ttl_ms: 60_000,
        },
        ..PipelineConfig::default()
    };
    let pipeline = Pipeline::embedded(dir.path(), Arc::new(SystemClock), config).unwrap();
    let spec = SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions: 2,
        records: 1_000,
        batch_records: 25,
        compression: Compression::Lz4,
        shape: ValueShape::Json,
        start_offset: 100,
        start_timestamp_ms: 1_767_225_600_000,
        seed: 5,
    };
    let wal = synth::wal_segment(&spec.topic, &synth::batches(&spec).unwrap()).unwrap();
    pipeline.index_source("s", &wal, None).await.unwrap();
    (Fetcher::new(pipeline.clone()), pipeline, dir)
}

fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    accept: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let qs: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let raw_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = json!({"host": "abc.execute-api.us-east-1.amazonaws.com"});
    if let Some(a) = accept {
        headers["accept"] = json!(a);
    }
    serde_json::from_value(json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": raw_query,
        "headers": headers, "queryStringParameters": qs,
        "requestContext": {"accountId": "123456789012", "apiId": "abc", "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc", "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1", "userAgent": "t"},
            "requestId": "r", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "24/Nov/2026:10:00:00 +0000", "timeEpoch": 1},
        "isBase64Encoded": false
    }))
    .unwrap()
}

async fn get(
    f: &Fetcher,
    path: &str,
    query: &[(&str, &str)],
    accept: Option<&str>,
) -> (HttpResponse, Value) {
    let response = f
        .handle(
            &request("GET", path, query, accept),
            &mut Metrics::new("fetch"),
        )
        .await;
    let body = if response.is_base64_encoded {
        Value::Null
    } else {
        serde_json::from_str(&response.body).unwrap()
    };
    (response, body)
}

const RECORDS: &str = "/v1/topics/orders/partitions/0/records";

#[tokio::test]
async fn records_come_back_as_the_original_bytes_or_as_json() {
    let (f, pipeline, _d) = fixture().await;
    let (raw, _) = get(
        &f,
        RECORDS,
        &[("offset", "150"), ("max_bytes", "3000")],
        None,
    )
    .await;
    assert_eq!((raw.status_code, raw.is_base64_encoded), (200, true));
    assert_eq!(raw.headers["content-type"], "application/octet-stream");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&raw.body)
        .unwrap();
    let tp = "orders-0"
        .parse::<String>()
        .map(|s| tier::types::TopicPartition::from_log_dir_name(&s).unwrap())
        .unwrap();
    let direct = pipeline
        .fetch(&FetchRequest {
            tp,
            offset: 150,
            max_bytes: 3000,
        })
        .await
        .unwrap();
    assert_eq!(bytes, direct.batches);
    assert_eq!(
        raw.headers["x-tier-next-offset"],
        direct.next_offset.to_string()
    );

    let (json, body) = get(&f, RECORDS, &[("offset", "150")], Some("application/json")).await;
    assert_eq!(json.status_code, 200);
    assert_eq!(body["records"][0]["offset"], 150);
    assert_eq!(body["topic"], "orders");
    assert_eq!(
        body["next_offset"].as_i64(),
        Some(body["last_offset"].as_i64().unwrap() + 1)
    );
    assert_eq!(body["records"][0]["encoding"], "utf8");
}

#[tokio::test]
async fn errors_have_the_documented_status_code_and_body() {
    let (f, _, _d) = fixture().await;
    let (r, body) = get(&f, RECORDS, &[("offset", "5")], None).await;
    assert_eq!(r.status_code, 416);
    assert_eq!(body["error"]["code"], "out_of_range");
    assert_eq!(
        (
            body["error"]["earliest"].as_i64(),
            body["error"]["latest"].as_i64()
        ),
        (Some(100), Some(599))
    );
    let cases = [
        (RECORDS, vec![("offset", "x")], 400, "bad_request"),
        (RECORDS, vec![], 400, "bad_request"),
        (
            "/v1/topics/orders/partitions/7/records",
            vec![("offset", "0")],
            404,
            "not_found",
        ),
        (
            "/v1/topics/..%2Fetc/partitions/0/records",
            vec![("offset", "0")],
            400,
            "bad_request",
        ),
        (
            "/v1/topics/orders/partitions/-1/records",
            vec![("offset", "0")],
            400,
            "bad_request",
        ),
        ("/v1/topics/nope", vec![], 404, "not_found"),
        (
            "/v1/topics/orders/partitions/7/search",
            vec![("q", "x")],
            404,
            "not_found",
        ),
        (
            "/v1/topics/orders/partitions/0/records",
            vec![("offset", "0"), ("max_bytes", "0")],
            400,
            "bad_request",
        ),
        (
            "/v1/topics/orders/partitions/0/offsets",
            vec![("timestamp", "-1")],
            400,
            "bad_request",
        ),
        ("/v1/nothing", vec![], 404, "not_found"),
        ("/v1/search", vec![("q", "value:(")], 400, "bad_request"),
        (
            "/v1/search",
            vec![("q", "x"), ("limit", "0")],
            400,
            "bad_request",
        ),
        (
            "/v1/topics/orders/partitions/0/offsets",
            vec![],
            400,
            "bad_request",
        ),
    ];
    for (path, query, status, code) in cases {
        let (r, body) = get(&f, path, &query, None).await;
        assert_eq!(
            (r.status_code, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{path} {query:?}: {body}"
        );
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        assert_eq!(body["error"]["retryable"], false);
    }
    let post = f
        .handle(
            &request("POST", "/v1/topics", &[], None),
            &mut Metrics::new("fetch"),
        )
        .await;
    assert_eq!(post.status_code, 405);
}

#[tokio::test]
async fn listings_offsets_and_search_answer_from_the_catalog_and_indexes() {
    let (f, _, _d) = fixture().await;
    let (_, topics) = get(&f, "/prod/v1/topics", &[], None).await;
    assert_eq!(topics["topics"][0]["topic"], "orders");
    assert_eq!(
        topics["topics"][0]["partitions"].as_array().unwrap().len(),
        2
    );
    assert_eq!(topics["topics"][0]["partition_count"], 2);
    assert_eq!(topics["topics"][0]["record_count"], 1000);
    let (_, topic) = get(&f, "/v1/topics/orders", &[], None).await;
    assert_eq!(topic["partitions"][1]["earliest"], 100);
    let offsets = "/v1/topics/orders/partitions/0/offsets";
    let (_, latest) = get(&f, offsets, &[("spec", "latest")], None).await;
    assert_eq!(latest["offset"], 600);
    assert_eq!(latest["spec"], "latest");
    assert_eq!(topic["partitions"][0]["log_end_offset"], 600);
    let (_, at) = get(&f, offsets, &[("timestamp", "1767225600000")], None).await;
    assert_eq!(at["offset"], 100);
    let (r, hits) = get(
        &f,
        "/v1/topics/orders/partitions/1/search",
        &[("q", "value.country:ES"), ("limit", "3")],
        None,
    )
    .await;
    assert_eq!((r.status_code, hits["count"].as_u64()), (200, Some(3)));
    assert!(
        hits["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["partition"] == 1)
    );
    let mut metrics = Metrics::new("fetch");
    f.handle(
        &request(
            "GET",
            "/v1/search",
            &[("q", "value.country:ES"), ("topic", "orders")],
            None,
        ),
        &mut metrics,
    )
    .await;
    assert!(
        metrics.to_json(0)["CacheHits"].as_f64().unwrap() > 0.0,
        "the index cache serves a repeated search"
    );
    // The first fetch of partition 1 asks the catalog; the same fetch again does not. (One that
    // reaches the partition's end asks whether a segment follows, which only the catalog knows.)
    let records = "/v1/topics/orders/partitions/1/records";
    let mut counts = Vec::new();
    for _ in 0..2 {
        let mut metrics = Metrics::new("fetch");
        let r = f
            .handle(
                &request(
                    "GET",
                    records,
                    &[("offset", "150"), ("max_bytes", "1000")],
                    None,
                ),
                &mut metrics,
            )
            .await;
        assert_eq!(r.status_code, 200);
        let doc = metrics.to_json(0);
        counts.push((
            doc["SegmentCacheHits"].as_f64(),
            doc["SegmentCacheMisses"].as_f64(),
        ));
    }
    assert_eq!(counts, [(Some(0.0), Some(1.0)), (Some(1.0), Some(0.0))]);
}

/// Every API event in events/ names a route of the router.
#[test]
fn the_shipped_api_events_route() {
    let dir = format!("{}/../../events", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("apigw-") {
            continue;
        }
        let req: ApiGatewayV2httpRequest =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let route = tier_fetch::routes::Route::parse(&req);
        assert!(route.is_ok(), "{name}: {route:?}");
        seen += 1;
    }
    assert!(seen >= 9);
}

#[tokio::test]
async fn a_json_window_over_the_budget_ends_early_and_says_where_to_go_on() {
    let (f, _, _d) = fixture().await;
    let records = "/v1/topics/orders/partitions/0/records";
    let json = Some("application/json");
    let (_, whole) = get(
        &f,
        records,
        &[("offset", "100"), ("max_bytes", "4194304")],
        json,
    )
    .await;
    assert_eq!(whole["truncated"], false);
    let all = whole["records"].as_array().unwrap().clone();
    assert!(all.len() > 10);
    // A budget of ~3 records: pages of whole records, no gap, no repeat, the last not truncated.
    let one = serde_json::to_vec(&all[0]).unwrap().len();
    let small = f.clone().with_json_budget(one * 3 + 2);
    let (mut seen, mut offset, mut pages) = (Vec::new(), 100i64, 0);
    loop {
        let from = offset.to_string();
        let (r, page) = get(
            &small,
            records,
            &[("offset", from.as_str()), ("max_bytes", "4194304")],
            json,
        )
        .await;
        pages += 1;
        let got = page["records"].as_array().unwrap();
        assert!(!got.is_empty() && got.len() <= 3, "{page}");
        seen.extend(got.iter().cloned());
        let next = page["next_offset"].as_i64().unwrap();
        assert_eq!(r.headers["x-tier-next-offset"], next.to_string());
        if page["truncated"] == false {
            break;
        }
        assert_eq!(next, got.last().unwrap()["offset"].as_i64().unwrap() + 1);
        offset = next;
    }
    assert!(pages > 3);
    let first_window: Vec<_> = all.iter().take(seen.len()).cloned().collect();
    assert_eq!(
        seen, first_window,
        "the pages are the window, in order, without gaps"
    );
}

#[tokio::test]
async fn search_pages_follow_next_cursor_within_the_budget() {
    let (f, _, _d) = fixture().await;
    let search = "/v1/search";
    let q = [("q", "value.country:ES"), ("limit", "1000")];
    let (_, whole) = get(&f, search, &q, None).await;
    assert_eq!(whole["truncated"], false);
    assert_eq!(whole["next_cursor"], Value::Null);
    let all = whole["hits"].as_array().unwrap().clone();
    assert!(all.len() > 20, "{}", all.len());
    let one = serde_json::to_vec(&all[0]).unwrap().len();
    let small = f.clone().with_json_budget(one * 4);
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let mut query = q.to_vec();
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let (r, page) = get(&small, search, &query, None).await;
        assert_eq!(r.status_code, 200, "{page}");
        pages += 1;
        let hits = page["hits"].as_array().unwrap();
        assert!(!hits.is_empty() && hits.len() <= 4, "{page}");
        assert!(r.body.len() < one * 4 + 500, "{} bytes", r.body.len());
        seen.extend(hits.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["truncated"], true);
                let last = hits.last().unwrap();
                assert_eq!(
                    next,
                    format!(
                        "{}/{}/{}",
                        last["topic"].as_str().unwrap(),
                        last["partition"],
                        last["offset"]
                    )
                );
                cursor = Some(next.to_owned());
            }
            None => break,
        }
    }
    assert!(pages > 5);
    assert_eq!(seen, all, "the pages are the whole answer, in order, once");
    for bad in ["orders/0", "orders/zero/1", "../0/1", "orders/0/-5"] {
        let (r, body) = get(&f, search, &[("q", "x"), ("cursor", bad)], None).await;
        assert_eq!(r.status_code, 400, "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_batch_larger_than_any_response_is_refused_by_a_store_without_urls() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline =
        Pipeline::embedded(dir.path(), Arc::new(SystemClock), PipelineConfig::default()).unwrap();
    // One batch of 6 MiB of incompressible values: over the binary limit whatever max_bytes says.
    let mut builder = tier::kafka::BatchBuilder::new(0, Compression::None);
    let mut state = 7u64;
    let noise: Vec<u8> = (0..6 << 20)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    builder.push(tier::kafka::RecordInput {
        timestamp: 1_767_225_600_000,
        key: None,
        value: Some(noise),
        headers: Vec::new(),
    });
    let batch = builder.build().unwrap();
    let wal = synth::wal_segment(&"big".parse().unwrap(), &[(0, batch)]).unwrap();
    pipeline.index_source("big", &wal, None).await.unwrap();
    let f = Fetcher::new(pipeline);
    let path = "/v1/topics/big/partitions/0/records";
    let (r, body) = get(&f, path, &[("offset", "0"), ("max_bytes", "1")], None).await;
    assert_eq!(r.status_code, 413, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert!(r.body.len() < 1_000);
    // As JSON the record comes without its contents, which say how large they are.
    let (r, body) = get(&f, path, &[("offset", "0")], Some("application/json")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(body["records"][0]["elided_bytes"], 6 << 20);
    assert_eq!(body["records"][0]["value"], Value::Null);
    assert!(r.body.len() < 1_000, "{}", r.body.len());
}

#[tokio::test]
async fn records_carry_the_transaction_index_and_read_committed_drops_aborted_records() {
    use tier::kafka::ControlType;
    use tier::testing::TxnLog;
    let (f, pipeline, _d) = fixture().await;
    let mut log = TxnLog::default();
    log.data(7, true, 3); // 0..=2, aborted at 5
    log.data(1, false, 2); // 3..=4
    log.marker(7, ControlType::Abort); // 5
    log.data(8, true, 2); // 6..=7, committed at 8
    log.marker(8, ControlType::Commit); // 8
    log.data(9, true, 2); // 9..=10, still open: the last stable offset is 9
    let tp = tier::types::TopicPartition::from_log_dir_name("audit-0").unwrap();
    pipeline
        .index_source("txns", &log.bytes(0..6), Some(&tp))
        .await
        .unwrap();
    let path = "/v1/topics/audit/partitions/0/records";
    let json = Some("application/json");
    let (all, body) = get(&f, path, &[("offset", "0")], json).await;
    assert_eq!(all.status_code, 200);
    assert_eq!(all.headers["x-tier-last-stable-offset"], "9");
    assert_eq!(all.headers["x-tier-aborted-transactions"], "7:0-5");
    assert_eq!(body["last_stable_offset"], 9);
    assert_eq!(
        body["aborted_transactions"],
        json!([{"producer_id": 7, "first_offset": 0, "last_offset": 5}])
    );
    let offsets = |body: &Value| -> Vec<i64> {
        body["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["offset"].as_i64().unwrap())
            .collect()
    };
    // Every record but the markers (control records are never records to a consumer).
    assert_eq!(offsets(&body), [0, 1, 2, 3, 4, 6, 7, 9, 10]);
    let (committed, body) = get(
        &f,
        path,
        &[("offset", "0"), ("isolation", "read_committed")],
        json,
    )
    .await;
    assert_eq!(committed.status_code, 200);
    assert_eq!(
        offsets(&body),
        [3, 4, 6, 7],
        "aborted and unstable records dropped"
    );
    assert_eq!(
        body["next_offset"], 9,
        "read_committed stops at the last stable offset"
    );
    // Binary windows carry the same headers, their batches untouched.
    let (raw, _) = get(&f, path, &[("offset", "0")], None).await;
    assert!(raw.is_base64_encoded);
    assert_eq!(raw.headers["x-tier-aborted-transactions"], "7:0-5");
    let (bad, body) = get(
        &f,
        path,
        &[("offset", "0"), ("isolation", "serializable")],
        json,
    )
    .await;
    assert_eq!(bad.status_code, 400);
    assert!(
        body["error"].to_string().contains("read_committed"),
        "{body}"
    );
}
