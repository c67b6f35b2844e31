//! The compactor's input handling and planning over the embedded backends.

use std::sync::Arc;

use serde_json::json;
use tier::clock::SystemClock;
use tier::kafka::Compression;
use tier::pipeline::{CompactionPolicy, Pipeline, PipelineConfig};
use tier::synth::{self, SynthSpec, ValueShape};
use tier_compactor::handler::{CompactorInput, run};

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
    assert!(err.contains("dry_run"), "{err}");
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
    let report = run(&pipeline, &input, &CompactionPolicy::default())
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
    let all = run(
        &pipeline,
        &CompactorInput::default(),
        &CompactionPolicy::default(),
    )
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
