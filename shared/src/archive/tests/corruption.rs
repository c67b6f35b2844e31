//! Corruption and truncation: always an error, never a panic or wrong data.

use super::*;

/// Small archives whose members are each at most a few hundred bytes:
/// compressible data (dynamic Huffman blocks), noise (stored blocks), level 0.
fn small_archives() -> Vec<(Vec<u8>, Toc)> {
    let index = vec![
        ("meta.json".to_owned(), br#"{"a":1}"#.to_vec()),
        ("x.idx".to_owned(), gen_bytes(5, 300, false)),
    ];
    let mut out = Vec::new();
    for (repetitive, level) in [(true, 6), (false, 6), (true, 0)] {
        let options = ArchiveOptions {
            chunk_target_bytes: 200,
            compression_level: level,
            precompressed_level: level,
            index_level: level,
            mtime: 0,
        };
        out.push(build(options, &simple_batches(4, 150, repetitive), &index));
    }
    out
}

/// A TOC-checked reader of one member.
type Reader = Box<dyn Fn(&[u8]) -> Result<Vec<u8>, ArchiveError>>;

/// Every member of an archive with its clean data and its TOC-checked
/// reader: chunks via read_chunk, files via read_entry.
fn checked_members(archive: &[u8], toc: &Toc) -> Vec<(ByteRange, Vec<u8>, Reader)> {
    let mut out: Vec<(ByteRange, Vec<u8>, Reader)> = Vec::new();
    for c in toc.chunks.clone() {
        let good = read_chunk(fetch(archive, c.range), &c).expect("clean chunk");
        out.push((c.range, good, Box::new(move |m| read_chunk(m, &c))));
    }
    for m in toc.index_files.iter().chain([&toc.manifest]).cloned() {
        let good = read_entry(fetch(archive, m.range), &m).expect("clean member");
        out.push((m.range, good, Box::new(move |b| read_entry(b, &m))));
    }
    out
}

/// Every flip is an error, except — for the TOC-checked readers, which verify the data against
/// the TOC's CRC-32C instead of recomputing the gzip CRC-32 — a flip of the gzip CRC-32 field
/// itself: then the data, intact, is returned.
#[test]
fn every_byte_flip_in_a_member_is_an_error() {
    for (archive, toc) in small_archives() {
        for (range, good, read) in checked_members(&archive, &toc) {
            let mut member = fetch(&archive, range).to_vec();
            let crc_field = member.len() - 8..member.len() - 4;
            for i in 0..member.len() {
                member[i] ^= 0xff;
                match read(&member) {
                    Err(_) => {}
                    Ok(data) if crc_field.contains(&i) => assert_eq!(data, good),
                    Ok(_) => panic!("flip of byte {i} in member at {} undetected", range.start),
                }
                assert!(
                    read_member(&member).is_err(),
                    "read_member: flip of byte {i} undetected"
                );
                member[i] ^= 0xff;
            }
        }
    }
}

#[test]
fn single_bit_flips_never_return_wrong_data() {
    let (mut total, mut harmless) = (0usize, 0usize);
    for (archive, toc) in small_archives() {
        for (range, good, read) in checked_members(&archive, &toc) {
            let mut member = fetch(&archive, range).to_vec();
            for i in 0..member.len() * 8 {
                member[i / 8] ^= 1 << (i % 8);
                total += 1;
                if let Ok(data) = read(&member) {
                    // Only bits that deflate ignores (block padding) can go unnoticed.
                    assert_eq!(
                        data, good,
                        "bit {i} of member at {} returned wrong data",
                        range.start
                    );
                    harmless += 1;
                }
                member[i / 8] ^= 1 << (i % 8);
            }
        }
    }
    eprintln!(
        "single-bit flips: {total} tried, {harmless} ignored by deflate (same data returned)"
    );
    assert!(
        harmless * 100 < total,
        "too many undetected flips: {harmless}/{total}"
    );
}

#[test]
fn every_truncation_or_extension_of_a_member_is_an_error() {
    for (archive, toc) in small_archives() {
        for (range, _, read) in checked_members(&archive, &toc) {
            let member = fetch(&archive, range);
            for len in 0..member.len() {
                assert!(
                    read(&member[..len]).is_err(),
                    "truncation to {len} accepted"
                );
                assert!(
                    read_member(&member[..len]).is_err(),
                    "read_member: truncation to {len} accepted"
                );
                assert!(
                    read(&member[len..]).is_err() || len == 0,
                    "suffix from {len} accepted"
                );
            }
            let mut longer = member.to_vec();
            longer.push(0);
            assert!(read(&longer).is_err());
            assert!(read_member(&longer).is_err());
        }
    }
}

#[test]
fn whole_archive_walk_rejects_any_flip_or_truncation() {
    let (archive, _) = small_archives().swap_remove(0);
    for len in 0..archive.len() {
        assert!(
            list_members(&archive[..len]).is_err(),
            "truncation to {len} accepted"
        );
    }
    let mut extended = archive.clone();
    extended.push(0);
    assert!(list_members(&extended).is_err());
    let mut copy = archive.clone();
    for i in 0..copy.len() {
        copy[i] ^= 0xff;
        assert!(list_members(&copy).is_err(), "flip of byte {i} accepted");
        copy[i] ^= 0xff;
    }
}

#[test]
fn bad_gzip_or_tar_framing_is_rejected() {
    let (archive, toc) = small_archives().swap_remove(0);
    let good = fetch(&archive, toc.manifest.range);
    // The same tar entry framed by a non-canonical (but valid) gzip header.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let (name, data) = read_member(good).unwrap();
    let mut entry = super::super::tarhdr::build(&name, data.len() as u64, 0)
        .unwrap()
        .to_vec();
    entry.extend(&data);
    entry.resize(entry.len().div_ceil(512) * 512, 0);
    std::io::Write::write_all(&mut gz, &entry).unwrap();
    let other = gz.finish().unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&other[..]), &mut plain).unwrap();
    assert_eq!(plain, entry, "a valid gzip member for gzip itself");
    assert!(matches!(
        read_member(&other),
        Err(ArchiveError::CorruptMember { .. })
    ));
}

#[test]
fn toc_decode_survives_every_truncation_and_bit_flip() {
    let (_, toc) = small_archives().swap_remove(0);
    let bytes = toc.encode();
    assert_eq!(Toc::decode(&bytes).unwrap(), toc);
    for len in 0..bytes.len() {
        assert!(
            Toc::decode(&bytes[..len]).is_err(),
            "truncation to {len} accepted"
        );
    }
    let mut copy = bytes.clone();
    for i in 0..copy.len() * 8 {
        copy[i / 8] ^= 1 << (i % 8);
        if let Ok(decoded) = Toc::decode(&copy) {
            decoded.validate().expect("decode only returns valid TOCs");
            assert_ne!(decoded, toc, "bit {i} flipped but same TOC");
        }
        copy[i / 8] ^= 1 << (i % 8);
    }
    for version in [0u8, 2, 255] {
        let mut other = bytes.clone();
        other[0] = version;
        assert!(
            matches!(Toc::decode(&other), Err(ArchiveError::UnsupportedVersion(v)) if v == version)
        );
    }
}
