//! Bad queries and damaged file sets give errors, never panics.

use super::super::{
    IndexError, IndexFiles, IndexReader, MAX_QUERY_BYTES, MAX_QUERY_NESTING, META_FILE,
    SearchFilter, query_syntax_error,
};
use super::fixture::{build, records};

fn small_index() -> IndexFiles {
    build(&records(0, 200))
}

fn open_err(files: IndexFiles) -> IndexError {
    match IndexReader::open(files) {
        Ok(_) => panic!("damaged file set opened"),
        Err(e) => e,
    }
}

fn assert_corrupt(files: IndexFiles, what: &str) {
    let err = open_err(files);
    assert!(matches!(err, IndexError::Corrupt(_)), "{what}: {err:?}");
}

#[test]
fn bad_queries_are_invalid_query() {
    let reader = IndexReader::open(small_index()).expect("open");
    for query in [
        "value.country:(",
        "\"unterminated",
        "offset:abc",
        "AND",
        "hello)",
        "key:",
        "timestamp:[1 TO",
        "key:/re.*/",
        // Parse, but tantivy cannot run them (JSON paths are not fast fields).
        "value.user.id:[40 TO 45]",
        "headers.trace:*",
        // Found by fuzzing (fuzz/index_query): a NUL in a JSON path made tantivy panic.
        "val\0\0\0\0\0\0\0\x0ested.deep.x:y",
        "value.a\u{1}b:c",
    ] {
        for limit in [0, 10] {
            match reader.search(query, &SearchFilter::default(), limit) {
                Err(IndexError::InvalidQuery(reason)) => assert!(!reason.is_empty()),
                other => panic!("{query:?} gave {other:?}"),
            }
        }
        let reason = query_syntax_error(query);
        assert!(reason.is_some(), "{query:?} should be reported invalid");
    }
    let syntax = query_syntax_error("value.country:(").unwrap_or_default();
    assert!(syntax.contains("byte"), "the reason says where: {syntax}");
}

#[test]
fn good_queries_validate() {
    for query in [
        "",
        "   ",
        "*",
        "hello",
        "value.country:ES AND hello",
        "value.user.id:42",
        "headers.trace:abc",
        "\"hello world\"",
        "offset:[1 TO 5]",
        "timestamp:>=1700000000000",
        "NOT hello",
        "unknown.field:x",
        "key:hel*",
    ] {
        assert_eq!(query_syntax_error(query), None, "{query:?}");
    }
}

/// Found by fuzzing (fuzz/findings/index_query-slow-unit.txt): 46 unclosed groups cost tantivy's
/// grammar half a second of backtracking. Queries past the nesting or length bound are refused
/// before it runs; queries inside them, parentheses in phrases and escaped ones still work.
#[test]
fn query_complexity_is_bounded() {
    let finding = include_str!("../../../../fuzz/findings/index_query-slow-unit.txt");
    let reason = query_syntax_error(finding).unwrap_or_default();
    assert!(reason.contains("nests parentheses"), "{reason}");

    let nested = |depth: usize| format!("{}hello{}", "(".repeat(depth), ")".repeat(depth));
    assert_eq!(query_syntax_error(&nested(MAX_QUERY_NESTING)), None);
    let too_deep = query_syntax_error(&nested(MAX_QUERY_NESTING + 1)).unwrap_or_default();
    assert!(
        too_deep.contains(&format!("more than {MAX_QUERY_NESTING}")),
        "{too_deep}"
    );
    // Depth, not count: many groups side by side are fine.
    let wide = vec!["(a OR b)"; 100].join(" AND ");
    assert_eq!(query_syntax_error(&wide), None);
    // Parentheses inside a phrase or escaped are text.
    let phrase = format!("\"{}\"", "(".repeat(40));
    assert_eq!(query_syntax_error(&phrase), None);
    let escaped = "\\(".repeat(40);
    assert_eq!(query_syntax_error(&escaped), None);

    let longest = format!("a{}", " a".repeat((MAX_QUERY_BYTES - 1) / 2));
    assert!(longest.len() <= MAX_QUERY_BYTES);
    assert_eq!(query_syntax_error(&longest), None);
    let too_long = format!("{longest} bb");
    let reason = query_syntax_error(&too_long).unwrap_or_default();
    assert!(
        reason.contains(&format!("at most {MAX_QUERY_BYTES}")),
        "{reason}"
    );

    let reader = IndexReader::open(small_index()).expect("open");
    let searched = reader.search(&nested(MAX_QUERY_NESTING + 1), &SearchFilter::default(), 10);
    assert!(
        matches!(searched, Err(IndexError::InvalidQuery(_))),
        "{searched:?}"
    );
}

#[test]
fn missing_files() {
    let files = small_index();
    let without = |pred: &dyn Fn(&str) -> bool| IndexFiles {
        files: files
            .files
            .iter()
            .filter(|(n, _)| !pred(n))
            .cloned()
            .collect(),
    };
    assert_corrupt(without(&|n| n == META_FILE), "no meta.json");
    assert_corrupt(IndexFiles::default(), "no file at all");
    for (name, _) in &files.files {
        if name != META_FILE {
            assert!(
                IndexReader::open(without(&|n| n == name)).is_err(),
                "without {name}"
            );
        }
    }
}

#[test]
fn damaged_bytes() {
    let files = small_index();
    for (i, (name, bytes)) in files.files.iter().enumerate() {
        let mut variants = vec![bytes[..bytes.len() / 2].to_vec(), Vec::new()];
        for pos in [
            0,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len().saturating_sub(1),
        ] {
            let mut flipped = bytes.clone();
            if let Some(b) = flipped.get_mut(pos) {
                *b ^= 0x5a;
                variants.push(flipped);
            }
        }
        for variant in variants {
            let mut damaged = files.clone();
            damaged.files[i].1 = variant;
            // meta.json damage may go unnoticed (e.g. inside a string); segment damage may not.
            match IndexReader::open(damaged) {
                Err(_) => {}
                Ok(reader) if name == META_FILE => {
                    let _ = reader.search("hello", &SearchFilter::default(), 10);
                }
                Ok(_) => panic!("damage to {name} went unnoticed"),
            }
        }
    }
}

#[test]
fn bad_file_names() {
    let files = small_index();
    for bad in [
        "../meta2.json",
        "a/b",
        "a\\b",
        ".managed.json",
        "",
        &"x".repeat(91),
    ] {
        let mut with_bad = files.clone();
        with_bad.files.insert(0, (bad.to_owned(), b"{}".to_vec()));
        assert_corrupt(with_bad, bad);
    }
    let mut duplicated = files.clone();
    duplicated.files.push(files.files[0].clone());
    assert_corrupt(duplicated, "duplicate");
}

#[test]
fn other_schema_version_is_rejected() {
    let mut files = small_index();
    let meta = files
        .files
        .iter_mut()
        .find(|(n, _)| n == META_FILE)
        .expect("meta.json");
    let text = String::from_utf8(meta.1.clone()).expect("utf8");
    assert!(text.contains("chronik_text_v1"));
    meta.1 = text
        .replace("chronik_text_v1", "chronik_text_v0")
        .into_bytes();
    let err = open_err(files);
    assert!(matches!(err, IndexError::SchemaMismatch(_)), "{err:?}");
}
