//! Builder behaviour: chunking, determinism, input validation.

use super::*;

#[test]
fn chunking_rule() {
    let target = 1_000;
    let sizes = [300, 300, 300, 300, 50, 5_000, 10, 999, 1, 2_000, 400];
    let batches: Vec<Batch> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| Batch {
            first: 2 * i as i64,
            last: 2 * i as i64 + 1,
            min_ts: 0,
            max_ts: 0,
            bytes: gen_bytes(i as u64, size, false),
        })
        .collect();
    let (_, toc) = build(small_options(target), &batches, &[]);
    let got: Vec<(u32, u64)> = toc
        .chunks
        .iter()
        .map(|c| (c.batch_count, c.data_len))
        .collect();
    // 300*4 reaches 1000; the big 5000 first closes the 50 chunk; 10+999 reaches it;
    // 1 is closed by the 2000 batch; 400 stays open until finish.
    assert_eq!(
        got,
        vec![
            (4, 1_200),
            (1, 50),
            (1, 5_000),
            (2, 1_009),
            (1, 1),
            (1, 2_000),
            (1, 400)
        ]
    );
    assert_eq!(toc.chunks[2].first_offset, 10);
    assert_eq!(toc.chunks[2].last_offset, 11);
}

#[test]
fn zero_target_gives_one_chunk_per_batch() {
    let batches = simple_batches(5, 10, false);
    let (_, toc) = build(small_options(0), &batches, &[]);
    assert_eq!(toc.chunks.len(), 5);
    assert!(toc.chunks.iter().all(|c| c.batch_count == 1));
}

#[test]
fn chunk_metadata_aggregates_batches() {
    let batches = vec![
        Batch {
            first: 5,
            last: 9,
            min_ts: 100,
            max_ts: 200,
            bytes: vec![1; 10],
        },
        Batch {
            first: 12,
            last: 12,
            min_ts: 50,
            max_ts: 150,
            bytes: vec![2; 10],
        },
        Batch {
            first: 13,
            last: 20,
            min_ts: 120,
            max_ts: 300,
            bytes: vec![3; 10],
        },
    ];
    let (archive, toc) = build(small_options(1 << 20), &batches, &[]);
    let c = &toc.chunks[0];
    assert_eq!(
        (
            c.first_offset,
            c.last_offset,
            c.min_timestamp,
            c.max_timestamp
        ),
        (5, 20, 50, 300)
    );
    assert_eq!((c.batch_count, c.data_len), (3, 30));
    assert_eq!(c.range.start, 0);
    assert_eq!(
        c.crc32c,
        crc32c::crc32c(&read_chunk(fetch(&archive, c.range), c).unwrap())
    );
    assert_eq!(
        list_members(&archive).unwrap().members[0].name,
        "records/00000000000000000005.batches"
    );
}

#[test]
fn members_are_contiguous_and_canonical() {
    let (archive, toc) = build(
        small_options(3_000),
        &simple_batches(10, 900, false),
        &sample_index(),
    );
    let mut cursor = 0;
    let ranges = toc
        .chunks
        .iter()
        .map(|c| c.range)
        .chain(toc.index_files.iter().map(|m| m.range));
    for range in ranges.chain([toc.manifest.range]) {
        assert_eq!(range.start, cursor);
        assert_eq!(
            &archive[range.start as usize..][..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]
        );
        cursor = range.end;
    }
    let index = toc.index_range().unwrap();
    assert_eq!(
        index.len(),
        toc.index_files.iter().map(|m| m.range.len()).sum::<u64>()
    );
}

#[test]
fn deterministic_output() {
    let batches = simple_batches(8, 1_500, true);
    let one = build(small_options(4_000), &batches, &sample_index());
    let two = build(small_options(4_000), &batches, &sample_index());
    assert_eq!(one.0, two.0);
    assert_eq!(one.1, two.1);
}

#[test]
fn empty_archive_has_only_manifest() {
    let (archive, toc) = ArchiveBuilder::new(ArchiveOptions::default())
        .finish(b"{}")
        .unwrap();
    assert!(toc.chunks.is_empty() && toc.index_files.is_empty());
    assert_eq!(toc.index_range(), None);
    assert_eq!(toc.chunks_from(0), &[] as &[ChunkEntry]);
    let listing = list_members(&archive).unwrap();
    listing.check_toc(&toc).unwrap();
    assert_eq!(Toc::decode(&toc.encode()).unwrap(), toc);
}

#[test]
fn rejects_bad_batches() {
    let mut b = ArchiveBuilder::new(ArchiveOptions::default());
    let span = |first, last, bytes: &'static [u8]| BatchSpan {
        first_offset: first,
        last_offset: last,
        min_timestamp: 0,
        max_timestamp: 0,
        bytes,
        precompressed: false,
    };
    assert!(matches!(
        b.push_batch(span(0, 0, b"")),
        Err(ArchiveError::InvalidBatch(_))
    ));
    assert!(matches!(
        b.push_batch(span(-1, 0, b"x")),
        Err(ArchiveError::InvalidBatch(_))
    ));
    assert!(matches!(
        b.push_batch(span(5, 4, b"x")),
        Err(ArchiveError::InvalidBatch(_))
    ));
    let mut reversed_ts = span(0, 0, b"x");
    reversed_ts.min_timestamp = 2;
    assert!(matches!(
        b.push_batch(reversed_ts),
        Err(ArchiveError::InvalidBatch(_))
    ));
    b.push_batch(span(10, 19, b"x")).unwrap();
    for first in [0, 10, 19] {
        assert!(matches!(
            b.push_batch(span(first, 25, b"y")),
            Err(ArchiveError::OffsetsNotIncreasing { previous_last_offset: 19, first_offset: f }) if f == first
        ));
    }
    b.push_batch(span(20, 20, b"z")).unwrap();
    b.add_index_file("a", b"1").unwrap();
    assert!(matches!(
        b.push_batch(span(30, 30, b"x")),
        Err(ArchiveError::OutOfOrder(_))
    ));
    assert!(matches!(
        b.add_index_file("a", b"2"),
        Err(ArchiveError::DuplicateName(_))
    ));
    assert!(matches!(
        b.finish(b"{not json"),
        Err(ArchiveError::InvalidManifest(_))
    ));
}

#[test]
fn errors_leave_builder_usable() {
    let mut b = ArchiveBuilder::new(ArchiveOptions::default());
    let ok = Batch {
        first: 1,
        last: 1,
        min_ts: 0,
        max_ts: 0,
        bytes: b"ok".to_vec(),
    };
    b.push_batch(ok.span()).unwrap();
    assert!(b.push_batch(ok.span()).is_err());
    assert!(b.add_index_file("../x", b"").is_err());
    let (archive, toc) = b.finish(b"[]").unwrap();
    assert_eq!(toc.chunks.len(), 1);
    assert_eq!(
        read_chunk(fetch(&archive, toc.chunks[0].range), &toc.chunks[0]).unwrap(),
        b"ok"
    );
}

#[test]
fn index_name_rules() {
    let long_ok = "n".repeat(MAX_INDEX_NAME_LEN);
    for good in [
        "meta.json",
        ".managed.json",
        "a",
        "x.y-z_1",
        long_ok.as_str(),
    ] {
        validate_index_name(good).unwrap_or_else(|e| panic!("{good:?}: {e}"));
    }
    let too_long = "n".repeat(MAX_INDEX_NAME_LEN + 1);
    for bad in [
        "",
        ".",
        "..",
        "a..b",
        "a/b",
        "/a",
        "sp ace",
        "tab\t",
        "é",
        "nul\0",
        too_long.as_str(),
    ] {
        assert!(
            matches!(validate_index_name(bad), Err(ArchiveError::InvalidName(_))),
            "{bad:?}"
        );
    }
    assert_eq!(index_member_name("meta.json").unwrap(), "index/meta.json");
    assert_eq!(
        chunk_member_name(42),
        "records/00000000000000000042.batches"
    );
    assert_eq!(
        chunk_member_name(i64::MAX),
        "records/09223372036854775807.batches"
    );
}
