//! The indexer handler on every trigger shape, over the embedded backends.

use std::sync::Arc;

use serde_json::{Value, json};
use tier::clock::SystemClock;
use tier::kafka::Compression;
use tier::pipeline::{Pipeline, PipelineConfig};
use tier::synth::{self, SynthSpec, ValueShape};
use tier_indexer::handler::{HandlerError, Indexer, ObjectError};
use tier_lambda::Metrics;

const BUCKET: &str = "chronik-tier-local";

struct Fixture {
    indexer: Indexer,
    pipeline: Pipeline,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pipeline =
        Pipeline::embedded(dir.path(), Arc::new(SystemClock), PipelineConfig::default()).unwrap();
    Fixture {
        indexer: Indexer::new(pipeline.clone(), BUCKET),
        pipeline,
        _dir: dir,
    }
}

fn wal(start: i64) -> Vec<u8> {
    let spec = SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions: 2,
        records: 400,
        batch_records: 50,
        compression: Compression::Zstd,
        shape: ValueShape::Json,
        start_offset: start,
        start_timestamp_ms: 1_767_225_600_000,
        seed: start as u64,
    };
    synth::wal_segment(&spec.topic, &synth::batches(&spec).unwrap()).unwrap()
}

fn s3_record(bucket: &str, encoded_key: &str) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-24T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"}, "requestParameters": {"sourceIPAddress": "10.0.0.1"},
        "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "wal",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A"}, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded_key, "size": 1, "eTag": "e1", "sequencer": "0A"}}
    })
}

fn sqs_message(id: &str, body: &Value) -> Value {
    json!({"messageId": id, "receiptHandle": "h", "body": body.to_string(), "attributes": {},
           "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
           "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
}

async fn put(f: &Fixture, key: &str, bytes: Vec<u8>) {
    f.pipeline
        .store()
        .put(&key.parse().unwrap(), bytes)
        .await
        .unwrap();
}

#[tokio::test]
async fn s3_events_index_good_objects_and_quarantine_corrupt_ones() {
    let f = fixture();
    put(&f, "wal/2026/11/24/a b.wal", wal(0)).await;
    let mut bad = wal(1000);
    bad[200] ^= 0xff;
    put(&f, "wal/2026/11/24/bad.wal", bad).await;
    let event = json!({"Records": [s3_record(BUCKET, "wal/2026/11/24/a+b.wal"), s3_record(BUCKET, "wal/2026/11/24/bad.wal")]});
    let mut metrics = Metrics::new("indexer");
    let out = f.indexer.handle(event, &mut metrics).await.unwrap();
    assert_eq!(out["objects"][0]["outcome"], "indexed");
    assert_eq!(out["objects"][0]["segments"].as_array().unwrap().len(), 2);
    assert_eq!(out["objects"][1]["outcome"], "quarantined");
    assert_eq!(
        out["objects"][1]["copy"],
        "quarantine/wal/2026/11/24/bad.wal"
    );
    let emf = metrics.to_json(0);
    assert_eq!(
        (
            emf["SegmentsIndexed"].as_f64(),
            emf["SourcesQuarantined"].as_f64()
        ),
        (Some(2.0), Some(1.0))
    );
    assert_eq!(emf["RecordsIndexed"].as_f64(), Some(400.0));
    // The events were emitted 2026-11-24T10:00Z: the lag is measured from then.
    assert!(emf["LagMs"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn failures_fail_the_direct_invocation_so_aws_retries() {
    let f = fixture();
    let event = json!({"Records": [s3_record(BUCKET, "wal/missing.wal")]});
    let err = f
        .indexer
        .handle(event, &mut Metrics::new("indexer"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HandlerError::ObjectsFailed {
                failed: 1,
                total: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        matches!(
            err,
            HandlerError::ObjectsFailed {
                first: ObjectError::Pipeline { .. },
                ..
            }
        ),
        "{err}"
    );
    let other_bucket = json!({"Records": [s3_record("someone-else", "wal/x.wal")]});
    let err = f
        .indexer
        .handle(other_bucket, &mut Metrics::new("indexer"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("this indexer serves chronik-tier-local"),
        "{err}"
    );
    assert!(
        matches!(
            err,
            HandlerError::ObjectsFailed {
                first: ObjectError::WrongBucket { .. },
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn sqs_batches_report_exactly_the_failed_messages() {
    let f = fixture();
    put(&f, "wal/one.wal", wal(0)).await;
    put(&f, "kafka-logs/orders-9/00000000000000000000.log", {
        let spec = SynthSpec {
            topic: "orders".parse().unwrap(),
            partitions: 1,
            records: 30,
            batch_records: 10,
            compression: Compression::Gzip,
            shape: ValueShape::Text,
            start_offset: 0,
            start_timestamp_ms: 1,
            seed: 1,
        };
        synth::batches(&spec)
            .unwrap()
            .into_iter()
            .flat_map(|(_, b)| b)
            .collect()
    })
    .await;
    let event = json!({"Records": [
        sqs_message("m-1", &json!({"Records": [s3_record(BUCKET, "wal/one.wal")]})),
        sqs_message("m-2", &json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})),
        sqs_message("m-3", &json!({"Records": [s3_record(BUCKET, "wal/not-there.wal")]})),
        sqs_message("m-4", &json!({"Records": [s3_record(BUCKET, "kafka-logs/orders-9/00000000000000000000.log")]})),
        sqs_message("m-5", &json!("not a notification")),
    ]});
    let out = f
        .indexer
        .handle(event, &mut Metrics::new("indexer"))
        .await
        .unwrap();
    let failed: Vec<&str> = out["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["m-3", "m-5"]);
    let partitions = f.pipeline.catalog().partitions().await.unwrap();
    assert_eq!(
        partitions
            .iter()
            .map(|p| p.tp.to_string())
            .collect::<Vec<_>>(),
        ["orders/0", "orders/1", "orders/9"]
    );
}

#[tokio::test]
async fn eventbridge_object_created_events_are_indexed_once() {
    let f = fixture();
    put(&f, "wal/bridge.wal", wal(0)).await;
    let event = json!({"version": "0", "id": "1", "detail-type": "Object Created", "source": "aws.s3",
        "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"version": "0", "bucket": {"name": BUCKET},
                   "object": {"key": "wal/bridge.wal", "size": 1, "etag": "e9", "sequencer": "1"},
                   "request-id": "r", "requester": "a", "reason": "PutObject"}});
    let first = f
        .indexer
        .handle(event.clone(), &mut Metrics::new("indexer"))
        .await
        .unwrap();
    assert_eq!(first["objects"][0]["outcome"], "indexed");
    let mut metrics = Metrics::new("indexer");
    let again = f.indexer.handle(event, &mut metrics).await.unwrap();
    assert_eq!(again["objects"][0]["already_indexed"], true);
    assert_eq!(
        metrics.to_json(0)["SourcesAlreadyIndexed"].as_f64(),
        Some(1.0)
    );
}

/// Every indexer event in events/ parses into the objects it names (keys decoded).
#[test]
fn the_shipped_events_parse() {
    use tier_indexer::event::IndexerEvent;
    let load = |name: &str| -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    match IndexerEvent::parse(load("s3-put-wal.json")).unwrap() {
        IndexerEvent::S3(objects) => {
            assert_eq!(
                objects[0].key,
                "wal/2026/11/24/broker-1-00000000000000000042.wal"
            );
            assert_eq!(objects[0].bucket, BUCKET);
        }
        other => panic!("{other:?}"),
    }
    match IndexerEvent::parse(load("s3-put-kafka-log.json")).unwrap() {
        IndexerEvent::S3(objects) => {
            assert!(objects[0].key.contains("orders+eu-0/"), "{:?}", objects[0])
        }
        other => panic!("{other:?}"),
    }
    match IndexerEvent::parse(load("sqs-s3-put.json")).unwrap() {
        IndexerEvent::Sqs(items) => {
            assert_eq!(items.len(), 2);
            assert!(
                items
                    .iter()
                    .all(|i| i.objects.as_ref().is_ok_and(|o| o.len() == 1))
            );
        }
        other => panic!("{other:?}"),
    }
    match IndexerEvent::parse(load("sqs-s3-test-event.json")).unwrap() {
        IndexerEvent::Sqs(items) => assert_eq!(items[0].objects, Ok(vec![])),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        IndexerEvent::parse(load("eventbridge-s3-object-created.json")).unwrap(),
        IndexerEvent::EventBridge(_)
    ));
    assert!(matches!(
        IndexerEvent::parse(load("s3-put-kafka-log-plain.json")).unwrap(),
        IndexerEvent::S3(_)
    ));
}

#[tokio::test]
async fn keys_the_store_cannot_address_are_quarantined_not_retried() {
    let f = fixture();
    let keys = ["wal/../etc/x.wal", "wal//x.wal", "wal/a%5Cb.wal"];
    let records: Vec<Value> = keys.iter().map(|k| s3_record(BUCKET, k)).collect();
    let mut metrics = Metrics::new("indexer");
    let out = f
        .indexer
        .handle(json!({ "Records": records }), &mut metrics)
        .await
        .unwrap();
    for (i, raw) in ["wal/../etc/x.wal", "wal//x.wal", "wal/a\\b.wal"]
        .iter()
        .enumerate()
    {
        let o = &out["objects"][i];
        assert_eq!(o["outcome"], "quarantined", "{o}");
        assert_eq!(o["copy"], "", "nothing can be copied");
        assert!(
            o["reason"].as_str().unwrap().contains("cannot be read"),
            "{o}"
        );
        let ledger = f
            .pipeline
            .catalog()
            .ingest_record(&format!("{raw}#e1"))
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            ledger.status,
            tier::catalog::IngestStatus::Quarantined { .. }
        ));
    }
    assert_eq!(metrics.to_json(0)["SourcesQuarantined"].as_f64(), Some(3.0));
    assert!(f.pipeline.store().list("").await.unwrap().is_empty());
}
