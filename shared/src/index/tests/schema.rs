//! Contracts of the schema itself.

use super::super::SCHEMA_VERSION;
use super::super::schema::{TOKENIZER, schema};

#[test]
fn analyzer_name_carries_the_version() {
    assert_eq!(TOKENIZER, format!("chronik_text_v{SCHEMA_VERSION}"));
}

#[test]
fn nothing_is_stored_and_ordering_fields_are_fast() {
    let schema = schema();
    let names: Vec<&str> = schema.fields().map(|(_, e)| e.name()).collect();
    assert_eq!(names, ["offset", "timestamp", "key", "value", "headers"]);
    for (_, entry) in schema.fields() {
        assert!(!entry.is_stored(), "{} is stored", entry.name());
        assert!(entry.is_indexed(), "{} is not indexed", entry.name());
        let fast = matches!(entry.name(), "offset" | "timestamp");
        assert_eq!(entry.is_fast(), fast, "{}", entry.name());
    }
}
