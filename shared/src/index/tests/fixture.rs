//! Deterministic test records and a brute-force oracle that answers the same questions as the
//! index by scanning the records.

use std::collections::BTreeMap;

use super::super::{Hit, IndexBuilder, IndexDoc, IndexFiles, SearchFilter};

pub const WORDS: &[&str] = &[
    "hello", "world", "quick", "brown", "fox", "lazy", "dog", "kafka", "tier", "chronik",
];
const COUNTRIES: &[&str] = &["ES", "FR", "DE", "IT"];

/// An owned record; `doc()` borrows it as an [`IndexDoc`].
#[derive(Clone, Debug)]
pub struct Record {
    pub offset: i64,
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Record {
    pub fn doc(&self) -> IndexDoc<'_> {
        IndexDoc {
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect(),
        }
    }
}

/// Small deterministic pseudo-random generator (no dependency, stable across runs).
pub struct Lcg(u64);
impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(6364136223846793005).wrapping_add(1))
    }
    pub fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % bound as u64) as usize
    }
    pub fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.next(WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `n` records with offsets `first..first + n` and a mix of JSON, plain-text, null and binary
/// values, keys and headers.
pub fn records(first: i64, n: usize) -> Vec<Record> {
    let mut rng = Lcg::new(first as u64 + n as u64);
    (0..n)
        .map(|i| {
            let offset = first + i as i64;
            let key = match i % 17 {
                0 => None,
                1 => Some(vec![0xff, 0xfe, b'k', b'b', b'i', b'n']),
                _ => Some(format!("k{}", offset % 50).into_bytes()),
            };
            let value = match i % 6 {
                0 | 4 => Some(
                    format!(
                        r#"{{"country":"{}","user":{{"id":{}}},"msg":"{}","ok":{}}}"#,
                        COUNTRIES[rng.next(COUNTRIES.len())],
                        offset % 100,
                        rng.words(3),
                        i % 2 == 0
                    )
                    .into_bytes(),
                ),
                1 => Some(format!("Plain {} text", rng.words(4)).into_bytes()),
                2 => None,
                3 => {
                    let mut v = vec![0xc3, 0x28, 0xff];
                    v.extend_from_slice(rng.words(2).as_bytes());
                    v.push(0x80);
                    Some(v)
                }
                _ => Some(
                    format!(
                        r#"{{"tags":["{}","x"],"nested":{{"deep":{{"n":7}}}}}}"#,
                        rng.words(1)
                    )
                    .into_bytes(),
                ),
            };
            let mut headers = Vec::new();
            if i % 3 == 0 {
                let trace = if i % 2 == 0 { "abc" } else { "xyz-abc" };
                headers.push(("trace".to_owned(), Some(trace.as_bytes().to_vec())));
            }
            if i % 7 == 0 {
                headers.push(("source".to_owned(), None));
            }
            if i % 11 == 0 {
                headers.push(("tag".to_owned(), Some(rng.words(1).into_bytes())));
                headers.push(("tag".to_owned(), Some(b"second".to_vec())));
            }
            Record {
                offset,
                // Not monotonic in offset, to tell the two orders apart.
                timestamp: 1_700_000_000_000 + ((i * 7919) % n) as i64 * 1000,
                key,
                value,
                headers,
            }
        })
        .collect()
}

/// Builds an index over `records`, adding them in a scrambled order.
pub fn build(records: &[Record]) -> IndexFiles {
    let mut builder = IndexBuilder::new().expect("builder");
    // Even positions first, then odd ones: doc ids do not follow offsets.
    let scrambled = records
        .iter()
        .step_by(2)
        .chain(records.iter().skip(1).step_by(2));
    for record in scrambled {
        builder.add(&record.doc()).expect("add");
    }
    builder.finish().expect("finish")
}

/// Tokens as produced by the index analyzer: alphanumeric runs, lowercased, ≤ 128 bytes.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty() && t.len() <= 128)
        .map(str::to_lowercase)
        .collect()
}

/// What the oracle knows about one record: every indexed text unit, split by where it lives.
#[derive(Debug, Default)]
pub struct Model {
    pub key: Vec<String>,
    pub value_root: Vec<Vec<String>>,
    pub value_paths: BTreeMap<String, Vec<serde_json::Value>>,
    pub header_root: Vec<Vec<String>>,
    pub header_paths: BTreeMap<String, Vec<Vec<String>>>,
}

fn leaves(prefix: &str, v: &serde_json::Value, m: &mut Model) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&path, v, m);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| leaves(prefix, v, m)),
        serde_json::Value::Null => {}
        leaf => {
            let text = match leaf {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            m.value_root.push(tokens(&text));
            m.value_paths
                .entry(prefix.to_owned())
                .or_default()
                .push(leaf.clone());
        }
    }
}

pub fn model(r: &Record) -> Model {
    let mut m = Model::default();
    if let Some(k) = &r.key {
        m.key = tokens(&String::from_utf8_lossy(k));
    }
    if let Some(v) = &r.value {
        match serde_json::from_slice::<serde_json::Value>(v) {
            Ok(obj @ serde_json::Value::Object(_)) => leaves("", &obj, &mut m),
            _ => m.value_root.push(tokens(&String::from_utf8_lossy(v))),
        }
    }
    for (name, value) in &r.headers {
        if let Some(value) = value {
            let t = tokens(&String::from_utf8_lossy(value));
            m.header_root.push(t.clone());
            m.header_paths.entry(name.clone()).or_default().push(t);
        }
    }
    m
}

impl Model {
    pub fn value_has(&self, word: &str) -> bool {
        self.value_root.iter().any(|t| t.iter().any(|x| x == word))
    }
    pub fn any_has(&self, word: &str) -> bool {
        self.key.iter().any(|x| x == word)
            || self.value_has(word)
            || self.header_root.iter().any(|t| t.iter().any(|x| x == word))
    }
    /// String leaf at `path` containing token `word`, or number/bool leaf equal to `word`.
    pub fn path_has(&self, path: &str, word: &str) -> bool {
        self.value_paths.get(path).is_some_and(|vals| {
            vals.iter().any(|v| match v {
                serde_json::Value::String(s) => tokens(s).iter().any(|x| x == word),
                scalar => {
                    serde_json::from_str::<serde_json::Value>(word).is_ok_and(|w| w == *scalar)
                }
            })
        })
    }
    pub fn header_has(&self, name: &str, word: &str) -> bool {
        self.header_paths
            .get(name)
            .is_some_and(|vals| vals.iter().any(|t| t.iter().any(|x| x == word)))
    }
    /// Consecutive tokens inside one text unit (key, one value leaf, one header value).
    pub fn phrase(&self, words: &[&str]) -> bool {
        let hit = |t: &Vec<String>| {
            t.windows(words.len())
                .any(|w| w.iter().zip(words).all(|(a, b)| a == b))
        };
        hit(&self.key) || self.value_root.iter().any(hit) || self.header_root.iter().any(hit)
    }
}

/// Offsets (ascending) of records satisfying `pred` and `filter`.
pub fn oracle(
    records: &[Record],
    filter: &SearchFilter,
    pred: impl Fn(&Model) -> bool,
) -> Vec<Hit> {
    let mut hits: Vec<Hit> = records
        .iter()
        .filter(|r| {
            filter
                .offsets
                .as_ref()
                .is_none_or(|o| o.contains(&r.offset))
        })
        .filter(|r| {
            filter
                .timestamps
                .as_ref()
                .is_none_or(|t| t.contains(&r.timestamp))
        })
        .filter(|r| pred(&model(r)))
        .map(|r| Hit {
            offset: r.offset,
            timestamp: r.timestamp,
        })
        .collect();
    hits.sort();
    hits
}
