//! Query semantics against the brute-force oracle over ~1,000 mixed records.

use std::sync::OnceLock;

use super::super::{Hit, IndexReader, SearchFilter};
use super::fixture::{Model, Record, build, oracle, records};

fn fixture() -> &'static (Vec<Record>, IndexReader) {
    static FIXTURE: OnceLock<(Vec<Record>, IndexReader)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let records = records(5_000, 1_000);
        let reader = IndexReader::open(build(&records)).expect("open");
        (records, reader)
    })
}

fn check(query: &str, filter: &SearchFilter, pred: impl Fn(&Model) -> bool) -> Vec<Hit> {
    let (records, reader) = fixture();
    let expected = oracle(records, filter, pred);
    let got = reader.search(query, filter, usize::MAX).expect(query);
    if got != expected {
        let missing: Vec<i64> = expected
            .iter()
            .filter(|h| !got.contains(h))
            .map(|h| h.offset)
            .take(10)
            .collect();
        let extra: Vec<i64> = got
            .iter()
            .filter(|h| !expected.contains(h))
            .map(|h| h.offset)
            .take(10)
            .collect();
        panic!(
            "query {query:?} filter {filter:?}: got {} hits, expected {}; missing {missing:?}, extra {extra:?}",
            got.len(),
            expected.len()
        );
    }
    got
}

fn all(query: &str, pred: impl Fn(&Model) -> bool) -> Vec<Hit> {
    let hits = check(query, &SearchFilter::default(), pred);
    assert!(!hits.is_empty(), "query {query:?} should match something");
    hits
}

#[test]
fn counts_every_record() {
    let (records, reader) = fixture();
    assert_eq!(reader.num_docs(), records.len() as u64);
    assert_eq!(reader.num_segments(), 1);
    assert_eq!(
        check("", &SearchFilter::default(), |_| true).len(),
        records.len()
    );
}

#[test]
fn bare_word_matches_key_value_and_headers() {
    all("hello", |m| m.any_has("hello"));
    all("HeLLo", |m| m.any_has("hello"));
    // JSON leaves and plain text alike.
    all("fox", |m| m.any_has("fox"));
    // Only in header values.
    all("second", |m| m.any_has("second"));
    // Only inside non-UTF-8 keys (lossy decoded).
    all("kbin", |m| m.any_has("kbin"));
    // Bare numbers hit JSON number leaves through their text.
    all("42", |m| m.any_has("42"));
}

#[test]
fn fielded_words() {
    all("value:hello", |m| m.value_has("hello"));
    all("value:plain", |m| m.value_has("plain"));
    all("key:k17", |m| m.key.iter().any(|t| t == "k17"));
    all("headers:abc", |m| {
        m.header_root.iter().any(|t| t.iter().any(|x| x == "abc"))
    });
    // Field names of the JSON value are not text of the value.
    check("value:country", &SearchFilter::default(), |m| {
        m.value_has("country")
    });
}

#[test]
fn json_paths() {
    all("value.country:ES", |m| m.path_has("country", "es"));
    all("value.country:es", |m| m.path_has("country", "es"));
    all("value.user.id:42", |m| m.path_has("user.id", "42"));
    all("value.msg:kafka", |m| m.path_has("msg", "kafka"));
    all("value.tags:x", |m| m.path_has("tags", "x"));
    all("value.nested.deep.n:7", |m| {
        m.path_has("nested.deep.n", "7")
    });
    all("value.ok:true", |m| m.path_has("ok", "true"));
    // A path that exists nowhere matches nothing (and is not an error).
    check("value.nope:es", &SearchFilter::default(), |_| false);
}

#[test]
fn sets_are_ors_of_analyzed_terms() {
    all("value.country:IN [ES FR]", |m| {
        m.path_has("country", "es") || m.path_has("country", "fr")
    });
    all("value.user.id:IN [42 7]", |m| {
        m.path_has("user.id", "42") || m.path_has("user.id", "7")
    });
    all("key:IN [K17 k3]", |m| {
        m.key.iter().any(|t| t == "k17" || t == "k3")
    });
    all("value.country:IN [ES] AND NOT value.user.id:IN [42]", |m| {
        m.path_has("country", "es") && !m.path_has("user.id", "42")
    });
    check("value.country:IN []", &SearchFilter::default(), |_| false);
}

#[test]
fn header_paths() {
    all("headers.trace:abc", |m| m.header_has("trace", "abc"));
    all("headers.trace:xyz", |m| m.header_has("trace", "xyz"));
    all("headers.tag:second", |m| m.header_has("tag", "second"));
    check("headers.source:abc", &SearchFilter::default(), |_| false);
}

#[test]
fn boolean_combinations() {
    all("value.country:ES AND hello", |m| {
        m.path_has("country", "es") && m.any_has("hello")
    });
    // Space means AND.
    all("value.country:ES hello", |m| {
        m.path_has("country", "es") && m.any_has("hello")
    });
    all("value.country:ES OR value.country:FR", |m| {
        m.path_has("country", "es") || m.path_has("country", "fr")
    });
    all("kafka AND NOT value.country:DE", |m| {
        m.any_has("kafka") && !m.path_has("country", "de")
    });
    all("(key:k3 OR key:k4) AND headers.trace:abc", |m| {
        (m.key.iter().any(|t| t == "k3" || t == "k4")) && m.header_has("trace", "abc")
    });
    all("-hello", |m| !m.any_has("hello"));
    all("NOT hello", |m| !m.any_has("hello"));
    all("hello OR NOT kafka", |m| {
        m.any_has("hello") || !m.any_has("kafka")
    });
    all("kafka -value.country:DE", |m| {
        m.any_has("kafka") && !m.path_has("country", "de")
    });
    all("(NOT key:k3) AND -hello", |m| {
        !m.key.iter().any(|t| t == "k3") && !m.any_has("hello")
    });
}

#[test]
fn phrases() {
    all("\"quick brown\"", |m| m.phrase(&["quick", "brown"]));
    all("value:\"lazy dog\"", |m| {
        m.value_root
            .iter()
            .any(|t| t.windows(2).any(|w| w == ["lazy", "dog"]))
    });
    all("value.msg:\"hello world\"", |m| {
        m.value_paths.get("msg").is_some_and(|v| {
            v.iter().any(|s| {
                s.as_str().is_some_and(|s| {
                    super::fixture::tokens(s)
                        .windows(2)
                        .any(|w| w == ["hello", "world"])
                })
            })
        })
    });
    all("headers.trace:\"xyz abc\"", |m| {
        m.header_has("trace", "xyz")
    });
}

#[test]
fn filters() {
    let by_offset = SearchFilter {
        offsets: Some(5_100..=5_199),
        timestamps: None,
    };
    let hits = check("hello", &by_offset, |m| m.any_has("hello"));
    assert!(!hits.is_empty());
    let t0 = 1_700_000_000_000;
    let by_time = SearchFilter {
        offsets: None,
        timestamps: Some(t0 + 200_000..=t0 + 400_000),
    };
    assert!(
        !check("value.country:ES", &by_time, |m| m
            .path_has("country", "es"))
        .is_empty()
    );
    let both = SearchFilter {
        offsets: Some(5_000..=5_500),
        timestamps: Some(t0..=t0 + 500_000),
    };
    assert!(!check("", &both, |_| true).is_empty());
    // Empty range: nothing, not an error.
    #[allow(clippy::reversed_empty_ranges)]
    let empty = SearchFilter {
        offsets: Some(10..=1),
        timestamps: None,
    };
    assert!(check("hello", &empty, |_| false).is_empty());
    // Range syntax in the query itself.
    let (_, reader) = fixture();
    let in_query = reader.search(
        "offset:[5010 TO 5020] AND timestamp:>=1700000500000",
        &SearchFilter::default(),
        100,
    );
    let as_filter = SearchFilter {
        offsets: Some(5010..=5020),
        timestamps: Some(t0 + 500_000..=i64::MAX),
    };
    assert_eq!(
        in_query.expect("range query"),
        check("", &as_filter, |_| true)
    );
}

#[test]
fn limit_and_order() {
    let (_, reader) = fixture();
    let every = reader
        .search("hello", &SearchFilter::default(), usize::MAX)
        .expect("search");
    assert!(every.len() > 20);
    assert!(
        every.windows(2).all(|w| w[0].offset < w[1].offset),
        "ascending offsets"
    );
    for limit in [0, 1, 7, 20] {
        let some = reader
            .search("hello", &SearchFilter::default(), limit)
            .expect("search");
        assert_eq!(some, every[..limit], "limit {limit}");
    }
    let first_ten = reader
        .search("", &SearchFilter::default(), 10)
        .expect("search");
    let offsets: Vec<i64> = first_ten.iter().map(|h| h.offset).collect();
    assert_eq!(offsets, (5_000..5_010).collect::<Vec<_>>());
}

#[test]
fn reader_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IndexReader>();
}
