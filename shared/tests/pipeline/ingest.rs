//! The write path: indexing sources, idempotence, conflicts, corrupt input and quarantine.

use crate::support::*;

#[tokio::test]
async fn reindexing_is_a_no_op_and_leaves_no_extra_objects() {
    let f = fixture();
    let batches = synth::batches(&spec(500, 2, Compression::Snappy, 0)).unwrap();
    index_wal(&f.pipeline, "a", &batches).await;
    let objects = f.pipeline.store().list("").await.unwrap();
    let again = index_wal(&f.pipeline, "a", &batches).await;
    assert!(again.already_indexed);
    let other_name = index_wal(&f.pipeline, "b", &batches).await;
    assert!(!other_name.already_indexed);
    assert!(other_name.segments.iter().all(|s| !s.added));
    assert_eq!(f.pipeline.store().list("").await.unwrap(), objects);
}

#[tokio::test]
async fn conflicting_overlap_is_rejected_and_nothing_is_published() {
    let f = fixture();
    index_wal(
        &f.pipeline,
        "a",
        &synth::batches(&spec(500, 1, Compression::None, 0)).unwrap(),
    )
    .await;
    let objects = f.pipeline.store().list("").await.unwrap();
    let before = f.pipeline.catalog().partitions().await.unwrap();
    let clash = synth::batches(&SynthSpec {
        seed: 99,
        ..spec(100, 1, Compression::None, 450)
    })
    .unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &clash).unwrap();
    let err = f
        .pipeline
        .index_source("clash", &wal, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, PipelineError::Catalog(CatalogError::Conflict { .. })),
        "{err}"
    );
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(f.pipeline.catalog().partitions().await.unwrap(), before);
    assert_eq!(f.pipeline.store().list("").await.unwrap(), objects);
    assert!(
        f.pipeline
            .catalog()
            .ingest_record("clash")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn corrupt_or_unsealed_sources_change_nothing() {
    let f = fixture();
    let batches = synth::batches(&spec(200, 2, Compression::Zstd, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let mut flipped = wal.clone();
    flipped[wal.len() / 2] ^= 0x10;
    let unsealed = &wal[..wal.len() - 3];
    for (bytes, name) in [
        (&flipped[..], "flipped"),
        (unsealed, "unsealed"),
        (&b"hello"[..], "junk"),
    ] {
        let err = f
            .pipeline
            .index_source(name, bytes, None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::CorruptInput, "{name}: {err}");
    }
    let err = f
        .pipeline
        .index_source("u", unsealed, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PipelineError::InvalidSource(SourceError::Wal(WalError::NotSealed))
    ));
    assert!(f.pipeline.store().list("").await.unwrap().is_empty());
    assert!(f.pipeline.catalog().partitions().await.unwrap().is_empty());
}

#[tokio::test]
async fn kafka_log_sources_need_a_partition_and_keep_special_batches_intact() {
    let f = fixture();
    let mut log = Vec::new();
    let mut txn = BatchBuilder::new(0, Compression::Gzip)
        .producer(77, 1, 0)
        .transactional(true);
    txn.push(RecordInput {
        timestamp: 5,
        key: None,
        value: Some(b"in a txn".to_vec()),
        headers: vec![],
    });
    log.extend(txn.build().unwrap());
    let mut marker = BatchBuilder::new(1, Compression::None)
        .producer(77, 1, -1)
        .transactional(true)
        .control(true);
    marker.push(RecordInput {
        timestamp: 6,
        key: Some(vec![0, 0, 0, 1]),
        value: Some(vec![0, 0, 0, 0, 0, 0]),
        headers: vec![],
    });
    log.extend(marker.build().unwrap());
    let err = f
        .pipeline
        .index_source("log", &log, None)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        PipelineError::InvalidSource(SourceError::MissingTopicPartition)
    ));
    let report = f
        .pipeline
        .index_source("log", &log, Some(&tp(3)))
        .await
        .unwrap();
    assert_eq!(report.format, Some(tier::source::SourceFormat::KafkaLog));
    let got = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(3),
            offset: 0,
            max_bytes: 1 << 20,
        })
        .await
        .unwrap();
    assert_eq!(got.batches, log);
    assert_eq!(got.batch_count, 2);
}

#[tokio::test]
async fn archives_extract_with_system_tar_and_the_index_opens() {
    for layout in [IndexLayout::ChunkFilters, IndexLayout::Tantivy] {
        extract_with_system_tar(layout).await;
    }
}

async fn extract_with_system_tar(layout: IndexLayout) {
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    config.index_layout = layout;
    let f = fixture_with(config);
    index_wal(
        &f.pipeline,
        "x",
        &synth::batches(&spec(300, 1, Compression::None, 0)).unwrap(),
    )
    .await;
    let seg = f
        .pipeline
        .catalog()
        .segments(&tp(0))
        .await
        .unwrap()
        .remove(0);
    let archive = f.pipeline.store().get(&seg.archive_key).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar.gz");
    std::fs::write(&path, &archive).unwrap();
    let status = std::process::Command::new("tar")
        .args(["xzf", "a.tar.gz"])
        .current_dir(dir.path())
        .status()
        .expect("system tar runs");
    assert!(status.success());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["record_count"], 300);
    let mut batches = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir.path().join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    match layout {
        IndexLayout::Tantivy => {
            assert_eq!(manifest["index_schema_version"], 1);
            let index = tantivy::Index::open_in_dir(dir.path().join("index")).unwrap();
            let searcher = index.reader().unwrap().searcher();
            assert_eq!(searcher.num_docs(), 300);
        }
        IndexLayout::ChunkFilters => {
            assert_eq!(manifest["index_schema_version"], 2);
            // One filter per record chunk; every record's keys pass its chunk's filter.
            let bytes = std::fs::read(dir.path().join("index").join(FILTERS_FILE)).unwrap();
            let filters = ChunkFilters::decode(&bytes, names.len()).unwrap();
            for (chunk, filter) in names.iter().zip(&filters.chunks) {
                let data = std::fs::read(chunk).unwrap();
                for batch in tier::kafka::batches(&data) {
                    for r in batch.unwrap().records().unwrap() {
                        let doc = IndexDoc::of_record(&r, 0);
                        assert!(record_keys(&doc).iter().all(|k| filter.may_hold(*k)));
                    }
                }
            }
        }
    }
    for n in names {
        batches.extend(std::fs::read(n).unwrap());
    }
    let got = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(0),
            offset: 0,
            max_bytes: usize::MAX,
        })
        .await
        .unwrap();
    assert_eq!(batches, got.batches);
}

#[tokio::test]
async fn ingest_object_indexes_or_quarantines_for_good() {
    let f = fixture();
    let store = f.pipeline.store();
    let batches = synth::batches(&spec(300, 1, Compression::Lz4, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let source = |key: &str| SourceObject {
        key: key.parse().unwrap(),
        version: "etag1".into(),
    };

    store
        .put(&"wal/a.wal".parse().unwrap(), wal.clone())
        .await
        .unwrap();
    let outcome = f
        .pipeline
        .ingest_object(&source("wal/a.wal"))
        .await
        .unwrap();
    assert!(
        matches!(outcome, IngestOutcome::Indexed(ref r) if r.segments.len() == 1),
        "{outcome:?}"
    );

    let log: Vec<u8> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
    store
        .put(
            &"kafka-logs/orders.eu-7/00000000000000000000.log"
                .parse()
                .unwrap(),
            log,
        )
        .await
        .unwrap();
    let log_source = source("kafka-logs/orders.eu-7/00000000000000000000.log");
    assert_eq!(
        log_source
            .path_partition()
            .map(|tp| tp.to_string())
            .as_deref(),
        Some("orders.eu/7")
    );
    let outcome = f.pipeline.ingest_object(&log_source).await.unwrap();
    assert!(matches!(outcome, IngestOutcome::Indexed(_)), "{outcome:?}");

    let mut corrupt = wal.clone();
    corrupt[100] ^= 1;
    store
        .put(&"wal/b.wal".parse().unwrap(), corrupt.clone())
        .await
        .unwrap();
    let first = f
        .pipeline
        .ingest_object(&source("wal/b.wal"))
        .await
        .unwrap();
    let IngestOutcome::Quarantined { reason, copy } = &first else {
        panic!("{first:?}")
    };
    assert!(reason.contains("checksum mismatch"), "{reason}");
    assert_eq!(copy, "quarantine/wal/b.wal");
    assert_eq!(store.get(&copy.parse().unwrap()).await.unwrap(), corrupt);
    let ledger = f
        .pipeline
        .catalog()
        .ingest_record("wal/b.wal#etag1")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        ledger.status,
        tier::catalog::IngestStatus::Quarantined { .. }
    ));
    store.delete(&copy.parse().unwrap()).await.unwrap();
    assert_eq!(
        f.pipeline
            .ingest_object(&source("wal/b.wal"))
            .await
            .unwrap(),
        first
    );
    assert!(
        !store.exists(&copy.parse().unwrap()).await.unwrap(),
        "a recorded quarantine is not redone"
    );

    let clash = synth::batches(&SynthSpec {
        seed: 9,
        ..spec(10, 1, Compression::None, 5)
    })
    .unwrap();
    store
        .put(
            &"wal/c.wal".parse().unwrap(),
            synth::wal_segment(&"orders".parse().unwrap(), &clash).unwrap(),
        )
        .await
        .unwrap();
    let outcome = f
        .pipeline
        .ingest_object(&source("wal/c.wal"))
        .await
        .unwrap();
    assert!(
        matches!(&outcome, IngestOutcome::Quarantined { reason, .. } if reason.contains("overlaps")),
        "{outcome:?}"
    );

    let missing = f
        .pipeline
        .ingest_object(&source("wal/missing.wal"))
        .await
        .unwrap_err();
    assert_eq!(
        missing.code(),
        ErrorCode::Internal,
        "a missing object is not quarantined"
    );
}

/// A source of several partitions is all or nothing: a later partition that conflicts with the
/// catalog, or whose records do not decode although its CRC holds, leaves no archive of the
/// earlier partitions behind.
#[tokio::test]
async fn a_rejected_multi_partition_source_leaves_no_archive_of_any_partition() {
    let f = fixture();
    let archives = |p: &Pipeline| {
        let p = p.clone();
        async move { p.store().list(ObjectKey::ARCHIVE_PREFIX).await.unwrap() }
    };
    // orders/1 already holds offsets 0..: partition 1 of the next source conflicts.
    let mut log = tier::kafka::BatchBuilder::new(0, Compression::None);
    for i in 0..10 {
        log.push(tier::kafka::RecordInput {
            timestamp: 1_700_000_000_000 + i,
            key: None,
            value: Some(b"x".to_vec()),
            headers: Vec::new(),
        });
    }
    f.pipeline
        .index_source("log", &log.build().unwrap(), Some(&tp(1)))
        .await
        .unwrap();
    let before = archives(&f.pipeline).await;
    let two = synth::batches(&SynthSpec {
        seed: 2,
        ..spec(200, 2, Compression::None, 0)
    })
    .unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &two).unwrap();
    let err = f
        .pipeline
        .index_source("two", &wal, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict, "{err}");
    assert_eq!(
        archives(&f.pipeline).await,
        before,
        "no archive of orders/0"
    );

    // Partition 1's last batch: records section damaged, CRC-32C recomputed, so only decoding
    // the records finds it.
    let g = fixture();
    let last = two.iter().rposition(|(p, _)| *p == 1).unwrap();
    let mut wal = tier::wal::WalWriter::new();
    for (i, (p, batch)) in two.iter().enumerate() {
        let partition = tier::types::Partition::try_from(i64::from(*p)).unwrap();
        let tp = TopicPartition::new("orders".parse().unwrap(), partition);
        let mut record = tier::wal::CanonicalRecord::from_batch(&tp, batch).unwrap();
        if i == last {
            for b in &mut record.batch[61..] {
                *b = 0xFF;
            }
            let crc = crc32c::crc32c(&record.batch[21..]);
            record.batch[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        wal.append(&record).unwrap();
    }
    let wal = wal.seal().unwrap();
    let err = g
        .pipeline
        .index_source("bad", &wal, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::CorruptInput, "{err}");
    assert!(archives(&g.pipeline).await.is_empty(), "nothing published");
    assert!(g.pipeline.catalog().partitions().await.unwrap().is_empty());
}

/// Bytes that are no known format say so, naming the formats tried.
#[tokio::test]
async fn an_unknown_format_is_named_as_such() {
    let f = fixture();
    let mut junk = vec![0u8; 200];
    junk[16] = 7; // a Kafka "magic" byte no log format has
    let err = f
        .pipeline
        .index_source("junk", &junk, Some(&tp(0)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            PipelineError::InvalidSource(SourceError::UnknownFormat(_))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("neither a WAL segment"), "{err}");
}

/// A batch whose records decompress past `max_batch_bytes` (a decompression bomb: 2 MiB of
/// zeros in a ~2 KB gzip batch) makes the whole source invalid: quarantined with the limit named,
/// and nothing published, not even the healthy partition beside it.
#[tokio::test]
async fn a_decompression_bomb_is_quarantined_and_publishes_nothing() {
    let f = fixture_with(PipelineConfig {
        max_batch_bytes: 1 << 20,
        ..Default::default()
    });
    let mut bomb = BatchBuilder::new(0, Compression::Gzip);
    bomb.push(RecordInput {
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(vec![0; 2 << 20]),
        headers: Vec::new(),
    });
    let bomb = bomb.build().unwrap();
    assert!(bomb.len() < 16 << 10, "{} bytes", bomb.len());
    let healthy = synth::batches(&spec(100, 1, Compression::Lz4, 0)).unwrap();
    let mut batches = healthy.clone();
    batches.push((1, bomb));
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let store = f.pipeline.store();
    store
        .put(&"wal/bomb.wal".parse().unwrap(), wal)
        .await
        .unwrap();
    let outcome = f
        .pipeline
        .ingest_object(&SourceObject {
            key: "wal/bomb.wal".parse().unwrap(),
            version: "e1".into(),
        })
        .await
        .unwrap();
    let IngestOutcome::Quarantined { reason, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        reason.contains("exceed the limit of 1048576 bytes"),
        "{reason}"
    );
    assert!(f.pipeline.catalog().partitions().await.unwrap().is_empty());
    let objects = store.list("").await.unwrap();
    assert!(
        objects
            .iter()
            .all(|o| !o.key.as_str().starts_with("archives/")),
        "{objects:?}"
    );
}

/// What an ingest that must publish nothing may leave: the source itself, nothing under
/// `archives/` or `quarantine/`, no ledger entry, no partition; and no scratch directory in
/// `scratch_parent`.
async fn assert_nothing_published(
    p: &Pipeline,
    source: &SourceObject,
    scratch_parent: &std::path::Path,
) {
    let objects = p.store().list("").await.unwrap();
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, [source.key.as_str()]);
    assert!(p.catalog().partitions().await.unwrap().is_empty());
    let ledger = p
        .catalog()
        .ingest_record(&source.ledger_id())
        .await
        .unwrap();
    assert!(ledger.is_none(), "{ledger:?}");
    let left: Vec<_> = std::fs::read_dir(scratch_parent).unwrap().collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
}

/// A pipeline over embedded backends whose store is `wrap`ped, with scratch space in its own
/// directory as `scratch` says (its `dir` is set here).
fn pipeline_with_scratch(
    dir: &std::path::Path,
    mut scratch: tier::scratch::ScratchConfig,
    wrap: impl FnOnce(Arc<dyn tier::store::ObjectStore>) -> Arc<dyn tier::store::ObjectStore>,
) -> (Pipeline, std::path::PathBuf) {
    let scratch_dir = dir.join("scratch");
    std::fs::create_dir_all(&scratch_dir).unwrap();
    scratch.dir = Some(scratch_dir.clone());
    let store = Arc::new(LocalStore::open(dir.join("objects")).unwrap());
    let catalog = Arc::new(EmbeddedCatalog::open(dir.join("catalog.redb")).unwrap());
    let config = PipelineConfig {
        scratch,
        ..Default::default()
    };
    let p = Pipeline::new(wrap(store), catalog, Arc::new(FixedClock(1)), config);
    (p, scratch_dir)
}

async fn put_wal_source(p: &Pipeline, records: u64) -> (SourceObject, u64) {
    let batches = synth::batches(&spec(records, 2, Compression::None, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let source = SourceObject {
        key: "wal/s.wal".parse().unwrap(),
        version: "e1".into(),
    };
    let len = wal.len() as u64;
    p.store().put(&source.key, wal).await.unwrap();
    (source, len)
}

/// A source whose body breaks off mid-read (a connection cut) fails with a retryable store
/// error — the object is not at fault, so it is not quarantined — and publishes nothing; read
/// whole, the same object indexes.
#[tokio::test]
async fn a_source_body_cut_short_is_retried_and_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (p, scratch) = pipeline_with_scratch(dir.path(), Default::default(), |store| {
        Arc::new(
            tier::testing::FaultyStore::new(store, Default::default())
                .with_bodies_cut_after(100_000),
        )
    });
    let (source, len) = put_wal_source(&p, 2_000).await;
    assert!(len > 200_000, "{len}");
    let err = p.ingest_object(&source).await.unwrap_err();
    assert!(matches!(err, PipelineError::Store(_)), "{err}");
    assert!(err.code().is_retryable(), "{err}");
    assert_nothing_published(&p, &source, &scratch).await;

    drop(p);
    let (healthy, _) = pipeline_with_scratch(dir.path(), Default::default(), |s| s);
    let outcome = healthy.ingest_object(&source).await.unwrap();
    assert!(
        matches!(&outcome, IngestOutcome::Indexed(r) if r.segments.len() == 2),
        "{outcome:?}"
    );
}

/// Scratch space too small for the source copy, or for the archives after it, fails with a
/// specific, non-retryable error naming the space; nothing is published or quarantined and the
/// scratch directory is removed.
#[tokio::test]
async fn a_full_scratch_space_fails_specifically_and_publishes_nothing() {
    for spare in [0, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        let (probe, _) = pipeline_with_scratch(dir.path(), Default::default(), |s| s);
        let (source, len) = put_wal_source(&probe, 2_000).await;
        drop(probe);
        // `spare` 0: the source copy does not fit; 20,000: it fits, the archives do not.
        let limit = if spare == 0 { len / 2 } else { len + spare };
        let config = tier::scratch::ScratchConfig {
            dir: None,
            limit_bytes: Some(limit),
        };
        let (p, scratch) = pipeline_with_scratch(dir.path(), config, |s| s);
        let err = p.ingest_object(&source).await.unwrap_err();
        assert!(
            matches!(
                err,
                PipelineError::Scratch(tier::scratch::ScratchError::Full { .. })
            ),
            "{err}"
        );
        assert_eq!(err.code(), ErrorCode::ResourceExhausted);
        assert!(!err.code().is_retryable());
        let message = err.to_string();
        assert!(
            message.contains("is full") && message.contains(&scratch.display().to_string()),
            "{message}"
        );
        assert_nothing_published(&p, &source, &scratch).await;
    }
}
