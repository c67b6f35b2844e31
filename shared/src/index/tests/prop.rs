//! Property: for random records and a word that occurs in them, the hits are the oracle's.

use proptest::prelude::*;

use super::super::{IndexReader, SearchFilter};
use super::fixture::{Record, WORDS, build, model, oracle};

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..5).prop_map(|w| w.join(" "))
}

fn value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        text().prop_map(|t| Some(t.to_uppercase().into_bytes())),
        (text(), text()).prop_map(|(a, b)| {
            Some(
                serde_json::json!({ "a": a, "n": { "b": [b, 1] } })
                    .to_string()
                    .into_bytes(),
            )
        }),
    ]
}

fn record() -> impl Strategy<Value = (Option<String>, Option<Vec<u8>>, Option<String>)> {
    (prop::option::of(text()), value(), prop::option::of(text()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn bare_word_hits_equal_oracle(
        raw in prop::collection::vec(record(), 1..40),
        pick in any::<prop::sample::Index>(),
        upper in any::<bool>(),
    ) {
        let records: Vec<Record> = raw
            .into_iter()
            .enumerate()
            .map(|(i, (key, value, header))| Record {
                offset: i as i64 * 3,
                timestamp: 1_000 - i as i64,
                key: key.map(String::into_bytes),
                value,
                headers: header.map(|h| ("h".to_owned(), Some(h.into_bytes()))).into_iter().collect(),
            })
            .collect();
        let present: Vec<&str> = WORDS
            .iter()
            .copied()
            .filter(|w| records.iter().any(|r| model(r).any_has(w)))
            .collect();
        prop_assume!(!present.is_empty());
        let word = present[pick.index(present.len())];
        let query = if upper { word.to_uppercase() } else { word.to_owned() };
        let reader = IndexReader::open(build(&records)).expect("open");
        let got = reader.search(&query, &SearchFilter::default(), usize::MAX).expect("search");
        let expected = oracle(&records, &SearchFilter::default(), |m| m.any_has(word));
        prop_assert!(!expected.is_empty());
        prop_assert_eq!(got, expected);
    }
}
