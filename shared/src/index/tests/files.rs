//! The file set: naming contract, round trip through a real directory, empty and multi-segment
//! builds.

use super::super::{
    BuilderOptions, IndexBuilder, IndexFiles, IndexReader, MAX_FILE_NAME_LEN, META_FILE,
    SearchFilter,
};
use super::fixture::{build, oracle, records};

pub const QUERIES: &[&str] = &[
    "",
    "hello",
    "value.country:ES AND hello",
    "value.user.id:42",
    "headers.trace:abc",
    "\"quick brown\"",
    "key:k17",
];

pub fn assert_file_contract(files: &IndexFiles) {
    let names: Vec<&str> = files.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&META_FILE), "meta.json last: {names:?}");
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "unique names");
    for name in names {
        assert!(name.len() <= MAX_FILE_NAME_LEN, "{name}");
        assert!(!name.contains('/') && !name.starts_with('.'), "{name}");
        assert!(!name.contains("lock"), "{name}");
    }
}

#[test]
fn file_set_contract() {
    let files = build(&records(0, 300));
    assert_file_contract(&files);
    // One segment: meta.json plus one set of component files sharing a segment id.
    let ids: std::collections::BTreeSet<&str> = files
        .files
        .iter()
        .filter(|(n, _)| n != META_FILE)
        .filter_map(|(n, _)| n.split('.').next())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "{:?}",
        files.files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(files.total_bytes() > 0);
}

#[test]
fn round_trip_through_a_directory() {
    let records = records(100, 500);
    let files = build(&records);
    let in_memory = IndexReader::open(files.clone()).expect("open bytes");
    let dir = tempfile::tempdir().expect("tempdir");
    files.write_to_dir(dir.path()).expect("write");
    let mmapped = IndexReader::open_dir(dir.path()).expect("open dir");
    assert_eq!(mmapped.num_docs(), records.len() as u64);
    for query in QUERIES {
        let a = in_memory
            .search(query, &SearchFilter::default(), 1_000)
            .expect(query);
        let b = mmapped
            .search(query, &SearchFilter::default(), 1_000)
            .expect(query);
        assert_eq!(a, b, "{query}");
    }
    // Plain tantivy opens it too, given the same analyzer registration.
    let index =
        tantivy::Index::open(tantivy::directory::MmapDirectory::open(dir.path()).expect("mmap"))
            .expect("tantivy open");
    super::super::schema::register_analyzers(index.tokenizers());
    assert_eq!(index.searchable_segment_ids().expect("segments").len(), 1);
    assert_eq!(
        index.reader().expect("reader").searcher().num_docs(),
        records.len() as u64
    );
}

#[test]
fn empty_index() {
    let files = IndexBuilder::new()
        .expect("builder")
        .finish()
        .expect("finish");
    assert_file_contract(&files);
    let reader = IndexReader::open(files).expect("open");
    assert_eq!(reader.num_docs(), 0);
    assert_eq!(reader.num_segments(), 0);
    assert!(
        reader
            .search("hello", &SearchFilter::default(), 10)
            .expect("search")
            .is_empty()
    );
    assert!(
        reader
            .search("", &SearchFilter::default(), 10)
            .expect("search")
            .is_empty()
    );
}

#[test]
fn several_threads_still_give_one_segment() {
    let records = records(0, 2_000);
    let mut builder = IndexBuilder::with_options(BuilderOptions {
        memory_budget_per_thread: 20_000_000,
        num_threads: 2,
        temp_dir: None,
    })
    .expect("builder");
    for r in &records {
        builder.add(&r.doc()).expect("add");
    }
    assert_eq!(builder.num_docs(), 2_000);
    let files = builder.finish().expect("finish");
    assert_file_contract(&files);
    let reader = IndexReader::open(files).expect("open");
    assert_eq!(reader.num_segments(), 1);
    let got = reader
        .search("hello", &SearchFilter::default(), usize::MAX)
        .expect("search");
    assert_eq!(
        got,
        oracle(&records, &SearchFilter::default(), |m| m.any_has("hello"))
    );
}
