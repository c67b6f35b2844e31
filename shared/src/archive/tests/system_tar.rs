//! The archive is a plain tar.gz for the system's GNU tar and gzip.

use std::path::Path;
use std::process::Command;

use super::*;

fn run(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("spawn system tool");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    (stdout, stderr)
}

fn expected_files(
    batches: &[Batch],
    toc: &Toc,
    index: &[(String, Vec<u8>)],
) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = toc
        .chunks
        .iter()
        .map(|c| {
            let data = batches
                .iter()
                .filter(|b| b.first >= c.first_offset && b.last <= c.last_offset)
                .flat_map(|b| b.bytes.clone())
                .collect();
            (chunk_member_name(c.first_offset), data)
        })
        .collect();
    files.extend(index.iter().map(|(n, d)| (format!("index/{n}"), d.clone())));
    files.push((MANIFEST_NAME.to_owned(), MANIFEST.to_vec()));
    files
}

fn all_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().expect("file type").is_dir() {
            all_files(&entry.path(), &format!("{name}/"), out);
        } else {
            out.push(name);
        }
    }
}

#[test]
fn system_tar_and_gzip_accept_the_archive() {
    let batches = simple_batches(12, 3_000, false);
    let index = sample_index();
    let options = ArchiveOptions {
        chunk_target_bytes: 8_000,
        mtime: 1_700_000_000,
        ..ArchiveOptions::default()
    };
    let (archive, toc) = build(options, &batches, &index);
    let expected = expected_files(&batches, &toc, &index);
    assert!(toc.chunks.len() > 2);

    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("segment.tar.gz");
    std::fs::write(&file, &archive).expect("write archive");
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");

    run(Command::new("gzip").arg("-t").arg(&file));
    let (_, stderr) = run(Command::new("tar")
        .arg("xzf")
        .arg(&file)
        .arg("-C")
        .arg(&out_dir));
    assert_eq!(stderr, "", "tar warned while extracting");

    for (name, data) in &expected {
        let got = std::fs::read(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&got, data, "{name}");
    }
    let mut present = Vec::new();
    all_files(&out_dir, "", &mut present);
    present.sort();
    let mut names: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(present, names, "no extra files");

    let (listing, _) = run(Command::new("tar").arg("tzf").arg(&file));
    let listed: Vec<&str> = listing.lines().collect();
    let in_order: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(listed, in_order);

    let (verbose, _) = run(Command::new("tar").arg("tvzf").arg(&file).env("TZ", "UTC"));
    for line in verbose.lines() {
        assert!(line.starts_with("-rw-r--r-- 0/0"), "mode/owner: {line}");
        assert!(line.contains("2023-11-14 22:13"), "mtime: {line}");
    }
}

#[test]
fn gzip_decompresses_each_member_range_alone() {
    let (archive, toc) = build(
        ArchiveOptions::default(),
        &simple_batches(3, 100, true),
        &sample_index(),
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let entry = &toc.index_files[2];
    let file = tmp.path().join("member.gz");
    std::fs::write(&file, fetch(&archive, entry.range)).expect("write member");
    let out = Command::new("gzip")
        .arg("-dc")
        .arg(&file)
        .output()
        .expect("gzip");
    assert!(out.status.success());
    assert_eq!(
        out.stdout.len() as u64,
        512 + entry.data_len.div_ceil(512) * 512
    );
    assert_eq!(&out.stdout[..entry.name.len()], entry.name.as_bytes());
    assert_eq!(
        crc32c::crc32c(&out.stdout[512..][..entry.data_len as usize]),
        entry.crc32c
    );
}
