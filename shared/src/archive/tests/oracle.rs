//! Property test: random batch sequences against a brute-force oracle.

use proptest::prelude::*;

use super::*;

/// (size, offset gap, offset span, timestamp delta, timestamp span, repetitive)
type BatchShape = (usize, i64, i64, i64, i64, bool);

fn batches_from(shapes: &[BatchShape], seed: u64) -> Vec<Batch> {
    let (mut next, mut ts) = (0i64, 1_700_000_000_000i64);
    shapes
        .iter()
        .enumerate()
        .map(|(i, &(size, gap, span, ts_delta, ts_span, repetitive))| {
            let first = next + gap;
            next = first + span + 1;
            ts += ts_delta;
            let bytes = gen_bytes(seed.wrapping_add(i as u64), size, repetitive);
            Batch {
                first,
                last: first + span,
                min_ts: ts,
                max_ts: ts + ts_span,
                bytes,
            }
        })
        .collect()
}

fn shape() -> impl Strategy<Value = BatchShape> {
    (
        1usize..300_000,
        0i64..5,
        0i64..100,
        -1_000i64..1_000,
        0i64..500,
        any::<bool>(),
    )
}

/// Checks the chunking rule for one chunk's batch sizes.
fn check_chunk_rule(sizes: &[usize], target: usize, next_batch: Option<usize>, is_last: bool) {
    let (last, before) = sizes.split_last().expect("chunk holds at least one batch");
    assert!(
        before.iter().sum::<usize>() < target || before.is_empty(),
        "closed too late: {sizes:?}"
    );
    if sizes.len() > 1 {
        assert!(
            sizes.iter().all(|&s| s < target),
            "big batch not alone: {sizes:?}"
        );
    }
    let total = before.iter().sum::<usize>() + last;
    if !is_last {
        assert!(
            total >= target || next_batch.is_some_and(|n| n >= target),
            "closed too early: {sizes:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn archive_matches_oracle(
        shapes in prop::collection::vec(shape(), 1..16),
        index_sizes in prop::collection::vec(0usize..20_000, 0..4),
        target in 1usize..600_000,
        level in prop::sample::select(vec![0u32, 1, 6]),
        seed in any::<u64>(),
    ) {
        let batches = batches_from(&shapes, seed);
        let index: Vec<(String, Vec<u8>)> = index_sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (format!("seg{i}.idx"), gen_bytes(seed ^ i as u64, n, i % 2 == 0)))
            .collect();
        let options = ArchiveOptions {
            chunk_target_bytes: target,
            compression_level: level,
            precompressed_level: 6 - level.min(6),
            index_level: level,
            mtime: 1_700_000_000,
        };
        let (archive, toc) = build(options, &batches, &index);

        // Every chunk holds exactly the batches in its offset range, in order.
        let mut seen = 0usize;
        for (i, chunk) in toc.chunks.iter().enumerate() {
            let data = read_chunk(fetch(&archive, chunk.range), chunk).expect("read_chunk");
            let members: Vec<&Batch> = batches
                .iter()
                .filter(|b| b.first >= chunk.first_offset && b.last <= chunk.last_offset)
                .collect();
            let expected: Vec<u8> = members.iter().flat_map(|b| b.bytes.iter().copied()).collect();
            prop_assert_eq!(&data, &expected);
            prop_assert_eq!(members.len(), chunk.batch_count as usize);
            prop_assert_eq!(members[0].first, chunk.first_offset);
            prop_assert_eq!(members[members.len() - 1].last, chunk.last_offset);
            prop_assert_eq!(chunk.min_timestamp, members.iter().map(|b| b.min_ts).min().unwrap());
            prop_assert_eq!(chunk.max_timestamp, members.iter().map(|b| b.max_ts).max().unwrap());
            let sizes: Vec<usize> = members.iter().map(|b| b.bytes.len()).collect();
            let next = batches.get(seen + members.len()).map(|b| b.bytes.len());
            check_chunk_rule(&sizes, target, next, i + 1 == toc.chunks.len());
            seen += members.len();
        }
        prop_assert_eq!(seen, batches.len());

        // chunks_from agrees with a linear scan.
        let mut probes = vec![i64::MIN, -1, 0, i64::MAX];
        for b in &batches {
            probes.extend([b.first - 1, b.first, b.last, b.last + 1]);
        }
        for offset in probes {
            let first = toc.chunks.iter().position(|c| c.last_offset >= offset).unwrap_or(toc.chunks.len());
            prop_assert_eq!(toc.chunks_from(offset), &toc.chunks[first..]);
        }

        // Index files come back from one read of index_range.
        if let Some(range) = toc.index_range() {
            let files = read_members(fetch(&archive, range), toc.index_files.iter().map(|m| m.range), range.start)
                .expect("read_members");
            let want: Vec<(String, Vec<u8>)> =
                index.iter().map(|(n, d)| (format!("index/{n}"), d.clone())).collect();
            prop_assert_eq!(files, want);
        } else {
            prop_assert!(index.is_empty());
        }

        prop_assert_eq!(Toc::decode(&toc.encode()).expect("decode"), toc.clone());
        list_members(&archive).expect("list_members").check_toc(&toc).expect("check_toc");
    }

    #[test]
    fn toc_decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = Toc::decode(&bytes);
        let mut versioned = bytes;
        versioned.insert(0, Toc::VERSION);
        let _ = Toc::decode(&versioned);
    }

    #[test]
    fn readers_never_panic_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        let _ = read_member(&bytes);
        let _ = list_members(&bytes);
        let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        framed.extend(bytes);
        prop_assert!(read_member(&framed).is_err());
        prop_assert!(list_members(&framed).is_err());
    }
}
