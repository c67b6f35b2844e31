use proptest::prelude::*;

use super::*;

fn record(topic: &str, partition: u32, base: i64, n: u32, batch: Vec<u8>) -> CanonicalRecord {
    CanonicalRecord {
        topic: topic.into(),
        partition,
        base_offset: base,
        last_offset: base + i64::from(n) - 1,
        record_count: n,
        min_timestamp: 1_700_000_000_000 + base,
        max_timestamp: 1_700_000_000_000 + base + 5,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        attributes: 0,
        batch,
    }
}

fn sample() -> (Vec<CanonicalRecord>, Vec<u8>) {
    let records = vec![
        record("a", 0, 0, 3, vec![1, 2, 3]),
        record("b", 1, 10, 2, vec![4; 40]),
        record("a", 0, 3, 1, vec![]),
    ];
    let mut w = WalWriter::new();
    for r in &records {
        w.append(r).unwrap();
    }
    (records, w.seal().unwrap())
}

#[test]
fn round_trip_with_footer_summary() {
    let (records, bytes) = sample();
    let seg = WalSegment::parse(&bytes).unwrap();
    assert_eq!(seg.records, records);
    assert_eq!(seg.footer.frame_count, 3);
    assert_eq!(seg.footer.partitions.len(), 2);
    let a = &seg.footer.partitions[0];
    assert_eq!(
        (a.first_offset, a.last_offset, a.batch_count, a.record_count),
        (0, 3, 2, 4)
    );
}

#[test]
fn unsealed_segment_is_rejected() {
    let mut w = WalWriter::new();
    w.append(&record("a", 0, 0, 1, vec![9])).unwrap();
    assert_eq!(
        WalSegment::parse(w.unsealed_bytes()),
        Err(WalError::NotSealed)
    );
}

#[test]
fn every_truncation_is_rejected() {
    let (_, bytes) = sample();
    for len in 0..bytes.len() {
        assert!(
            WalSegment::parse(&bytes[..len]).is_err(),
            "prefix of {len} bytes accepted"
        );
    }
}

#[test]
fn every_flipped_bit_is_detected() {
    let (_, bytes) = sample();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut bad = bytes.clone();
            bad[i] ^= 1 << bit;
            assert!(
                WalSegment::parse(&bad).is_err(),
                "flip of bit {bit} at byte {i} accepted"
            );
        }
    }
}

#[test]
fn specific_errors_name_the_problem() {
    let (_, bytes) = sample();
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(
        WalSegment::parse(&bad),
        Err(WalError::BadMagic(_))
    ));
    let mut bad = bytes.clone();
    bad[8] = 2;
    assert!(matches!(
        WalSegment::parse(&bad),
        Err(WalError::UnsupportedVersion {
            what: "file",
            version: 2
        })
    ));
    let mut bad = bytes.clone();
    bad[30] ^= 0xff; // inside the first frame's payload
    assert!(matches!(
        WalSegment::parse(&bad),
        Err(WalError::CrcMismatch { what: "frame", .. })
    ));
}

#[test]
fn offsets_must_increase_per_partition() {
    let mut w = WalWriter::new();
    w.append(&record("a", 0, 5, 2, vec![])).unwrap();
    assert!(matches!(
        w.append(&record("a", 0, 6, 1, vec![])),
        Err(WalError::Malformed { .. })
    ));
}

proptest! {
    #[test]
    fn arbitrary_segments_round_trip(
        parts in proptest::collection::vec((0u32..3, 1u32..5, proptest::collection::vec(any::<u8>(), 0..64)), 0..20)
    ) {
        let mut next = [0i64; 3];
        let mut w = WalWriter::new();
        let mut expected = Vec::new();
        for (p, n, batch) in parts {
            let r = record("topic", p, next[p as usize], n, batch);
            next[p as usize] += i64::from(n) + 1;
            w.append(&r).unwrap();
            expected.push(r);
        }
        let bytes = w.seal().unwrap();
        prop_assert_eq!(WalSegment::parse(&bytes).unwrap().records, expected);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut prefixed = HEADER_MAGIC.to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = WalSegment::parse(&bytes);
        let _ = WalSegment::parse(&prefixed);
    }
}

#[test]
fn header_flags_are_rejected_because_version_1_defines_none() {
    let (_, mut bytes) = sample();
    bytes[10] = 1;
    let crc = crc32c::crc32c(&bytes[..12]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    match WalSegment::parse(&bytes) {
        Err(WalError::Malformed {
            what: "header",
            at: 10,
            reason,
        }) => {
            assert!(reason.contains("flags"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
