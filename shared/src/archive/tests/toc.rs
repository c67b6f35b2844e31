//! TOC encoding size, exact layout, validation and lookups.

use super::*;

fn chunk(first: i64, last: i64, start: u64, end: u64) -> ChunkEntry {
    ChunkEntry {
        first_offset: first,
        last_offset: last,
        min_timestamp: 0,
        max_timestamp: 0,
        batch_count: 1,
        range: ByteRange::new(start, end),
        data_len: 1,
        crc32c: 0,
    }
}

fn member(name: &str, start: u64, end: u64) -> MemberEntry {
    MemberEntry {
        name: name.to_owned(),
        range: ByteRange::new(start, end),
        data_len: 1,
        crc32c: 0,
    }
}

/// The worked example of FORMATS-archive.md.
fn tiny_toc() -> Toc {
    Toc {
        chunks: vec![ChunkEntry {
            first_offset: 100,
            last_offset: 149,
            min_timestamp: 1_700_000_000_000,
            max_timestamp: 1_700_000_000_500,
            batch_count: 3,
            range: ByteRange::new(0, 1_200),
            data_len: 4_000,
            crc32c: 0xDEAD_BEEF,
        }],
        index_files: vec![MemberEntry {
            name: "index/meta.json".to_owned(),
            range: ByteRange::new(1_200, 1_350),
            data_len: 300,
            crc32c: 0x0102_0304,
        }],
        manifest: MemberEntry {
            name: "manifest.json".to_owned(),
            range: ByteRange::new(1_350, 1_500),
            data_len: 200,
            crc32c: 0xA1B2_C3D4,
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn worked_example_bytes_are_exact() {
    let bytes = tiny_toc().encode();
    let expected = "01 01 64 31 fd 00 d0 ca 9f 17 03 00 00 fb f4 01 03 00 fb b0 04 fb a0 0f ef be ad de \
                    01 0f 69 6e 64 65 78 2f 6d 65 74 61 2e 6a 73 6f 6e 00 96 fb 2c 01 04 03 02 01 \
                    0d 6d 61 6e 69 66 65 73 74 2e 6a 73 6f 6e 00 96 c8 d4 c3 b2 a1";
    assert_eq!(
        hex(&bytes),
        expected.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    assert_eq!(bytes.len(), 75);
    assert_eq!(Toc::decode(&bytes).unwrap(), tiny_toc());
}

#[test]
fn toc_for_512_chunks_is_small() {
    // A realistic 512 MiB segment: 1 MiB chunks of ~2000 records, offsets
    // past 2^32, millisecond timestamps, ~35% compressed members.
    let mut chunks = Vec::new();
    let (mut offset, mut ts, mut pos) = (5_000_000_000i64, 1_700_000_000_000i64, 0u64);
    for i in 0..512u64 {
        let records = 1_900 + (i * 37 % 300) as i64;
        let len = 360_000 + i * 7_919 % 20_000;
        chunks.push(ChunkEntry {
            first_offset: offset,
            last_offset: offset + records - 1,
            min_timestamp: ts,
            max_timestamp: ts + 4_000 + (i as i64 * 13 % 900),
            batch_count: 20 + (i % 7) as u32,
            range: ByteRange::new(pos, pos + len),
            data_len: (1 << 20) + i * 31 % 4_096,
            crc32c: (i as u32).wrapping_mul(0x9E37_79B9),
        });
        offset += records;
        ts += 3_700 + (i as i64 * 11 % 400);
        pos += len;
    }
    let index_files: Vec<MemberEntry> = (0..8)
        .map(|i| {
            member(
                &format!("index/{:032x}.idx", i * 0x1234_5678_9abc_u64),
                pos + i * 1_000,
                pos + (i + 1) * 1_000,
            )
        })
        .collect();
    let end = pos + 8_000;
    let toc = Toc {
        chunks,
        index_files,
        manifest: member(MANIFEST_NAME, end, end + 300),
    };
    toc.validate().unwrap();
    let bytes = toc.encode();
    let per_chunk = (bytes.len() - 8 * 60) as f64 / 512.0;
    eprintln!(
        "TOC of 512 chunks + 8 index files: {} bytes (~{per_chunk:.1} bytes/chunk)",
        bytes.len()
    );
    assert!(bytes.len() < 64 * 1024);
    assert!(per_chunk <= 40.0, "{per_chunk} bytes per chunk");
    assert_eq!(Toc::decode(&bytes).unwrap(), toc);
}

#[test]
fn chunks_from_edges() {
    let toc = Toc {
        chunks: vec![
            chunk(0, 9, 0, 10),
            chunk(20, 29, 10, 20),
            chunk(30, 30, 20, 30),
        ],
        index_files: vec![],
        manifest: member(MANIFEST_NAME, 30, 40),
    };
    let firsts = |o| toc.chunks_from(o).first().map(|c| c.first_offset);
    assert_eq!(firsts(i64::MIN), Some(0));
    assert_eq!(firsts(9), Some(0));
    assert_eq!(firsts(10), Some(20)); // in the gap: the next chunk
    assert_eq!(firsts(29), Some(20));
    assert_eq!(firsts(30), Some(30));
    assert_eq!(firsts(31), None);
    assert_eq!(toc.chunks_from(5).len(), 3);
}

#[test]
fn invalid_tocs_encode_but_do_not_decode() {
    let valid = || Toc {
        chunks: vec![chunk(0, 9, 0, 10), chunk(10, 19, 10, 20)],
        index_files: vec![member("index/a", 20, 30), member("index/b", 30, 40)],
        manifest: member(MANIFEST_NAME, 40, 50),
    };
    let mut cases: Vec<Toc> = Vec::new();
    let mut t = valid();
    t.chunks[1].first_offset = 9; // overlaps previous chunk
    cases.push(t);
    let mut t = valid();
    t.chunks[0].last_offset = -1;
    cases.push(t);
    let mut t = valid();
    t.chunks[0].min_timestamp = 1; // > max_timestamp
    cases.push(t);
    let mut t = valid();
    t.chunks[0].batch_count = 0;
    cases.push(t);
    let mut t = valid();
    t.chunks[1].range = ByteRange::new(5, 20); // overlaps previous member
    cases.push(t);
    let mut t = valid();
    t.index_files[1].name = "index/a".to_owned();
    cases.push(t);
    let mut t = valid();
    t.index_files[0].name = "meta.json".to_owned(); // missing index/ prefix
    cases.push(t);
    let mut t = valid();
    t.manifest.name = "other.json".to_owned();
    cases.push(t);
    let mut t = valid();
    t.manifest.range = ByteRange::new(50, 45);
    cases.push(t);
    assert_eq!(Toc::decode(&valid().encode()).unwrap(), valid());
    for (i, toc) in cases.iter().enumerate() {
        assert!(toc.validate().is_err(), "case {i} validates");
        assert!(
            matches!(Toc::decode(&toc.encode()), Err(ArchiveError::CorruptToc(_))),
            "case {i} decodes"
        );
    }
}

#[test]
fn extreme_values_round_trip() {
    let toc = Toc {
        chunks: vec![
            ChunkEntry {
                first_offset: 0,
                last_offset: i64::MAX - 1,
                min_timestamp: i64::MIN,
                max_timestamp: i64::MAX,
                batch_count: u32::MAX,
                range: ByteRange::new(0, u64::MAX - 1),
                data_len: u64::MAX,
                crc32c: u32::MAX,
            },
            ChunkEntry {
                first_offset: i64::MAX,
                last_offset: i64::MAX,
                min_timestamp: -1,
                max_timestamp: -1,
                batch_count: 1,
                range: ByteRange::new(u64::MAX - 1, u64::MAX),
                data_len: 0,
                crc32c: 0,
            },
        ],
        index_files: vec![],
        manifest: member(MANIFEST_NAME, u64::MAX, u64::MAX),
    };
    assert_eq!(Toc::decode(&toc.encode()).unwrap(), toc);
    let json = serde_json::to_string(&toc).unwrap();
    assert_eq!(serde_json::from_str::<Toc>(&json).unwrap(), toc);
}

#[test]
fn trailing_bytes_and_hostile_lengths_are_rejected() {
    let mut bytes = tiny_toc().encode();
    bytes.push(0);
    assert!(matches!(
        Toc::decode(&bytes),
        Err(ArchiveError::CorruptToc(_))
    ));
    // A chunk count of 2^64-1 must fail cleanly, not allocate.
    let hostile = [1u8, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        Toc::decode(&hostile),
        Err(ArchiveError::CorruptToc(_))
    ));
    assert!(matches!(Toc::decode(&[]), Err(ArchiveError::CorruptToc(_))));
}
