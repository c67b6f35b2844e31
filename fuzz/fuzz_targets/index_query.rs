//! The search query language (docs/FORMATS.md "Query syntax"): syntax check, then compiling and
//! running the query on a small real index, with and without offset/time filters.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tier::index::{IndexBuilder, IndexDoc, IndexReader, SearchFilter, query_syntax_error};

fn index() -> Option<&'static IndexReader> {
    static INDEX: OnceLock<Option<IndexReader>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let mut builder = IndexBuilder::new().ok()?;
            let values: [&[u8]; 4] = [
                br#"{"user":"u-1","country":"ES","amount":12.5,"ok":true,"tags":["a","b"]}"#,
                br#"{"user":"u-2","country":"FR","amount":-3,"nested":{"deep":{"x":"y"}}}"#,
                b"plain text with timeout and error words",
                &[0xff, 0xfe, 0x00, 0x41],
            ];
            for (i, value) in values.iter().enumerate() {
                let offset = i as i64;
                builder
                    .add(&IndexDoc {
                        offset,
                        timestamp: 1_700_000_000_000 + offset,
                        key: Some(format!("key-{i}").as_bytes()),
                        value: Some(value),
                        headers: vec![("trace", Some(b"t-1".as_slice())), ("empty", None)],
                    })
                    .ok()?;
            }
            IndexReader::open(builder.finish().ok()?).ok()
        })
        .as_ref()
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    // An invalid query is rejected by the same check before any search; only valid ones are run.
    if query_syntax_error(query).is_some() {
        return;
    }
    let Some(reader) = index() else { return };
    let _ = reader.search(query, &SearchFilter::default(), 10);
    let filter = SearchFilter {
        offsets: Some(1..=2),
        timestamps: Some(0..=i64::MAX),
    };
    let _ = reader.search(query, &filter, 3);
});
