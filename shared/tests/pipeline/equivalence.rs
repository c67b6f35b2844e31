//! Search answers of index version 1, the oracle every later index layout must reproduce.
//!
//! A fixed corpus (generated here, by code that must never change: it does not use `synth`,
//! whose random generator is not stable across crate versions) is indexed by today's code; every
//! query form of `docs/FORMATS.md` ("Query syntax") is searched, and the hits must equal the
//! answers the version 1 index gave, recorded in `data/search-v1/answers.json`. The archives the
//! version 1 code wrote for the same corpus are kept in `data/search-v1/objects/`: they are
//! catalogued by a rebuild and searched too, so archives written by version 1 stay searchable with
//! the same answers whatever the current layout is.
//!
//! `TIER_BLESS_SEARCH_V1=1` writes both files when they are missing (it refuses to overwrite
//! them: the answers are version 1's, not whatever the code gives today).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tier::kafka::RecordHeader;

use crate::support::*;

const TOPIC: &str = "equiv";

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/search-v1")
}

/// Small deterministic generator, stable forever (its outputs are part of the recorded answers).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len() as u64) as usize]
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

const WORDS: &[&str] = &[
    "order",
    "shipped",
    "payment",
    "declined",
    "retry",
    "kafka",
    "tier",
    "chronik",
    "express",
    "warehouse",
    "delayed",
    "refund",
    "Madrid",
    "Paris",
    "Berlin",
    "café",
    "naïve",
    "東京",
];
const COUNTRIES: &[&str] = &["ES", "FR", "DE", "IT", "PT"];
const EVENTS: &[&str] = &["click", "purchase", "view", "refund"];

/// Records `[first, first + n)` of one partition as (timestamp, key, value, headers).
fn records(partition: u32, first: i64, n: i64) -> Vec<RecordInput> {
    let mut rng = Lcg(0x5eed_0000 + u64::from(partition) * 7_919 + first as u64);
    (first..first + n)
        .map(|offset| {
            let user = rng.next(300);
            let key = match offset % 23 {
                0 => None,
                1 => Some(vec![0xff, 0xfe, b'b', b'i', b'n', b'k']),
                2 => Some("Ünïcode key ÜBER".as_bytes().to_vec()),
                _ => Some(format!("user-{user}").into_bytes()),
            };
            let words = 1 + rng.next(6) as usize;
            let msg = rng.sentence(words);
            let value = match offset % 11 {
                0 => Some(msg.clone().into_bytes()),
                1 => Some(format!("[\"{}\", {}]", rng.pick(WORDS), user).into_bytes()),
                2 => None,
                3 => Some((0..40).map(|_| rng.next(256) as u8).collect()),
                4 => Some(format!("{{\"broken\": \"{}\"", rng.pick(WORDS)).into_bytes()),
                5 => Some(user.to_string().into_bytes()),
                _ => {
                    let rare = match offset % 397 {
                        7 => ",\"note\":\"zyzzyva\"",
                        106 => ",\"note\":\"quokka quokka\"",
                        _ => "",
                    };
                    let long = if offset % 101 == 9 {
                        format!(",\"blob\":\"{}\"", "x".repeat(140))
                    } else {
                        String::new()
                    };
                    Some(format!(
                        concat!(
                            "{{\"user\":{{\"id\":{},\"name\":\"{}\"}},\"country\":\"{}\",",
                            "\"event\":\"{}\",\"amount\":{}.{:02},\"ok\":{},\"tags\":[\"{}\",\"{}\"],",
                            "\"a.b\":\"{}\",\"missing\":null,\"id_text\":\"{}\",\"msg\":\"{}\"{}{}}}"
                        ),
                        user,
                        rng.pick(WORDS),
                        rng.pick(COUNTRIES),
                        rng.pick(EVENTS),
                        offset % 97,
                        if offset % 2 == 1 { 50 } else { 0 },
                        offset % 3 == 0,
                        rng.pick(WORDS),
                        rng.pick(WORDS),
                        rng.pick(WORDS),
                        user,
                        msg,
                        rare,
                        long,
                    )
                    .into_bytes())
                }
            };
            let mut headers = vec![RecordHeader {
                key: "trace".into(),
                value: Some(format!("{:016x}", rng.next(u64::MAX >> 1)).into_bytes()),
            }];
            if offset % 4 == 0 {
                headers.push(RecordHeader {
                    key: "source".into(),
                    value: Some(rng.pick(&["web", "mobile", "batch"]).as_bytes().to_vec()),
                });
            }
            if offset % 9 == 0 {
                for tag in ["alpha", rng.pick(WORDS)] {
                    headers.push(RecordHeader {
                        key: "tag".into(),
                        value: Some(tag.as_bytes().to_vec()),
                    });
                }
            }
            if offset % 13 == 0 {
                headers.push(RecordHeader {
                    key: "empty".into(),
                    value: None,
                });
                headers.push(RecordHeader {
                    key: "x name".into(),
                    value: Some(b"spaced header".to_vec()),
                });
            }
            RecordInput {
                timestamp: 1_750_000_000_000 + offset * 1_000 + i64::from(partition) * 7,
                key,
                value,
                headers,
            }
        })
        .collect()
}

/// The corpus: 2 partitions × 3 sealed WAL segments of 600 records, batches of 1–40 records, every
/// codec; returned as the WAL bytes of each segment.
fn corpus() -> Vec<Vec<u8>> {
    let codecs = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    let mut rng = Lcg(42);
    let mut segments = Vec::new();
    for s in 0..3i64 {
        let mut batches = Vec::new();
        for p in 0..2u32 {
            let mut records = records(p, s * 600, 600).into_iter().peekable();
            let mut base = s * 600;
            while records.peek().is_some() {
                let n = 1 + rng.next(40) as i64;
                let codec = codecs[rng.next(codecs.len() as u64) as usize];
                let mut builder = BatchBuilder::new(base, codec);
                for r in records.by_ref().take(n as usize) {
                    builder.push(r);
                    base += 1;
                }
                batches.push((p, builder.build().unwrap()));
            }
        }
        segments.push(synth::wal_segment(&TOPIC.parse().unwrap(), &batches).unwrap());
    }
    segments
}

/// Every query form of FORMATS.md, rare and common terms, filters: (name, request).
fn queries() -> Vec<(String, SearchRequest)> {
    let q = |query: &str| SearchRequest {
        query: query.into(),
        limit: 100_000,
        ..Default::default()
    };
    let mut out: Vec<(String, SearchRequest)> = [
        "",
        "kafka",
        "KAFKA",
        "value:kafka",
        "key:user",
        "key:user-17",
        "key:\"user-17\"",
        "key:bink",
        "key:ünïcode",
        "über",
        "value.country:ES",
        "value.country:es",
        "country:FR",
        "value.user.id:42",
        "value.user.id:\"42\"",
        "value.id_text:42",
        "value:42",
        "42",
        "value.amount:12.5",
        "value.ok:true",
        "value.ok:false",
        "value.tags:kafka",
        "value.a.b:tier",
        "value.missing:null",
        "value.broken:order",
        "broken",
        "value.user.name:madrid",
        "value.country:IN [ES FR]",
        "value.country:IN [es fr]",
        "key:IN [user-1 user-2 user-3]",
        "value.user.id:IN [42 43 299]",
        "headers.trace:0",
        "headers.source:web",
        "headers.tag:alpha",
        "headers:alpha",
        "headers:mobile",
        "headers.empty:x",
        "spaced",
        "headers:spaced",
        "\"payment declined\"",
        "value.msg:\"order shipped\"",
        "\"shipped order\"",
        "value.msg:\"payment dec\"*",
        "café",
        "cafe",
        "naïve",
        "東京",
        "zyzzyva",
        "quokka",
        "\"quokka quokka\"",
        "xxxxxxxxxxxxxxxxxxxx",
        "value.amount:12",
        "value.country:ES AND value.event:purchase",
        "value.country:ES value.event:purchase",
        "value.country:ES OR value.country:FR",
        "kafka AND NOT value.country:DE",
        "kafka -value.country:DE",
        "NOT kafka",
        "-kafka",
        "(key:user-3 OR key:user-4) AND headers.source:web",
        "(value.event:refund OR refund) AND NOT value.ok:true",
        "offset:[100 TO 200]",
        "offset:[100 TO 200] AND kafka",
        "timestamp:>=1750001000000",
        "timestamp:[1750000100000 TO 1750000200000] AND value.country:PT",
        "user",
        "country",
        "value.user:42",
        "nosuchword",
    ]
    .into_iter()
    .map(|s| (s.to_string(), q(s)))
    .collect();
    let filtered = [
        (
            "kafka [offsets 500..=1300]",
            SearchRequest {
                offsets: Some(500..=1_300),
                ..q("kafka")
            },
        ),
        (
            "value.country:ES [timestamps]",
            SearchRequest {
                timestamps: Some(1_750_000_300_000..=1_750_001_100_000),
                ..q("value.country:ES")
            },
        ),
        (
            "[partition 1] refund",
            SearchRequest {
                partition: Some(Partition::try_from(1).unwrap()),
                ..q("refund")
            },
        ),
        (
            "order [first 20]",
            SearchRequest {
                limit: 20,
                ..q("order")
            },
        ),
        (
            "[empty offset range] kafka",
            SearchRequest {
                offsets: Some(std::ops::RangeInclusive::new(10, 5)),
                ..q("kafka")
            },
        ),
    ];
    out.extend(filtered.into_iter().map(|(n, r)| (n.to_string(), r)));
    // A high-cardinality token (one trace id), by path and bare, and a token over the length limit.
    let trace = records(1, 600, 600)[123]
        .headers
        .iter()
        .find(|h| h.key == "trace")
        .and_then(|h| h.value.clone())
        .unwrap();
    let trace = String::from_utf8(trace).unwrap();
    for query in [
        format!("headers.trace:{trace}"),
        trace,
        format!("value.blob:{}", "x".repeat(140)),
    ] {
        out.push((query.clone(), q(&query)));
    }
    out
}

/// The hits of each query as `partition:first-last` runs of consecutive offsets, in hit order
/// (`invalid query` if it is rejected).
async fn answers(p: &Pipeline) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, req) in queries() {
        let hits = match p
            .search(&SearchRequest {
                topic: Some(TOPIC.parse().unwrap()),
                ..req
            })
            .await
        {
            Ok(hits) => hits,
            // A query version 1 rejects is an answer too (the reason's wording is not).
            Err(PipelineError::InvalidQuery(_)) => {
                out.insert(name, vec!["invalid query".to_string()]);
                continue;
            }
            Err(e) => panic!("{name:?}: {e}"),
        };
        let mut runs: Vec<(u32, i64, i64)> = Vec::new();
        for h in hits {
            match runs.last_mut() {
                Some((p, _, last)) if *p == h.partition && *last + 1 == h.record.offset => {
                    *last = h.record.offset
                }
                _ => runs.push((h.partition, h.record.offset, h.record.offset)),
            }
        }
        let runs = runs
            .into_iter()
            .map(|(p, a, b)| {
                if a == b {
                    format!("{p}:{a}")
                } else {
                    format!("{p}:{a}-{b}")
                }
            })
            .collect();
        out.insert(name, runs);
    }
    out
}

fn recorded() -> Option<BTreeMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(data_dir().join("answers.json")).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

fn assert_same(got: &BTreeMap<String, Vec<String>>, what: &str) {
    let want = recorded().expect("data/search-v1/answers.json is missing");
    for (name, runs) in &want {
        assert_eq!(got.get(name), Some(runs), "{what}: query {name:?}");
    }
    assert_eq!(got.len(), want.len(), "{what}: the query list changed");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The corpus indexed by today's code answers every query as version 1 did.
#[tokio::test]
async fn todays_index_answers_as_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = Pipeline::embedded(
        dir.path(),
        Arc::new(FixedClock(1_000)),
        PipelineConfig::default(),
    )
    .unwrap();
    for (i, wal) in corpus().iter().enumerate() {
        p.index_source(&format!("equiv-{i}"), wal, None)
            .await
            .unwrap();
    }
    let got = answers(&p).await;
    if std::env::var_os("TIER_BLESS_SEARCH_V1").is_some() && recorded().is_none() {
        let data = data_dir();
        assert!(!data.join("objects").exists(), "objects without answers");
        copy_dir(&dir.path().join("objects"), &data.join("objects"));
        let json = serde_json::to_string_pretty(&got).unwrap();
        std::fs::write(data.join("answers.json"), json + "\n").unwrap();
    }
    // The corpus is what the oracle says it is: a few spot checks by hand.
    assert_eq!(got[""].concat(), "0:0-17991:0-1799");
    assert!(got["zyzzyva"].len() >= 2 && got["nosuchword"].is_empty());
    assert_same(&got, "today's index");
}

/// Every index policy answers the same (a policy only changes which chunks a search reads), also
/// one keying only some JSON paths; the policy of each topic is its own, and `none` costs almost
/// nothing over the batches.
#[tokio::test]
async fn every_index_policy_answers_as_version_1() {
    let paths: IndexPolicy = "paths:user,value.country".parse().unwrap();
    assert_eq!(paths.value_paths(), ["country", "user"]);
    for policy in [paths, IndexPolicy::KeysAndHeaders, IndexPolicy::None] {
        let dir = tempfile::tempdir().unwrap();
        let config = PipelineConfig {
            index_policies: IndexPolicies {
                default: IndexPolicy::Full,
                topics: [(TOPIC.parse().unwrap(), policy.clone())].into(),
            },
            ..Default::default()
        };
        let p = Pipeline::embedded(dir.path(), Arc::new(FixedClock(1_000)), config).unwrap();
        for (i, wal) in corpus().iter().enumerate() {
            p.index_source(&format!("equiv-{i}"), wal, None)
                .await
                .unwrap();
        }
        assert_same(&answers(&p).await, &format!("policy {policy:?}"));
        let tp = TopicPartition::new(TOPIC.parse().unwrap(), Partition::try_from(0).unwrap());
        let (data, archives): (u64, u64) = p
            .catalog()
            .segments(&tp)
            .await
            .unwrap()
            .iter()
            .fold((0, 0), |(d, a), s| (d + s.data_bytes, a + s.archive_size));
        if policy == IndexPolicy::None {
            // Batches (some gzipped, mostly stored), TOC-described members, a 28-byte filter
            // descriptor per chunk.
            assert!(
                archives < data + data / 20,
                "{archives} archive bytes for {data}"
            );
        }
    }
}

/// Archives written by version 1 are found by a catalog rebuild and answer the same.
#[tokio::test]
async fn version_1_archives_stay_searchable() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&data_dir().join("objects"), &dir.path().join("objects"));
    let p = Pipeline::embedded(
        dir.path(),
        Arc::new(FixedClock(1_000)),
        PipelineConfig::default(),
    )
    .unwrap();
    let report = p.rebuild_catalog(RebuildOptions::default()).await.unwrap();
    assert_eq!(report.segments_registered, 6, "{report:?}");
    assert_same(&answers(&p).await, "version 1 archives");

    // Compaction rewrites them in today's layout when it merges them: still the same answers.
    for partition in 0..2 {
        let tp = TopicPartition::new(
            TOPIC.parse().unwrap(),
            Partition::try_from(partition).unwrap(),
        );
        let segments = p.catalog().segments(&tp).await.unwrap();
        let run = MergeRun {
            segments: segments.iter().map(|s| s.id.clone()).collect(),
            base_offset: segments[0].base_offset.get(),
            last_offset: segments[2].last_offset.get(),
            archive_bytes: segments.iter().map(|s| s.archive_size).sum(),
        };
        p.merge_run(&tp, &run).await.unwrap();
        let merged = p.catalog().segments(&tp).await.unwrap();
        assert_eq!(merged.len(), 1);
        let archive = p.store().get(&merged[0].archive_key).await.unwrap();
        let (_, manifest) = describe_archive(&merged[0].archive_key, &archive).unwrap();
        assert_eq!(
            manifest.index_schema_version,
            p.config().index_layout.schema_version()
        );
    }
    assert_same(&answers(&p).await, "version 1 archives merged");
}
