//! tierctl as a user runs it: exit codes, one-line errors, JSON shapes, nothing half-written.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn tierctl(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tierctl"))
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("tierctl runs")
}

fn ok_json(data: &Path, args: &[&str]) -> Value {
    let out = tierctl(data, &[&["--json"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// Asserts exit code 2 and a single `tierctl: error:` line mentioning every `needle`.
fn fails(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one error line, got: {stderr}");
    assert!(lines[0].starts_with("tierctl: error: "), "{stderr}");
    for needle in needles {
        assert!(
            lines[0].contains(needle),
            "{needle:?} missing from: {stderr}"
        );
    }
}

fn generate(dir: &Path, name: &str, extra: &[&str]) -> String {
    let path = dir.join(name).display().to_string();
    let args = [
        &[
            "gen",
            "-o",
            path.as_str(),
            "--records",
            "1000",
            "--partitions",
            "2",
        ][..],
        extra,
    ]
    .concat();
    ok_json(dir, &args);
    path
}

#[test]
fn index_is_idempotent_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &["--topic", "orders"]);
    let first = ok_json(&data, &["index", &wal]);
    assert_eq!(first[0]["segments"].as_array().unwrap().len(), 2);
    assert_eq!(first[0]["already_indexed"], false);
    let again = ok_json(&data, &["index", &wal]);
    assert_eq!(again[0]["already_indexed"], true);
    let ls = ok_json(&data, &["ls", "--segments"]);
    let parts = ls["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["topic"], "orders");
    assert_eq!(parts[0]["earliest"], 0);
    assert_eq!(parts[0]["segments"].as_array().unwrap().len(), 1);
}

#[test]
fn fetch_errors_name_the_tiered_range_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(
        dir.path(),
        "a.wal",
        &["--topic", "orders", "--start-offset", "100"],
    );
    ok_json(&data, &["index", &wal]);
    let out_file = dir.path().join("out.bin");
    let out_path = out_file.display().to_string();
    let base = [
        "fetch",
        "--topic",
        "orders",
        "--partition",
        "0",
        "--format",
        "raw",
        "-o",
        &out_path,
    ];
    fails(
        &tierctl(&data, &[&base[..], &["--offset", "5"]].concat()),
        &["earliest 100", "latest 599"],
    );
    fails(
        &tierctl(&data, &[&base[..], &["--offset", "600"]].concat()),
        &["out of the tiered range"],
    );
    assert!(!out_file.exists(), "a failed fetch wrote its output file");
    let unknown = [
        "fetch",
        "--topic",
        "nope",
        "--partition",
        "0",
        "--offset",
        "0",
    ];
    fails(&tierctl(&data, &unknown), &["no tiered data for nope/0"]);
    let escape = [
        "fetch",
        "--topic",
        "../etc",
        "--partition",
        "0",
        "--offset",
        "0",
    ];
    fails(
        &tierctl(&data, &escape),
        &["invalid topic name", "[a-zA-Z0-9._-]"],
    );
    let summary = ok_json(
        &data,
        &[&base[..], &["--offset", "100", "--max-bytes", "1"]].concat(),
    );
    assert_eq!(
        summary["batch_count"], 1,
        "at least one batch even past max_bytes"
    );
    assert!(std::fs::metadata(&out_file).unwrap().len() > 61);
}

#[test]
fn search_and_offsets_use_exit_code_one_for_nothing_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &["--topic", "orders"]);
    ok_json(&data, &["index", &wal]);
    let hits = ok_json(&data, &["search", "value.country:ES", "--limit", "5"]);
    assert_eq!(hits["count"], 5);
    assert_eq!(hits["hits"][0]["topic"], "orders");
    let none = tierctl(&data, &["search", "value.country:XX"]);
    assert_eq!(none.status.code(), Some(1));
    fails(&tierctl(&data, &["search", "value:("]), &["invalid query"]);
    let late = tierctl(
        &data,
        &[
            "offsets",
            "--topic",
            "orders",
            "--partition",
            "0",
            "--timestamp",
            "9999999999999",
        ],
    );
    assert_eq!(late.status.code(), Some(1));
    let latest = ok_json(
        &data,
        &[
            "offsets",
            "--topic",
            "orders",
            "--partition",
            "1",
            "--latest",
        ],
    );
    assert_eq!(latest["offset"], 500);
}

#[test]
fn bad_sources_fail_with_a_reason_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &[]);
    let mut bytes = std::fs::read(&wal).unwrap();
    let unsealed = dir.path().join("unsealed.wal");
    std::fs::write(&unsealed, &bytes[..bytes.len() - 1]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let corrupt = dir.path().join("corrupt.wal");
    std::fs::write(&corrupt, &bytes).unwrap();
    let log = dir.path().join("plain.log");
    std::fs::write(&log, b"definitely not kafka").unwrap();
    fails(
        &tierctl(&data, &["index", unsealed.to_str().unwrap()]),
        &["unsealed.wal", "not sealed"],
    );
    fails(
        &tierctl(&data, &["index", corrupt.to_str().unwrap()]),
        &["corrupt.wal", "checksum mismatch"],
    );
    fails(
        &tierctl(&data, &["index", log.to_str().unwrap()]),
        &["needs a topic and partition"],
    );
    let both = tierctl(
        &data,
        &["index", corrupt.to_str().unwrap(), log.to_str().unwrap()],
    );
    assert_eq!(both.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert_eq!(
        stderr.lines().count(),
        3,
        "one line per failed file and a summary: {stderr}"
    );
    assert!(stderr.contains("2 of 2 file(s) could not be indexed"));
    let ls = ok_json(&data, &["ls"]);
    assert_eq!(ls["partitions"].as_array().unwrap().len(), 0);
    assert!(
        std::fs::read_dir(data.join("objects"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn inspect_describes_every_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &["--codec", "zstd"]);
    let w = ok_json(&data, &["inspect", &wal]);
    assert_eq!(w["kind"], "wal");
    assert_eq!(w["frames"].as_array().unwrap().len(), 10);
    assert!(
        w["frames"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["crc_valid"] == true && f["compression"] == "zstd")
    );
    let log = dir.path().join("x.log").display().to_string();
    ok_json(
        &data,
        &[
            "gen",
            "-o",
            &log,
            "--format",
            "kafka-log",
            "--records",
            "50",
        ],
    );
    let l = ok_json(&data, &["inspect", &log]);
    assert_eq!(
        (l["kind"].as_str(), l["batches"].as_array().unwrap().len()),
        (Some("kafka-log"), 1)
    );
    ok_json(&data, &["index", &wal]);
    let ls = ok_json(&data, &["ls", "--segments"]);
    let key = ls["partitions"][0]["segments"][0]["archive_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let archive = data.join("objects").join(key).display().to_string();
    let a = ok_json(&data, &["inspect", &archive]);
    assert_eq!(a["kind"], "archive");
    assert_eq!(a["manifest"]["record_count"], 500);
    let names: Vec<&str> = a["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(names.first().unwrap().starts_with("records/"));
    assert_eq!(names.last(), Some(&"manifest.json"));
}

#[test]
fn compact_merges_adjacent_segments_and_fetch_still_matches() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (i, start) in ["0", "500", "1000", "1500"].iter().enumerate() {
        let wal = generate(
            dir.path(),
            &format!("s{i}.wal"),
            &["--topic", "orders", "--start-offset", start],
        );
        ok_json(&data, &["index", &wal]);
    }
    let out = dir.path().join("before.bin").display().to_string();
    let fetch = [
        "fetch",
        "--topic",
        "orders",
        "--partition",
        "0",
        "--offset",
        "0",
        "--max-bytes",
        "100000000",
        "--format",
        "raw",
        "-o",
    ];
    ok_json(&data, &[&fetch[..], &[out.as_str()]].concat());
    let dry = ok_json(&data, &["compact", "--dry-run"]);
    assert_eq!(
        (
            dry["segments_in_merges"].as_u64(),
            dry["merges_executed"].as_u64()
        ),
        (Some(8), Some(0))
    );
    let done = ok_json(&data, &["compact"]);
    assert_eq!(done["merges_executed"], 2, "one merge per partition");
    let ls = ok_json(&data, &["ls"]);
    assert_eq!(ls["partitions"][0]["segment_count"], 1);
    let after = dir.path().join("after.bin").display().to_string();
    ok_json(&data, &[&fetch[..], &[after.as_str()]].concat());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&after).unwrap());
}

#[test]
fn compact_applies_retention_per_topic_and_rejects_malformed_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for topic in ["orders", "audit"] {
        for (i, start) in ["0", "500"].iter().enumerate() {
            let wal = generate(
                dir.path(),
                &format!("{topic}{i}.wal"),
                &["--topic", topic, "--start-offset", start],
            );
            ok_json(&data, &["index", &wal]);
        }
    }
    let bad = tierctl(
        &data,
        &["compact", "--retention-topics", r#"{"audit": {"days": 1}}"#],
    );
    // A usage error, reported by the argument parser (exit 2) before anything is opened.
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--retention-topics")
            && stderr.contains("topic \"audit\": unknown field `days`"),
        "{stderr}"
    );
    let done = ok_json(
        &data,
        &[
            "compact",
            "--retention-bytes",
            "1",
            "--retention-topics",
            r#"{"audit": {"bytes": 0}}"#,
        ],
    );
    assert_eq!(done["segments_expired"], 2, "one per orders partition");
    for plan in done["plans"].as_array().unwrap() {
        assert_eq!(plan["topic"], "orders");
        assert_eq!(plan["earliest_after_retention"], 500);
    }
    let out = tierctl(
        &data,
        &[
            "fetch",
            "--topic",
            "orders",
            "--partition",
            "0",
            "--offset",
            "0",
        ],
    );
    fails(&out, &["500"]);
    let ls = ok_json(&data, &["ls"]);
    let counts: Vec<(String, u64)> = ls["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_owned(),
                p["segment_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(counts.contains(&("audit".into(), 2)), "{counts:?}");
    assert!(counts.contains(&("orders".into(), 1)), "{counts:?}");
}

/// The Chronik fixtures laid out as a broker's `<data_dir>/wal/` under `dir`.
fn chronik_tree(dir: &Path) -> std::path::PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/data/chronik-wal/demo");
    let wal = dir.join("broker/wal");
    for topic in ["orders", "clicks"] {
        for p in 0..3 {
            let from = demo.join(format!("{topic}/{p}"));
            let to = wal.join(format!("{topic}/{p}"));
            std::fs::create_dir_all(&to).unwrap();
            for file in std::fs::read_dir(&from).unwrap() {
                let file = file.unwrap();
                std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
            }
        }
    }
    wal
}

#[test]
fn chronik_wal_segments_index_fetch_and_inspect_by_their_own_partition() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = chronik_tree(dir.path());
    let file = wal.join("orders/1/wal_1_0.log").display().to_string();
    let report = ok_json(&data, &["index", &file]);
    assert_eq!(report[0]["format"], "chronik-wal");
    assert_eq!(report[0]["segments"][0]["topic"], "orders");
    assert_eq!(report[0]["segments"][0]["partition"], 1);
    let inspected = ok_json(&data, &["inspect", &file]);
    assert_eq!(inspected["kind"], "chronik-wal");
    assert_eq!(inspected["partition"], 1);
    assert!(
        inspected["batches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["crc_valid"] == true)
    );
    let out = dir.path().join("out.bin");
    let out_s = out.display().to_string();
    ok_json(
        &data,
        &[
            "fetch",
            "--topic",
            "orders",
            "--partition",
            "1",
            "--offset",
            "0",
            "--format",
            "raw",
            "-o",
            &out_s,
        ],
    );
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    // A segment moved under another partition's directory is refused, naming both.
    let moved = wal.join("orders/2/wal_2_7.log");
    std::fs::copy(&file, &moved).unwrap();
    fails(
        &tierctl(&data, &["index", &moved.display().to_string()]),
        &["orders/2", "orders/1"],
    );
}

/// A broker data directory of `partitions` partitions of topic `orders`, each with `sealed`
/// sealed segments of 5 records and one active segment (Chronik's layout, the generator's frames).
fn broker_dir(root: &Path, partitions: u32, sealed: u64) {
    use tier::synth::{ChronikQuirks, SynthSpec, ValueShape, batches, chronik_segment};
    for p in 0..partitions {
        let dir = root.join(format!("wal/orders/{p}"));
        std::fs::create_dir_all(&dir).unwrap();
        let tp = tier::types::TopicPartition::new(
            "orders".parse().unwrap(),
            tier::types::Partition::try_from(i64::from(p)).unwrap(),
        );
        for n in 0..=sealed {
            let spec = SynthSpec {
                topic: "orders".parse().unwrap(),
                partitions: 1,
                records: 5,
                batch_records: 5,
                compression: tier::kafka::Compression::None,
                shape: ValueShape::Text,
                start_offset: n as i64 * 5,
                start_timestamp_ms: 1_767_225_600_000 + n as i64 * 1_000,
                seed: n + u64::from(p) * 1_000,
            };
            let b: Vec<Vec<u8>> = batches(&spec)
                .unwrap()
                .into_iter()
                .map(|(_, b)| b)
                .collect();
            let bytes = chronik_segment(&tp, &b, &ChronikQuirks::default()).unwrap();
            std::fs::write(dir.join(format!("wal_{p}_{n}.log")), bytes).unwrap();
        }
    }
}

/// `ls --segments` without the parts that differ between runs of the same input: archive keys have
/// a random part, and archive sizes vary with the build time in each manifest and index.
fn catalog_listing(data: &Path) -> Value {
    let mut ls = ok_json(data, &["ls", "--segments"]);
    for p in ls["partitions"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("archive_bytes");
        for s in p["segments"].as_array_mut().unwrap() {
            let s = s.as_object_mut().unwrap();
            s.remove("archive_key");
            s.remove("archive_bytes");
        }
    }
    ls
}

#[test]
fn backfill_shows_progress_resumes_after_a_kill_and_ends_with_the_same_catalog() {
    let dir = tempfile::tempdir().unwrap();
    broker_dir(dir.path(), 3, 70);
    let broker = dir.path().display().to_string();
    // Uninterrupted.
    let whole = dir.path().join("whole");
    let out = tierctl(&whole, &["--json", "backfill", &broker, "--jobs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let done = lines.last().unwrap();
    assert_eq!(done["event"], "done");
    assert_eq!(
        (done["segments"].as_u64(), done["indexed"].as_u64()),
        (Some(210), Some(210))
    );
    assert_eq!(
        lines.len(),
        211,
        "one progress line per segment, then the totals"
    );
    // Dry run on a fresh catalog lists everything, changes nothing.
    let dry = dir.path().join("dry");
    let out = tierctl(&dry, &["--json", "backfill", &broker, "--dry-run"]);
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["pending"], 210);
    assert_eq!(
        ok_json(&dry, &["ls"])["partitions"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Killed halfway, then run again.
    let halted = dir.path().join("halted");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tierctl"))
        .args([
            "--data",
            &halted.display().to_string(),
            "--json",
            "backfill",
            &broker,
            "--jobs",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        if line.unwrap().contains("\"segment\"") {
            seen += 1;
        }
        if seen == 90 {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert_eq!(seen, 90, "killed after 90 of 210 segments");
    let out = tierctl(&halted, &["--json", "backfill", &broker, "--jobs", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let (indexed, already) = (
        last["indexed"].as_u64().unwrap(),
        last["already_indexed"].as_u64().unwrap(),
    );
    assert!(already >= 90, "the ledger resumes the run: {last}");
    assert_eq!(indexed + already, 210, "{last}");
    assert!(
        catalog_listing(&halted) == catalog_listing(&whole),
        "the resumed run's catalog differs from the uninterrupted run's"
    );
}

#[test]
fn ship_uploads_each_sealed_segment_once_and_never_the_active_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    broker_dir(dir.path(), 2, 2);
    let broker = dir.path().display().to_string();
    let first = ok_json(&data, &["ship", &broker, "--index"]);
    assert_eq!(first["uploaded"], 4);
    let keys: Vec<&str> = first["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"chronik-wal/orders/0/wal_0_1.log"));
    assert!(
        !keys.iter().any(|k| k.ends_with("_2.log")),
        "active segments stay: {keys:?}"
    );
    assert!(
        first["segments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["indexed"] == "indexed")
    );
    assert_eq!(first["lag"][0]["pending_segments"], 0);
    assert!(first["lag"][0]["active_bytes"].as_u64().unwrap() > 0);
    // Nothing new: nothing shipped. A new segment seals the previous active one.
    let again = ok_json(&data, &["ship", &broker, "--index"]);
    assert_eq!(
        (
            again["uploaded"].as_u64(),
            again["already_shipped"].as_u64()
        ),
        (Some(0), Some(4))
    );
    let p0 = dir.path().join("wal/orders/0");
    std::fs::copy(p0.join("wal_0_2.log"), p0.join("wal_0_3.log")).unwrap();
    std::fs::remove_file(p0.join("wal_0_3.log")).unwrap();
    std::fs::write(p0.join("wal_0_3.log"), b"").unwrap(); // just rotated: empty and active
    let third = ok_json(&data, &["ship", &broker, "--index"]);
    let shipped: Vec<&str> = third["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(shipped, ["chronik-wal/orders/0/wal_0_2.log"]);
    let ls = ok_json(&data, &["ls"]);
    let counts: Vec<u64> = ls["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["segment_count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [3, 2]);
    // Not a broker directory.
    let empty = dir.path().join("nothing");
    std::fs::create_dir_all(&empty).unwrap();
    fails(
        &tierctl(&data, &["ship", &empty.display().to_string()]),
        &["neither a Chronik data directory"],
    );
}

#[test]
fn a_closed_stdout_pipe_ends_json_output_with_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &["--topic", "orders"]);
    ok_json(&data, &["index", &wal]);
    // Like `tierctl --json search '' | head -c 100`: the reader goes away mid-document.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tierctl"))
        .args([
            "--data",
            &data.display().to_string(),
            "--json",
            "search",
            "",
            "--limit",
            "5000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_error_line_names_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let wal = generate(dir.path(), "a.wal", &["--topic", "orders"]);
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[500] ^= 0xFF;
    std::fs::write(&wal, bytes).unwrap();
    let out = tierctl(&data, &["index", &wal]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(first.matches("checksum mismatch").count(), 1, "{stderr}");
}

#[test]
fn inspect_fails_on_what_index_would_reject() {
    let dir = tempfile::tempdir().unwrap();
    let spec = tier::synth::SynthSpec {
        topic: "orders".parse().unwrap(),
        partitions: 1,
        records: 20,
        batch_records: 10,
        compression: tier::kafka::Compression::None,
        shape: tier::synth::ValueShape::Text,
        start_offset: 0,
        start_timestamp_ms: 1_767_225_600_000,
        seed: 1,
    };
    let tp = tier::types::TopicPartition::from_log_dir_name("orders-0").unwrap();
    let mut wal = tier::wal::WalWriter::new();
    for (i, (_, batch)) in tier::synth::batches(&spec).unwrap().into_iter().enumerate() {
        let mut record = tier::wal::CanonicalRecord::from_batch(&tp, &batch).unwrap();
        if i == 1 {
            let last = record.batch.len() - 1;
            record.batch[last] ^= 0xFF; // the batch's CRC-32C fails; the WAL frame is sealed over it
        }
        wal.append(&record).unwrap();
    }
    let path = dir.path().join("bad.wal");
    std::fs::write(&path, wal.seal().unwrap()).unwrap();
    let path = path.display().to_string();
    let data = dir.path().join("data");
    fails(
        &tierctl(&data, &["inspect", &path]),
        &["index would reject it"],
    );
    fails(&tierctl(&data, &["index", &path]), &["bad.wal"]);
}

#[test]
fn rebuild_catalog_after_the_catalog_file_is_lost_gives_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let wal = generate(
        dir.path(),
        "a.wal",
        &["--codec", "zstd", "--topic", "orders"],
    );
    ok_json(&data, &["index", &wal]);
    let ask = |data: &Path| -> Vec<String> {
        let questions: [&[&str]; 4] = [
            &["ls", "--segments"],
            &["search", "value.country:ES", "--limit", "1000"],
            &[
                "fetch",
                "--topic",
                "orders",
                "--partition",
                "1",
                "--offset",
                "250",
            ],
            &[
                "offsets",
                "--topic",
                "orders",
                "--partition",
                "0",
                "--latest",
            ],
        ];
        questions
            .iter()
            .map(|q| {
                let out = tierctl(data, &[&["--json"], *q].concat());
                assert!(
                    out.status.success(),
                    "{q:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8(out.stdout).unwrap()
            })
            .collect()
    };
    let before = ask(&data);
    let refused = tierctl(&data, &["rebuild-catalog"]);
    fails(&refused, &["catalog is not empty", "forced"]);
    std::fs::remove_file(data.join("catalog.redb")).unwrap();
    let report = ok_json(&data, &["rebuild-catalog"]);
    assert_eq!(report["segments_registered"], 2, "{report}");
    assert_eq!(report["sources_indexed"], 1, "{report}");
    assert_eq!(report["skipped"], serde_json::json!([]));
    assert_eq!(ask(&data), before);
    // Indexing the same source again is a no-op: the ledger came back too.
    let again = ok_json(&data, &["index", &wal]);
    assert_eq!(again[0]["already_indexed"], true, "{again}");
}

#[test]
fn index_policies_shrink_archives_and_keep_search_answers() {
    let dir = tempfile::tempdir().unwrap();
    let wal = generate(
        dir.path(),
        "p.wal",
        &["--topic", "orders", "--codec", "zstd"],
    );
    let mut archive_bytes = Vec::new();
    let mut answers = Vec::new();
    for (name, flags) in [
        ("full", vec![]),
        ("keys", vec!["--index-policy", "keys-and-headers"]),
        ("none", vec!["--index-topics", r#"{"orders": "none"}"#]),
    ] {
        let data = dir.path().join(name);
        let report = ok_json(&data, &[&flags[..], &["index", &wal]].concat());
        let bytes: u64 = report[0]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["archive_bytes"].as_u64().unwrap())
            .sum();
        archive_bytes.push(bytes);
        let hits = ok_json(
            &data,
            &["search", "value.country:ES AND payment", "--limit", "500"],
        );
        answers.push(hits["hits"].clone());
    }
    assert!(
        archive_bytes[0] > archive_bytes[1] && archive_bytes[1] > archive_bytes[2],
        "{archive_bytes:?}"
    );
    assert!(answers[0].as_array().is_some_and(|h| !h.is_empty()));
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "answers differ by policy"
    );

    let data = dir.path().join("bad");
    let out = tierctl(
        &data,
        &["--index-topics", r#"{"orders": "most"}"#, "index", &wal],
    );
    fails(&out, &["--index-topics", "orders", "keys-and-headers"]);
    let out = tierctl(&data, &["--index-policy", "some", "ls"]);
    assert_eq!(out.status.code(), Some(2));
}
