//! Index policies that key some JSON paths: parsing, what they key, the filter member's path list,
//! and that filters rule out only what they keyed.

use crate::index::keys::Domain;
use crate::index::{ChunkFilter, ChunkFilters, Cond, IndexDoc, IndexPolicy, KeyWriter};

fn doc(value: &[u8]) -> IndexDoc<'_> {
    IndexDoc {
        offset: 0,
        timestamp: 0,
        key: Some(b"k-1"),
        value: Some(value),
        headers: vec![("trace", Some(b"abc".as_slice()))],
    }
}

#[test]
fn paths_policies_parse_canonically_and_refuse_what_is_not_a_path() {
    let p: IndexPolicy = " paths: user , value.country,user.id,user "
        .parse()
        .unwrap();
    assert_eq!(p.value_paths(), ["country", "user", "user.id"]);
    assert_eq!(p.to_string(), "paths:country,user,user.id");
    assert_eq!(p.to_string().parse::<IndexPolicy>().unwrap(), p);
    for bad in [
        "paths:",
        "paths:a..b",
        "paths:a,",
        "paths:.a",
        "paths:a\u{1}b",
    ] {
        let err = bad.parse::<IndexPolicy>().unwrap_err();
        assert!(err.contains("paths:"), "{bad}: {err}");
    }
    let many = (0..65)
        .map(|i| format!("p{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(format!("paths:{many}").parse::<IndexPolicy>().is_err());
    let long = format!("paths:{}", "a".repeat(257));
    assert!(long.parse::<IndexPolicy>().is_err());
    for named in ["full", "keys-and-headers", "none"] {
        assert_eq!(named.parse::<IndexPolicy>().unwrap().to_string(), named);
    }
}

#[test]
fn a_paths_policy_keys_keys_headers_and_the_leaves_at_and_below_its_paths() {
    let value =
        br#"{"user":{"id":7,"vip":true,"name":"ann"},"userx":"no","country":"ES","msg":"hello"}"#;
    let keys_of = |policy: IndexPolicy| {
        let mut w = KeyWriter::with_policy(policy);
        w.record(&doc(value));
        let mut out = w.out;
        out.sort_unstable();
        out.dedup();
        out
    };
    let full = keys_of(IndexPolicy::Full);
    let some = keys_of("paths:user".parse().unwrap());
    let headers_only = keys_of(IndexPolicy::KeysAndHeaders);
    assert!(some.iter().all(|k| full.binary_search(k).is_ok()));
    assert!(headers_only.iter().all(|k| some.binary_search(k).is_ok()));
    let has = |keys: &[u64], query: &str| {
        Cond::of(query)
            .unwrap()
            .holds(&|_, _, k| keys.binary_search(&k).is_ok())
    };
    // Under the path: strings, numbers, booleans; key and headers; nothing else.
    for query in [
        "value.user.name:ann",
        "value.user.id:7",
        "value.user.vip:true",
        "key:k",
        "headers.trace:abc",
    ] {
        assert!(has(&some, query), "{query}");
    }
    for query in [
        "value.userx:no",
        "value.country:ES",
        "value.msg:hello",
        "value:hello",
    ] {
        assert!(has(&full, query) && !has(&some, query), "{query}");
    }
}

#[test]
fn a_filter_of_some_paths_rules_out_only_keyed_paths_and_round_trips() {
    let policy: IndexPolicy = "paths:country".parse().unwrap();
    let mut w = KeyWriter::with_policy(policy.clone());
    w.record(&doc(br#"{"country":"ES","msg":"hello"}"#));
    let filters = ChunkFilters {
        chunks: vec![ChunkFilter::build(w.out).unwrap()],
        unkeyed: policy.unkeyed_mask(),
        paths: policy.value_paths().to_vec(),
    };
    let bytes = filters.encode();
    assert_eq!(bytes[4], 2, "a path list makes version 2");
    let decoded = ChunkFilters::decode(&bytes, 1).unwrap();
    assert_eq!(decoded.paths, ["country"]);
    let may = |query: &str| {
        Cond::of(query)
            .unwrap()
            .holds(&|d, path, k| decoded.may_hold(0, d, path, k))
    };
    assert!(may("value.country:ES"));
    assert!(!may("value.country:FR"), "a keyed path is ruled out");
    // Not keyed: may hold anything.
    for query in [
        "value.msg:absent",
        "value:absent",
        "absent",
        "value.city:absent",
    ] {
        assert!(may(query), "{query}");
    }
    assert!(decoded.may_hold(0, Domain::ValueRoot, "", 42));
    // Damage the path list's policy bit: refused, not misread.
    let mut wrong = bytes.clone();
    wrong[5] &= !8;
    let body = wrong.len() - 4;
    let crc = crc32c::crc32c(&wrong[..body]).to_le_bytes();
    wrong[body..].copy_from_slice(&crc);
    assert!(ChunkFilters::decode(&wrong, 1).is_err());
    // Without a path list the bytes are version 1, as before.
    let plain = ChunkFilters {
        paths: Vec::new(),
        unkeyed: 0,
        ..decoded
    };
    assert_eq!(plain.encode()[4], 1);
}
