//! The read path: fetch, offsets-for-time and search against brute-force oracles.

use crate::support::*;

#[tokio::test]
async fn fetches_are_byte_exact_within_a_segment_and_consumers_cross_them() {
    let f = fixture();
    let first = synth::batches(&spec(3_000, 2, Compression::Lz4, 0)).unwrap();
    let next_start = 1_500; // 3,000 records in batches of 20 round-robin over 2 partitions
    let second = synth::batches(&SynthSpec {
        seed: 4,
        ..spec(2_000, 2, Compression::Gzip, next_start)
    })
    .unwrap();
    let r1 = index_wal(&f.pipeline, "seg-1", &first).await;
    let r2 = index_wal(&f.pipeline, "seg-2", &second).await;
    assert_eq!((r1.segments.len(), r2.segments.len()), (2, 2));
    assert!(r1.segments.iter().all(|s| s.added));

    for p in 0..2 {
        let all: Vec<(u32, Vec<u8>)> = first.iter().chain(&second).cloned().collect();
        let originals = partition_batches(&all, p);
        let last = originals.last().unwrap().1;
        for offset in (0..=last).step_by(37).chain([0, 1_499, 1_500, last]) {
            for max_bytes in [0, 5_000, 40_000, 1 << 20] {
                // `consume` checks each fetch: one segment, ending at the budget or the
                // segment's end.
                let (got, fetches) = consume(&f.pipeline, &tp(p), offset, max_bytes).await;
                let want = expected_fetch(&originals, offset, max_bytes);
                assert_eq!(
                    got.len(),
                    want.len(),
                    "p{p} offset {offset} max {max_bytes}"
                );
                assert!(got == want, "bytes differ at p{p} offset {offset}");
                let last_wanted = tier::kafka::batches(&want)
                    .map(|b| b.unwrap().header().last_offset())
                    .last()
                    .unwrap();
                let crosses = offset < 1_500 && last_wanted >= 1_500;
                assert_eq!(
                    fetches,
                    if crosses { 2 } else { 1 },
                    "p{p} offset {offset} max {max_bytes}"
                );
                // The library's consumer reads the same.
                let mut consumer = f.pipeline.consumer(FetchRequest {
                    tp: tp(p),
                    offset,
                    max_bytes,
                });
                let mut read = Vec::new();
                while let Some(got) = consumer.next().await.unwrap() {
                    read.extend_from_slice(&got.batches);
                }
                assert!(
                    read == want && consumer.fetches() == fetches,
                    "consumer at p{p} {offset}"
                );
            }
        }
    }
}

#[tokio::test]
async fn out_of_range_and_unknown_partitions_are_distinct_errors() {
    let f = fixture();
    index_wal(
        &f.pipeline,
        "s",
        &synth::batches(&spec(400, 1, Compression::None, 100)).unwrap(),
    )
    .await;
    let pipeline = &f.pipeline;
    let fetch = |offset| async move {
        pipeline
            .fetch(&FetchRequest {
                tp: tp(0),
                offset,
                max_bytes: 100,
            })
            .await
    };
    for offset in [0, 99, 500, i64::MAX] {
        match fetch(offset).await {
            Err(PipelineError::OffsetOutOfRange {
                earliest,
                latest,
                requested,
                ..
            }) => {
                assert_eq!(
                    (earliest.get(), latest.get(), requested),
                    (100, 499, offset)
                );
            }
            other => panic!("offset {offset}: {other:?}"),
        }
    }
    assert_eq!(fetch(-1).await.unwrap_err().code(), ErrorCode::BadRequest);
    let err = f
        .pipeline
        .fetch(&FetchRequest {
            tp: tp(9),
            offset: 0,
            max_bytes: 1,
        })
        .await;
    assert!(matches!(err, Err(PipelineError::UnknownPartition(_))));
    assert_eq!(err.unwrap_err().code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn offsets_for_time_match_a_scan_of_the_records() {
    let f = fixture();
    let batches = synth::batches(&spec(1_000, 1, Compression::Lz4, 10)).unwrap();
    index_wal(&f.pipeline, "t", &batches).await;
    let records: Vec<(i64, i64)> = batches
        .iter()
        .flat_map(|(_, b)| RawBatch::parse(b).unwrap().records().unwrap())
        .map(|r| (r.offset, r.timestamp))
        .collect();
    let (first_ts, last_ts) = (records[0].1, records.last().unwrap().1);
    for ts in [
        0,
        first_ts,
        first_ts + 1,
        (first_ts + last_ts) / 2,
        last_ts,
        last_ts + 1,
    ] {
        let want = records.iter().find(|(_, t)| *t >= ts).map(|(o, _)| *o);
        let got = f
            .pipeline
            .offsets(&tp(0), OffsetQuery::Timestamp(ts))
            .await
            .unwrap();
        assert_eq!(got.offset, want, "timestamp {ts}");
    }
    let earliest = f
        .pipeline
        .offsets(&tp(0), OffsetQuery::Earliest)
        .await
        .unwrap();
    let latest = f
        .pipeline
        .offsets(&tp(0), OffsetQuery::Latest)
        .await
        .unwrap();
    assert_eq!((earliest.offset, latest.offset), (Some(10), Some(1_010)));
}

#[tokio::test]
async fn search_matches_an_oracle_over_the_decoded_records() {
    let f = fixture();
    let batches = synth::batches(&spec(1_500, 2, Compression::Zstd, 0)).unwrap();
    index_wal(&f.pipeline, "s", &batches).await;
    let mut oracle = Vec::new();
    for (p, b) in &batches {
        for r in RawBatch::parse(b).unwrap().records().unwrap() {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
            if v["country"] == "ES" && v["event"] == "purchase" {
                oracle.push((*p, r.offset, r.value.clone()));
            }
        }
    }
    oracle.sort();
    let req = SearchRequest {
        topic: Some("orders".parse::<Topic>().unwrap()),
        query: "value.country:ES AND value.event:purchase".into(),
        limit: 10_000,
        ..Default::default()
    };
    let hits = f.pipeline.search(&req).await.unwrap();
    let got: Vec<_> = hits
        .iter()
        .map(|h| {
            (
                h.partition,
                h.record.offset,
                h.record.value.clone().map(String::into_bytes),
            )
        })
        .collect();
    assert!(!oracle.is_empty());
    assert_eq!(got, oracle);
    let limited = f
        .pipeline
        .search(&SearchRequest {
            limit: 3,
            ..req.clone()
        })
        .await
        .unwrap();
    assert_eq!(limited, hits[..3].to_vec());
    let bad = f
        .pipeline
        .search(&SearchRequest {
            query: "value:(".into(),
            ..req
        })
        .await;
    assert_eq!(bad.unwrap_err().code(), ErrorCode::BadRequest);
}

#[tokio::test]
async fn the_read_cache_serves_repeated_fetches_and_searches() {
    let mut config = PipelineConfig::default();
    config.archive.chunk_target_bytes = 8 * 1024;
    config.cache_bytes = 64 << 20;
    let f = fixture_with(config);
    let batches = synth::batches(&spec(2_000, 1, Compression::Gzip, 0)).unwrap();
    index_wal(&f.pipeline, "c", &batches).await;
    let req = FetchRequest {
        tp: tp(0),
        offset: 700,
        max_bytes: 50_000,
    };
    let cold = f.pipeline.fetch(&req).await.unwrap();
    let after_cold = f.pipeline.cache_stats();
    let warm = f.pipeline.fetch(&req).await.unwrap();
    let after_warm = f.pipeline.cache_stats();
    assert_eq!(cold.batches, warm.batches);
    assert_eq!(
        after_warm.misses, after_cold.misses,
        "warm fetch read nothing from the store"
    );
    assert!(after_warm.hits > after_cold.hits);
    let search = SearchRequest {
        query: "value.country:ES".into(),
        limit: 5,
        ..Default::default()
    };
    let a = f.pipeline.search(&search).await.unwrap();
    let misses = f.pipeline.cache_stats().misses;
    assert_eq!(f.pipeline.search(&search).await.unwrap(), a);
    assert_eq!(f.pipeline.cache_stats().misses, misses);
    assert!(f.pipeline.cache_stats().bytes <= 64 << 20);
}

#[tokio::test]
async fn a_fetch_within_a_segment_costs_one_catalog_lookup_and_one_ranged_read() {
    use tier::catalog::CountingCatalog;
    use tier::store::CountingStore;
    let dir = tempfile::tempdir().unwrap();
    let store = CountingStore::new(Arc::new(LocalStore::open(dir.path().join("o")).unwrap()));
    let catalog = CountingCatalog::new(Arc::new(
        EmbeddedCatalog::open(dir.path().join("c")).unwrap(),
    ));
    let pipeline = Pipeline::new(
        Arc::new(store.clone()),
        Arc::new(catalog.clone()),
        Arc::new(FixedClock(1)),
        PipelineConfig::default(),
    );
    let batches = synth::batches(&spec(5_000, 1, Compression::Lz4, 0)).unwrap();
    let wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let (s0, c0) = (store.counts(), catalog.counts());
    pipeline.index_source("w", &wal, None).await.unwrap();
    let (s1, c1) = (store.counts(), catalog.counts());
    assert_eq!(
        (s1.since(&s0).put, s1.since(&s0).total()),
        (1, 1),
        "indexing one segment: one put"
    );
    assert_eq!(
        c1.since(&c0).writes,
        1,
        "indexing one segment: one catalog transaction"
    );
    for offset in [0, 1_234, 4_999] {
        let (s, c) = (store.counts(), catalog.counts());
        let got = pipeline
            .fetch(&FetchRequest {
                tp: tp(0),
                offset,
                max_bytes: 64 << 10,
            })
            .await
            .unwrap();
        assert!(got.batch_count > 0);
        let (ds, dc) = (store.counts().since(&s), catalog.counts().since(&c));
        // The tail of the last segment too: a fetch never looks past its segment.
        assert_eq!(
            (ds.get_range, ds.total()),
            (1, 1),
            "offset {offset}: one ranged GET"
        );
        assert_eq!((dc.segment_covering, dc.reads), (1, 1), "offset {offset}");
    }
}

/// Every page of `req` in turn, following `next`.
async fn all_pages(p: &Pipeline, req: &SearchRequest) -> Vec<SearchPage> {
    let mut pages = Vec::new();
    let mut req = req.clone();
    loop {
        let page = p.search_page(&req).await.unwrap();
        let next = page.next.clone();
        pages.push(page);
        match next {
            Some(cursor) => req.after = Some(cursor),
            None => return pages,
        }
        assert!(pages.len() < 10_000, "paging does not end");
    }
}

#[tokio::test]
async fn search_pages_by_count_and_bytes_cover_every_hit_once() {
    let f = fixture();
    let batches = synth::batches(&spec(1_500, 3, Compression::Lz4, 0)).unwrap();
    index_wal(&f.pipeline, "s", &batches).await;
    let whole = SearchRequest {
        query: "value.country:ES".into(),
        limit: 10_000,
        ..Default::default()
    };
    let everything = f.pipeline.search(&whole).await.unwrap();
    assert!(everything.len() > 100, "{}", everything.len());
    assert_eq!(f.pipeline.search_page(&whole).await.unwrap().next, None);
    for (limit, max_bytes) in [
        (7, None),
        (10_000, Some(3_000)),
        (13, Some(2_000)),
        (1, Some(400)),
    ] {
        let req = SearchRequest {
            limit,
            max_bytes,
            ..whole.clone()
        };
        let pages = all_pages(&f.pipeline, &req).await;
        let joined: Vec<SearchHit> = pages.iter().flat_map(|p| p.hits.clone()).collect();
        assert_eq!(joined, everything, "limit {limit} max_bytes {max_bytes:?}");
        for page in &pages {
            assert!(!page.hits.is_empty() && page.hits.len() <= limit);
            let bytes: usize = page
                .hits
                .iter()
                .map(|h| serde_json::to_vec(h).unwrap().len() + 1)
                .sum();
            if let Some(budget) = max_bytes {
                assert!(
                    page.hits.len() == 1 || bytes <= budget,
                    "{bytes} > {budget}"
                );
            }
        }
        // A page that ends exactly at the last match says so: no empty last page.
        assert!(!pages.last().unwrap().hits.is_empty());
    }
    // A budget below every record: one elided hit per page, still every match once.
    let tiny = SearchRequest {
        max_bytes: Some(1),
        ..whole.clone()
    };
    let pages = all_pages(&f.pipeline, &tiny).await;
    let offsets = |hits: &mut dyn Iterator<Item = &SearchHit>| -> Vec<(u32, i64)> {
        hits.map(|h| (h.partition, h.record.offset)).collect()
    };
    assert_eq!(
        offsets(&mut pages.iter().flat_map(|p| &p.hits)),
        offsets(&mut everything.iter())
    );
    assert!(
        pages
            .iter()
            .all(|p| p.hits.len() == 1 && p.hits[0].record.elided_bytes.is_some())
    );
    // Exactly `limit` matches: one page, no next.
    let exact = SearchRequest {
        limit: everything.len(),
        ..whole.clone()
    };
    assert_eq!(f.pipeline.search_page(&exact).await.unwrap().next, None);
    let cursor: SearchCursor = "orders/1/17".parse().unwrap();
    assert_eq!(cursor.to_string(), "orders/1/17");
    for bad in [
        "orders/1",
        "orders/x/1",
        "../1/1",
        "orders/1/-1",
        "orders/1/1/2",
    ] {
        assert!(bad.parse::<SearchCursor>().is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_record_larger_than_the_page_budget_comes_without_its_contents() {
    let f = fixture();
    let mut builder = BatchBuilder::new(0, Compression::Zstd);
    for (i, size) in [10usize, 400_000, 20, 300_000].into_iter().enumerate() {
        builder.push(RecordInput {
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(format!("k{i}").into_bytes()),
            value: Some(format!("needle {}", "x".repeat(size)).into_bytes()),
            headers: Vec::new(),
        });
    }
    let wal =
        synth::wal_segment(&"orders".parse().unwrap(), &[(0, builder.build().unwrap())]).unwrap();
    f.pipeline.index_source("big", &wal, None).await.unwrap();
    let req = SearchRequest {
        query: "needle".into(),
        limit: 100,
        max_bytes: Some(100_000),
        ..Default::default()
    };
    let pages = all_pages(&f.pipeline, &req).await;
    let hits: Vec<&SearchHit> = pages.iter().flat_map(|p| &p.hits).collect();
    let offsets: Vec<i64> = hits.iter().map(|h| h.record.offset).collect();
    assert_eq!(offsets, [0, 1, 2, 3]);
    let elided: Vec<Option<u64>> = hits.iter().map(|h| h.record.elided_bytes).collect();
    assert_eq!(elided, [None, Some(400_009), None, Some(300_009)]);
    assert_eq!(hits[1].record.value, None);
    assert_eq!(
        hits[2].record.value.as_deref(),
        Some("needle xxxxxxxxxxxxxxxxxxxx")
    );
}
