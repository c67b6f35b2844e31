//! Throughput and size measurements. Run with:
//! `cargo test --release measure -- --ignored --nocapture`

use std::time::Instant;

use super::super::{IndexBuilder, IndexDoc, IndexFiles, IndexReader, SearchFilter, merge};

const COUNTRIES: &[&str] = &["ES", "FR", "DE", "IT", "PT", "NL"];
const EVENTS: &[&str] = &["click", "view", "purchase", "signup", "logout"];

struct Event {
    key: Vec<u8>,
    value: Vec<u8>,
    trace: Option<Vec<u8>>,
}

/// `n` small JSON events (≈130-byte values, a key, optionally a unique 16-hex trace header).
fn events(n: usize, with_trace: bool) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            key: format!("user-{}", i % 10_000).into_bytes(),
            value: format!(
                r#"{{"user":{{"id":{},"plan":"pro"}},"country":"{}","event":"{}","msg":"session {} page {}","amount":{}.5}}"#,
                i % 10_000,
                COUNTRIES[i % COUNTRIES.len()],
                EVENTS[(i / 7) % EVENTS.len()],
                i / 13,
                i % 97,
                i % 500
            )
            .into_bytes(),
            trace: with_trace.then(|| {
                format!("{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).into_bytes()
            }),
        })
        .collect()
}

fn index(events: &[Event], first_offset: i64) -> IndexFiles {
    let mut builder = IndexBuilder::new().expect("builder");
    for (i, e) in events.iter().enumerate() {
        let offset = first_offset + i as i64;
        builder
            .add(&IndexDoc {
                offset,
                timestamp: 1_700_000_000_000 + offset,
                key: Some(&e.key),
                value: Some(&e.value),
                headers: e
                    .trace
                    .iter()
                    .map(|t| ("trace", Some(t.as_slice())))
                    .collect(),
            })
            .expect("add");
    }
    builder.finish().expect("finish")
}

#[test]
#[ignore = "measurement; run with --release -- --ignored --nocapture"]
fn measure_build_throughput() {
    let n = 100_000;
    for with_trace in [false, true] {
        let data = events(n, with_trace);
        let input: usize = data
            .iter()
            .map(|e| e.key.len() + e.value.len() + e.trace.as_ref().map_or(0, |t| 5 + t.len()))
            .sum();
        println!("--- {n} JSON events, unique trace header: {with_trace}");
        let start = Instant::now();
        let files = index(&data, 0);
        let secs = start.elapsed().as_secs_f64();
        let (mb, size) = (input as f64 / 1e6, files.total_bytes() as f64);
        println!(
            "build: {mb:.1} MB input in {secs:.2} s = {:.1} MB/s, {:.0} records/s",
            mb / secs,
            n as f64 / secs
        );
        println!(
            "index: {} files, {:.2} MB = {:.1}% of input",
            files.files.len(),
            size / 1e6,
            100.0 * size / input as f64
        );
        for (name, bytes) in &files.files {
            println!("  {name}: {} bytes", bytes.len());
        }
        let start = Instant::now();
        let reader = IndexReader::open(files.clone()).expect("open");
        println!(
            "open (incl. checksums): {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        for query in [
            "value.country:ES AND click",
            "value.user.id:42",
            "session",
            "\"page 42\"",
        ] {
            let start = Instant::now();
            let hits = reader
                .search(query, &SearchFilter::default(), 100)
                .expect(query);
            println!(
                "search {query:?}: {} hits (limit 100) in {:.2} ms",
                hits.len(),
                start.elapsed().as_secs_f64() * 1e3
            );
        }
        let start = Instant::now();
        let merged = merge(vec![files, index(&data, n as i64)]).expect("merge");
        println!(
            "merge 2 x {n} docs: {:.2} s (incl. building the 2nd), {:.2} MB",
            start.elapsed().as_secs_f64(),
            merged.total_bytes() as f64 / 1e6
        );
    }
}

/// Chunk filters of the bench corpora against the batches they describe (and the v1 index).
#[test]
#[ignore]
fn measure_chunk_filter_size() {
    use super::super::{ChunkFilter, ChunkFilters, record_keys};
    use crate::kafka::{Compression, RawBatch};
    use crate::synth::{SynthSpec, ValueShape};
    for codec in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let spec = SynthSpec {
            topic: "bench".parse().unwrap(),
            partitions: 1,
            records: 200_000,
            batch_records: 100,
            compression: codec,
            shape: ValueShape::Json,
            start_offset: 0,
            start_timestamp_ms: 1_700_000_000_000,
            seed: 1,
        };
        let batches = crate::synth::batches(&spec).unwrap();
        let started = Instant::now();
        let (mut filters, mut keys, mut chunk_bytes, mut batch_bytes) =
            (Vec::new(), Vec::new(), 0, 0);
        let mut keys_total = 0;
        for (_, bytes) in &batches {
            let batch = RawBatch::parse(bytes).unwrap();
            for r in batch.records().unwrap() {
                keys.extend(record_keys(&IndexDoc::of_record(&r, 0)));
            }
            chunk_bytes += bytes.len();
            batch_bytes += bytes.len();
            if chunk_bytes >= 256 << 10 {
                keys_total += keys.len();
                filters.push(ChunkFilter::build(std::mem::take(&mut keys)).unwrap());
                chunk_bytes = 0;
            }
        }
        keys_total += keys.len();
        filters.push(ChunkFilter::build(keys).unwrap());
        let encoded = ChunkFilters {
            chunks: filters,
            unkeyed: 0,
            paths: Vec::new(),
        }
        .encode();
        eprintln!(
            "{codec:?}: batches {batch_bytes} B, {keys_total} keys (with duplicates), filters {} B = {:.3} of the batches, built in {:.2} s",
            encoded.len(),
            encoded.len() as f64 / batch_bytes as f64,
            started.elapsed().as_secs_f64()
        );
    }
}
