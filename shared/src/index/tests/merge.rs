//! merge(): one segment, union of hits, bad inputs rejected.

use super::super::{IndexBuilder, IndexError, IndexReader, SearchFilter, merge};
use super::files::{QUERIES, assert_file_contract};
use super::fixture::{build, records};

#[test]
fn merging_three_indexes() {
    let parts = [records(0, 300), records(300, 250), records(550, 400)];
    let inputs: Vec<_> = parts.iter().map(|r| build(r)).collect();
    let readers: Vec<_> = inputs
        .iter()
        .map(|f| IndexReader::open(f.clone()).expect("open input"))
        .collect();
    let merged = merge(inputs).expect("merge");
    assert_file_contract(&merged);
    let reader = IndexReader::open(merged).expect("open merged");
    assert_eq!(reader.num_segments(), 1);
    assert_eq!(reader.num_docs(), 950);
    for query in QUERIES {
        let mut union: Vec<_> = readers
            .iter()
            .flat_map(|r| {
                r.search(query, &SearchFilter::default(), usize::MAX)
                    .expect(query)
            })
            .collect();
        union.sort();
        let got = reader
            .search(query, &SearchFilter::default(), usize::MAX)
            .expect(query);
        assert_eq!(got, union, "{query}");
        let first = reader
            .search(query, &SearchFilter::default(), 5)
            .expect(query);
        assert_eq!(first[..], union[..union.len().min(5)], "{query}, limit 5");
    }
}

#[test]
fn merging_the_same_segment_twice_is_rejected() {
    let files = build(&records(0, 50));
    let err = merge(vec![files.clone(), files]).expect_err("duplicate");
    assert!(matches!(err, IndexError::InvalidArgument(_)), "{err:?}");
}

#[test]
fn merging_nothing_or_empty_indexes() {
    let empty = || {
        IndexBuilder::new()
            .expect("builder")
            .finish()
            .expect("finish")
    };
    for inputs in [vec![], vec![empty()], vec![empty(), empty()]] {
        let reader = IndexReader::open(merge(inputs).expect("merge")).expect("open");
        assert_eq!(reader.num_docs(), 0);
    }
    let one = build(&records(0, 40));
    let reader = IndexReader::open(merge(vec![empty(), one]).expect("merge")).expect("open");
    assert_eq!((reader.num_docs(), reader.num_segments()), (40, 1));
}

#[test]
fn merging_a_damaged_input_fails() {
    let mut bad = build(&records(0, 40));
    bad.files.retain(|(n, _)| !n.ends_with(".idx"));
    assert!(merge(vec![build(&records(40, 40)), bad]).is_err());
}
