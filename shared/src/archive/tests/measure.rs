//! Compression measurements (run with `--ignored --nocapture`, ideally in release).

use super::*;

/// Log-like JSON lines with random field values: the typical Kafka payload.
fn json_lines(seed: u64, len: usize) -> Vec<u8> {
    let noise = gen_bytes(seed, len / 8 + 64, false);
    let mut out = Vec::with_capacity(len + 200);
    let mut i = 0usize;
    while out.len() < len {
        let r = |k: usize| u64::from(noise[(i * 7 + k) % noise.len()]);
        let line = format!(
            "{{\"ts\":{},\"user\":\"u{:05}\",\"amount\":{}.{:02},\"status\":\"{}\",\"region\":\"eu-{}\"}}\n",
            1_700_000_000_000u64 + i as u64 * 13 + r(0),
            r(1) * 256 + r(2),
            r(3) * 4,
            r(4) % 100,
            ["OK", "FAILED", "PENDING"][(r(5) % 3) as usize],
            r(6) % 4,
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// Makes one batch of `len` bytes from a seed.
type Generator = fn(u64, usize) -> Vec<u8>;

#[test]
#[ignore = "measurement; run explicitly"]
fn measure_compression() {
    let total = 8 << 20;
    let batch = 16 << 10;
    let noise = |s: u64, n: usize| gen_bytes(s, n, false);
    let repetitive = |s: u64, n: usize| gen_bytes(s, n, true);
    let kinds: [(&str, Generator); 3] = [
        ("random bytes", noise),
        ("json lines (random values)", json_lines),
        ("repetitive", repetitive),
    ];
    for (label, make) in kinds {
        for level in [1u32, 6, 9] {
            let batches: Vec<Batch> = (0..total / batch)
                .map(|i| Batch {
                    first: i as i64,
                    last: i as i64,
                    min_ts: 0,
                    max_ts: 0,
                    bytes: make(i as u64, batch),
                })
                .collect();
            let options = ArchiveOptions {
                compression_level: level,
                ..ArchiveOptions::default()
            };
            let started = std::time::Instant::now();
            let (archive, toc) = build(options, &batches, &[]);
            let took = started.elapsed();
            let started = std::time::Instant::now();
            for c in &toc.chunks {
                read_chunk(fetch(&archive, c.range), c).expect("read_chunk");
            }
            let read_took = started.elapsed();
            eprintln!(
                "{label:28} level {level}: {total} -> {} bytes ({:.4}x), {} chunks, TOC {} bytes, write {:.0} MB/s, read {:.0} MB/s",
                archive.len(),
                archive.len() as f64 / total as f64,
                toc.chunks.len(),
                toc.encode().len(),
                total as f64 / took.as_secs_f64() / 1e6,
                total as f64 / read_took.as_secs_f64() / 1e6,
            );
        }
    }
}
