//! Reading members back: ranged reads, TOC checks, listings.

use super::*;

#[test]
fn round_trip_chunks_index_and_manifest() {
    let batches = simple_batches(20, 700, true);
    let index = sample_index();
    let (archive, toc) = build(small_options(2_000), &batches, &index);

    let mut all = Vec::new();
    for chunk in &toc.chunks {
        all.extend(read_chunk(fetch(&archive, chunk.range), chunk).expect("read_chunk"));
    }
    let expected: Vec<u8> = batches.iter().flat_map(|b| b.bytes.clone()).collect();
    assert_eq!(all, expected);

    let range = toc.index_range().expect("index range");
    let files = read_members(
        fetch(&archive, range),
        toc.index_files.iter().map(|m| m.range),
        range.start,
    )
    .expect("read_members");
    let names: Vec<String> = index.iter().map(|(n, _)| format!("index/{n}")).collect();
    assert_eq!(
        files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        names
    );
    for ((_, got), (_, want)) in files.iter().zip(&index) {
        assert_eq!(got, want);
    }
    for entry in &toc.index_files {
        read_entry(fetch(&archive, entry.range), entry).expect("read_entry");
    }
    let manifest =
        read_entry(fetch(&archive, toc.manifest.range), &toc.manifest).expect("manifest");
    assert_eq!(manifest, MANIFEST);

    let listing = list_members(&archive).expect("list_members");
    listing.check_toc(&toc).expect("listing matches TOC");
    assert_eq!(listing.end_of_archive.end, archive.len() as u64);
    assert_eq!(listing.end_of_archive.start, toc.members_end());
}

#[test]
fn read_members_rejects_ranges_outside_buffer() {
    let (archive, toc) = build(
        small_options(1_000),
        &simple_batches(3, 100, true),
        &sample_index(),
    );
    let range = toc.index_range().unwrap();
    let buf = fetch(&archive, range);
    let before = ByteRange::new(range.start - 1, range.start + 10);
    let after = ByteRange::new(range.end - 10, range.end + 1);
    for bad in [
        before,
        after,
        ByteRange::new(range.start + 5, range.start + 1),
    ] {
        assert!(matches!(
            read_members(buf, [bad], range.start),
            Err(ArchiveError::RangeOutOfBounds { .. })
        ));
    }
    // A range that is inside the buffer but not a member boundary is corrupt, not a panic.
    let misaligned = ByteRange::new(range.start + 1, toc.index_files[0].range.end);
    assert!(read_members(buf, [misaligned], range.start).is_err());
}

#[test]
fn read_chunk_checks_entry() {
    let (archive, toc) = build(small_options(500), &simple_batches(4, 500, true), &[]);
    let (c0, c1) = (&toc.chunks[0], &toc.chunks[1]);
    let m0 = fetch(&archive, c0.range);
    let mut wrong = c0.clone();
    wrong.crc32c ^= 1;
    assert!(matches!(
        read_chunk(m0, &wrong),
        Err(ArchiveError::ChecksumMismatch { .. })
    ));
    let mut wrong = c0.clone();
    wrong.data_len += 1;
    assert!(matches!(
        read_chunk(m0, &wrong),
        Err(ArchiveError::LengthMismatch { .. })
    ));
    let mut wrong = c1.clone();
    wrong.range = c0.range;
    assert!(matches!(
        read_chunk(m0, &wrong),
        Err(ArchiveError::NameMismatch { .. })
    ));
    // The member of another chunk, or the end-of-archive member, is never accepted.
    assert!(read_chunk(fetch(&archive, c1.range), c0).is_err());
    let eoa = list_members(&archive).unwrap().end_of_archive;
    assert!(read_member(fetch(&archive, eoa)).is_err());
    // Two members at once are rejected by read_member.
    assert!(
        read_member(fetch(
            &archive,
            ByteRange::new(c0.range.start, c1.range.end)
        ))
        .is_err()
    );
}

#[test]
fn byte_range_helpers() {
    let r = ByteRange::new(10, 20);
    assert_eq!((r.len(), r.is_empty()), (10, false));
    assert_eq!(r.http_range().as_deref(), Some("bytes=10-19"));
    assert!(ByteRange::new(5, 5).http_range().is_none());
    assert_eq!(ByteRange::new(9, 3).len(), 0);
    let buf: Vec<u8> = (0..30).collect();
    assert_eq!(r.slice_of(&buf[5..], 5).unwrap(), &buf[10..20]);
    assert!(r.slice_of(&buf[11..], 11).is_err());
    assert!(
        ByteRange::new(u64::MAX - 1, u64::MAX)
            .slice_of(&buf, 0)
            .is_err()
    );
}

/// `read_chunk_into` appends exactly what `read_chunk` returns, for stored members (level 0,
/// read from the block payloads, chunks over 64 KiB span several stored blocks) and deflated
/// ones alike, and leaves the buffer as it was when the member is bad.
#[test]
fn read_chunk_into_appends_or_leaves_the_buffer_alone() {
    for level in [0, 6] {
        let options = ArchiveOptions {
            compression_level: level,
            precompressed_level: level,
            ..small_options(200_000)
        };
        let batches = simple_batches(6, 70_000, level == 6);
        let (archive, toc) = build(options, &batches, &sample_index());
        let mut out = b"prefix".to_vec();
        let mut want = out.clone();
        for c in &toc.chunks {
            read_chunk_into(fetch(&archive, c.range), c, &mut out).expect("clean chunk");
            want.extend(read_chunk(fetch(&archive, c.range), c).expect("clean chunk"));
        }
        assert_eq!(out, want, "level {level}");
        let all: Vec<u8> = batches.iter().flat_map(|b| b.bytes.clone()).collect();
        assert_eq!(&out[6..], &all[..], "level {level}: the original batches");

        let c = &toc.chunks[0];
        let mut member = fetch(&archive, c.range).to_vec();
        let middle = member.len() / 2;
        member[middle] ^= 0x40;
        let before = out.clone();
        assert!(
            read_chunk_into(&member, c, &mut out).is_err(),
            "level {level}"
        );
        assert_eq!(out, before, "level {level}: nothing appended");
    }
}
