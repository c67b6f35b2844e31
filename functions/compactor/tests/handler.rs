//! The compactor's input handling and planning over the embedded backends.

use std::sync::Arc;

use serde_json::json;
use tier::clock::SystemClock;
use tier::kafka::Compression;
use tier::pipeline::{CompactionRequest, Retention, RetentionPolicy};
use tier::pipeline::{Pipeline, PipelineConfig};
use tier::synth::{self, SynthSpec, ValueShape};
use tier_compactor::handler::{CompactorInput, InputError};

#[test]
fn input_arrives_plain_or_inside_a_scheduled_event() {
    let plain = CompactorInput::parse(&json!({"topics": ["orders"], "dry_run": true})).unwrap();
    assert_eq!(
        plain,
        CompactorInput {
            topics: vec!["orders".into()],
            dry_run: true
        }
    );
    let scheduled = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "1", "time": "2026-11-24T10:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    assert_eq!(
        CompactorInput::parse(&scheduled).unwrap(),
        CompactorInput::default()
    );
    let err = CompactorInput::parse(&json!({"dryrun": true})).unwrap_err();
    assert!(err.to_string().contains("dry_run"), "{err}");
    assert!(matches!(err, InputError::UnknownField { .. }), "{err}");
}

#[tokio::test]
async fn plans_merges_of_small_adjacent_segments_per_selected_topic() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline =
        Pipeline::embedded(dir.path(), Arc::new(SystemClock), PipelineConfig::default()).unwrap();
    for topic in ["orders", "clicks"] {
        for i in 0..4 {
            let spec = SynthSpec {
                topic: topic.parse().unwrap(),
                partitions: 1,
                records: 100,
                batch_records: 20,
                compression: Compression::None,
                shape: ValueShape::Text,
                start_offset: i * 100,
                start_timestamp_ms: 1,
                seed: i as u64,
            };
            let wal = synth::wal_segment(&spec.topic, &synth::batches(&spec).unwrap()).unwrap();
            pipeline
                .index_source(&format!("{topic}-{i}"), &wal, None)
                .await
                .unwrap();
        }
    }
    let input = CompactorInput {
        topics: vec!["orders".into()],
        dry_run: true,
    };
    let report = pipeline
        .compact(&input.clone().request(&CompactionRequest::default()))
        .await
        .unwrap();
    assert_eq!(
        (
            report.partitions_examined,
            report.segments_in_merges,
            report.merges_executed
        ),
        (1, 4, 0)
    );
    assert_eq!(report.plans[0].topic, "orders");
    assert_eq!(
        (
            report.plans[0].merges[0].base_offset,
            report.plans[0].merges[0].last_offset
        ),
        (0, 399)
    );
    let all = pipeline
        .compact(&CompactionRequest::default())
        .await
        .unwrap();
    assert_eq!(all.partitions_examined, 2);
}

#[test]
fn the_shipped_schedule_events_parse() {
    let load = |name: &str| -> serde_json::Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    assert!(CompactorInput::parse(&load("schedule-compactor.json")).is_ok());
    let dry = CompactorInput::parse(&load("schedule-compactor-dryrun.json")).unwrap();
    assert!(dry.dry_run);
}

#[tokio::test]
async fn a_real_run_merges_and_applies_retention() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline =
        Pipeline::embedded(dir.path(), Arc::new(SystemClock), PipelineConfig::default()).unwrap();
    let mut originals = Vec::new();
    for i in 0..4 {
        let spec = SynthSpec {
            topic: "orders".parse().unwrap(),
            partitions: 1,
            records: 100,
            batch_records: 20,
            compression: Compression::Lz4,
            shape: ValueShape::Json,
            start_offset: i * 100,
            start_timestamp_ms: 1_000 + i * 10_000,
            seed: i as u64,
        };
        let batches = synth::batches(&spec).unwrap();
        originals.extend(batches.iter().flat_map(|(_, b)| b.clone()));
        let wal = synth::wal_segment(&spec.topic, &batches).unwrap();
        pipeline
            .index_source(&format!("o-{i}"), &wal, None)
            .await
            .unwrap();
    }
    let input = CompactorInput {
        topics: vec![],
        dry_run: false,
    };
    let report = pipeline
        .compact(&input.clone().request(&CompactionRequest::default()))
        .await
        .unwrap();
    assert_eq!((report.merges_executed, report.segments_in_merges), (1, 4));
    assert!(report.bytes_written > 0);
    let tp = tier::types::TopicPartition::from_log_dir_name("orders-0").unwrap();
    assert_eq!(pipeline.catalog().segments(&tp).await.unwrap().len(), 1);
    let all = pipeline
        .fetch(&tier::pipeline::FetchRequest {
            tp: tp.clone(),
            offset: 0,
            max_bytes: 64 << 20,
        })
        .await
        .unwrap();
    assert_eq!(
        all.batches, originals,
        "the merged segment serves the original bytes"
    );

    // Everything is decades old for the system clock: a 1-hour retention drops the merged segment.
    let settings = CompactionRequest {
        retention: RetentionPolicy {
            default: Retention::from_hours_and_bytes(1, 0),
            ..Default::default()
        },
        ..Default::default()
    };
    let dry_input = CompactorInput {
        topics: vec![],
        dry_run: true,
    };
    let dry = pipeline
        .compact(&dry_input.request(&settings))
        .await
        .unwrap();
    assert_eq!((dry.segments_expired, dry.segments_in_merges), (1, 0));
    assert_eq!(
        pipeline.catalog().segments(&tp).await.unwrap().len(),
        1,
        "dry run changed nothing"
    );
    let real = pipeline
        .compact(&input.clone().request(&settings))
        .await
        .unwrap();
    assert_eq!(real.segments_expired, 1);
    let emf = tier_compactor::handler::metrics(&report).to_json(0);
    assert_eq!(emf["RunMs"].as_f64(), Some(report.took_ms as f64));
    assert_eq!(
        (
            emf["MergesExecuted"].as_f64(),
            emf["SegmentsMerged"].as_f64()
        ),
        (Some(1.0), Some(4.0))
    );
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0],
        "Function"
    );
    assert!(pipeline.catalog().partition(&tp).await.unwrap().is_none());
}
