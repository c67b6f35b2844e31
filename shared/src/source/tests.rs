//! Scanning from a file plans what scanning from memory plans, for every format; limits refuse
//! oversized batches unread.

use super::*;
use crate::kafka::Compression;
use crate::synth::{self, ChronikQuirks, SynthSpec, ValueShape};

fn spec(records: u64, partitions: u32) -> SynthSpec {
    SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions,
        records,
        batch_records: 50,
        compression: Compression::Lz4,
        shape: ValueShape::Json,
        start_offset: 0,
        start_timestamp_ms: 1_700_000_000_000,
        seed: 5,
    }
}

fn tp() -> TopicPartition {
    TopicPartition::new("orders".parse().unwrap(), 0.try_into().unwrap())
}

/// The three formats of the same batches; the Chronik segment's frames out of order and repeated.
fn sources() -> Vec<(&'static str, Vec<u8>)> {
    let batches = synth::batches(&spec(2_000, 1)).unwrap();
    let plain: Vec<Vec<u8>> = batches.iter().map(|(_, b)| b.clone()).collect();
    let mut order: Vec<usize> = (0..plain.len()).collect();
    order.swap(3, 17);
    let quirks = ChronikQuirks {
        order: Some(order),
        repeat_every: Some(7),
        empty_frame_every: Some(5),
        ..Default::default()
    };
    vec![
        (
            "wal",
            synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap(),
        ),
        ("kafka-log", plain.concat()),
        (
            "chronik",
            synth::chronik_segment(&tp(), &plain, &quirks).unwrap(),
        ),
    ]
}

#[test]
fn a_file_scans_as_its_bytes_do_and_reads_back_the_same_batches() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in sources() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let file = SourceFile::open(&path).unwrap();
        let from_memory = scan_source(bytes.as_slice(), Some(&tp()), 1 << 20).unwrap();
        let from_file = scan_source(&file, Some(&tp()), 1 << 20).unwrap();
        assert_eq!(from_memory.format, from_file.format, "{name}");
        assert_eq!(from_file.partitions.len(), 1, "{name}");
        let (m, f) = (&from_memory.partitions[0], &from_file.partitions[0]);
        assert_eq!(m.batches, f.batches, "{name}");
        assert_eq!(f.batches.len(), 40, "{name}");
        let offsets: Vec<i64> = f.batches.iter().map(|b| b.base_offset).collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{name}: {offsets:?}"
        );
        let read = f.read_all(&file).unwrap();
        let (_, groups) = read_source(&bytes, Some(&tp())).unwrap();
        let expected: Vec<&[u8]> = groups[0].batches.iter().map(|b| &b.bytes[..]).collect();
        let got: Vec<&[u8]> = read.batches.iter().map(|b| &b.bytes[..]).collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn a_batch_over_the_limit_is_refused_unread() {
    for (name, bytes) in sources() {
        let err = scan_source(bytes.as_slice(), Some(&tp()), 1_000).unwrap_err();
        let ScanError::Invalid(err) = err else {
            panic!("{name}: {err}")
        };
        let text = err.to_string();
        match name {
            "chronik" => assert!(
                text.contains("over the 2000-byte limit of a frame"),
                "{text}"
            ),
            _ => assert!(
                matches!(err, SourceError::BatchTooLarge { limit: 1_000, .. }),
                "{name}: {text}"
            ),
        }
    }
    // A length field claiming 2 GiB in a file of 70 bytes: named as truncated, nothing allocated.
    let batches = synth::batches(&spec(1, 1)).unwrap();
    let mut log = batches[0].1[..70].to_vec();
    log[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    let err = scan_source(log.as_slice(), Some(&tp()), usize::MAX).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn the_header_of_an_oversized_frame_is_judged_first_and_a_forged_footer_length_is_refused() {
    let batches = synth::batches(&spec(100, 1)).unwrap();
    let plain: Vec<Vec<u8>> = batches.iter().map(|(_, b)| b.clone()).collect();
    let segment = synth::chronik_segment(&tp(), &plain, &ChronikQuirks::default()).unwrap();
    let scan = |tail: &[u8]| {
        let bytes = [&segment[..], tail].concat();
        let err = scan_source(bytes.as_slice(), Some(&tp()), 1 << 20).unwrap_err();
        err.to_string()
    };
    let huge = u32::MAX.to_le_bytes();
    // Garbage claiming a huge length: no magic, as before the limit existed.
    let garbage = [&[0xAA, 0xBB, 2, 0][..], &huge, &[0; 8]].concat();
    assert!(
        scan(&garbage).contains("no WalRecord magic"),
        "{}",
        scan(&garbage)
    );
    // A V1 frame is named as such.
    let v1 = [&[0x7E, 0xCA, 1, 0][..], &huge, &[0; 8]].concat();
    assert!(scan(&v1).contains("V1 frame"), "{}", scan(&v1));
    // A valid header whose frame the segment cuts short: torn, not "too large".
    let torn = [&[0x7E, 0xCA, 2, 0][..], &huge, &[0; 8]].concat();
    assert!(scan(&torn).contains("torn frame"), "{}", scan(&torn));

    // A tier WAL whose trailer claims a footer of 4 GiB: refused before anything is read.
    let mut wal = synth::wal_segment(&"orders".parse().unwrap(), &batches).unwrap();
    let at = wal.len() - 16;
    wal[at..at + 4].copy_from_slice(&huge);
    let err = scan_source(wal.as_slice(), None, 1 << 20).unwrap_err();
    assert!(err.to_string().contains("exceeds the"), "{err}");
}
