"""Cross-check of tierctl against kafka-python, a Kafka client nobody on this team wrote.

kafka-python builds RecordBatch v2 batches with every codec. The tests write them to Apache Kafka
`.log` segments and, via `tierctl pack`, to sealed WAL segments; index both with `tierctl index`;
fetch at many offsets with `tierctl fetch --format raw`; and assert that
  (a) the returned bytes are exactly the original batches (Kafka fetch semantics),
  (b) kafka-python's `validate_crc()` accepts every returned batch,
  (c) the records kafka-python decodes from them are the records it encoded.
Offsets-for-time, search and the JSON fetch format are checked against the same originals.
"""

import base64
import json
import os
import random
import struct
import subprocess

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

TIERCTL = os.environ["TIERCTL"]
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
T0 = 1_767_225_600_000


def tierctl(data, *args, check=True):
    proc = subprocess.run([TIERCTL, "--data", str(data), *map(str, args)], capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"tierctl {args} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc


def make_batches(codec, start, count, rng):
    """Batches with keys, null keys, null values, headers, binary values; every 4th transactional."""
    batches = []
    offset = start
    for i in range(count):
        txn = i % 4 == 3
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=CODECS[codec], is_transactional=txn,
            producer_id=4242 if txn else -1, producer_epoch=1 if txn else -1,
            base_sequence=offset if txn else -1, batch_size=1 << 22)
        records = []
        for delta in range(rng.randint(1, 40)):
            ts = T0 + (offset + delta) * 7
            key = None if rng.random() < 0.2 else f"key-{rng.randint(0, 30)}".encode()
            if rng.random() < 0.05:
                value = None
            elif rng.random() < 0.2:
                value = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
            else:
                value = json.dumps({"n": offset + delta, "codec": codec,
                                    "text": "lorem ipsum " * rng.randint(0, 30)}).encode()
            headers = [("trace", f"t{offset + delta}".encode()), ("empty", None)] if rng.random() < 0.5 else []
            assert builder.append(delta, ts, key, value, headers) is not None
            records.append((offset + delta, ts, key, value, headers))
        batch = bytearray(builder.build())
        struct.pack_into(">q", batch, 0, offset)  # base offset: assigned by the broker, outside the CRC
        parsed = DefaultRecordBatch(bytearray(batch))
        assert parsed.compression_type == CODECS[codec], "kafka-python silently fell back to another codec"
        batches.append((offset, offset + len(records) - 1, bytes(batch), records))
        offset += len(records) + rng.randint(0, 2)  # leave occasional gaps, as compaction does
    return batches


def split_batches(buf):
    out, pos = [], 0
    while pos < len(buf):
        (length,) = struct.unpack_from(">i", buf, pos + 8)
        out.append(buf[pos:pos + 12 + length])
        pos += 12 + length
    assert pos == len(buf)
    return out


def expected_fetch(batches, offset, max_bytes):
    out = b""
    for _, last, raw, _ in batches:
        if last < offset:
            continue
        if out and len(out) + len(raw) > max_bytes:
            break
        out += raw
    return out


def decode(raw):
    batch = DefaultRecordBatch(bytearray(raw))
    assert batch.validate_crc(), "kafka-python rejects the CRC of a fetched batch"
    return [(r.offset, r.timestamp, r.key, r.value, [(k, v) for k, v in r.headers]) for r in batch]


def as_records(records):
    return [(o, t, k, v, [(hk, hv) for hk, hv in h]) for o, t, k, v, h in records]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("tier-data")


@pytest.mark.parametrize("codec", list(CODECS))
def test_fetch_is_byte_exact_for_logs_and_wal_segments(codec, data, tmp_path):
    rng = random.Random(codec)
    batches = make_batches(codec, 1000, 24, rng)
    topics = {f"xc-{codec}": 0, f"xcw-{codec}": 2}
    log_dir = tmp_path / f"xc-{codec}-0"
    log_dir.mkdir()
    logs = []
    for part in (batches[:8], batches[8:16], batches[16:]):
        path = log_dir / f"{part[0][0]:020d}.log"
        path.write_bytes(b"".join(raw for _, _, raw, _ in part))
        logs.append(path)
    tierctl(data, "index", *logs)  # topic and partition from the <topic>-<partition>/ directory
    wals = []
    for i, log in enumerate(logs):
        wal = tmp_path / f"seg-{i}.wal"
        tierctl(data, "pack", log, "--topic", f"xcw-{codec}", "--partition", 2, "-o", wal)
        wals.append(wal)
    tierctl(data, "index", *wals)

    out = tmp_path / "fetched.bin"
    offsets = sorted({b[0] for b in batches} | {b[0] + 1 for b in batches[::3]} | {b[1] for b in batches} | {batches[-1][1]})
    for topic, partition in topics.items():
        for offset in offsets:
            for max_bytes in (1, 3000, 1 << 20):
                summary = json.loads(tierctl(data, "--json", "fetch", "--topic", topic, "--partition", partition,
                                             "--offset", offset, "--max-bytes", max_bytes,
                                             "--format", "raw", "-o", out).stdout)
                got = out.read_bytes()
                want = expected_fetch(batches, offset, max_bytes)
                assert got == want, f"{topic} offset {offset} max {max_bytes}: bytes differ"
                fetched = split_batches(got)
                assert summary["batch_count"] == len(fetched)
                originals = [b for b in batches if b[1] >= offset][:len(fetched)]
                for raw, (_, _, _, records) in zip(fetched, originals):
                    assert decode(raw) == as_records(records)


def test_offsets_search_and_json_fetch_agree_with_the_originals(data, tmp_path):
    rng = random.Random(7)
    batches = make_batches("gzip", 0, 30, rng)
    log_dir = tmp_path / "xq-0"
    log_dir.mkdir()
    (log_dir / "00000000000000000000.log").write_bytes(b"".join(b[2] for b in batches))
    tierctl(data, "index", log_dir / "00000000000000000000.log")
    records = [r for b in batches for r in b[3]]

    for ts in (0, records[0][1], records[len(records) // 2][1] + 1, records[-1][1], records[-1][1] + 1):
        proc = tierctl(data, "--json", "offsets", "--topic", "xq", "--partition", 0, "--timestamp", ts, check=False)
        want = next((o for o, t, *_ in records if t >= ts), None)
        assert json.loads(proc.stdout)["offset"] == want
        assert proc.returncode == (0 if want is not None else 1)

    hits = json.loads(tierctl(data, "--json", "search", 'key:"key-7"', "--topic", "xq", "--limit", 10000).stdout)["hits"]
    assert [h["offset"] for h in hits] == [o for o, _, k, *_ in records if k == b"key-7"]

    start = records[10][0]
    lines = tierctl(data, "fetch", "--topic", "xq", "--partition", 0, "--offset", start,
                    "--max-bytes", 1 << 20, "--format", "json").stdout.decode().splitlines()
    views = [json.loads(line) for line in lines]
    assert [v["offset"] for v in views] == [r[0] for r in records if r[0] >= start]
    for view, (offset, ts, key, value, headers) in zip(views, [r for r in records if r[0] >= start]):
        dec = (lambda s: None if s is None else base64.b64decode(s)) if view["encoding"] == "base64" \
            else (lambda s: None if s is None else s.encode())
        assert (view["timestamp"], dec(view["key"]), dec(view["value"])) == (ts, key, value)
        assert [(h["key"], dec(h["value"])) for h in view["headers"]] == headers


def test_corrupt_segments_are_rejected_and_change_nothing(data, tmp_path):
    batches = make_batches("lz4", 0, 5, random.Random(3))
    good = b"".join(b[2] for b in batches)
    before = tierctl(data, "--json", "ls").stdout
    for name, bad in (("flipped", good[:100] + bytes([good[100] ^ 1]) + good[101:]),
                      ("truncated", good[:-5]),
                      ("v1-message-set", bytes(16) + b"\x00\x00\x00\x14" + bytes(4) + b"\x01" + bytes(15))):
        log = tmp_path / f"bad-{name}-0" / "00000000000000000000.log"
        log.parent.mkdir()
        log.write_bytes(bad)
        proc = tierctl(data, "index", log, check=False)
        assert proc.returncode == 2, name
        assert proc.stderr.decode().strip(), f"{name}: no error message"
    assert tierctl(data, "--json", "ls").stdout == before


@pytest.mark.parametrize("codec", list(CODECS))
def test_kafka_python_reads_the_batches_tierctl_generates(codec, tmp_path):
    """The other direction: batches built by our encoder (synthetic data) are valid for kafka-python."""
    log = tmp_path / "gen.log"
    tierctl(tmp_path / "unused", "gen", "-o", log, "--format", "kafka-log", "--codec", codec,
            "--records", 300, "--batch-records", 40, "--shape", "text", "--start-offset", 5)
    batches = split_batches(log.read_bytes())
    assert len(batches) == 8
    offsets = []
    for raw in batches:
        parsed = DefaultRecordBatch(bytearray(raw))
        assert parsed.compression_type == CODECS[codec]
        for offset, ts, key, value, headers in decode(raw):
            assert key.startswith(b"user-") and value and dict(headers)["source"] == b"synth"
            offsets.append(offset)
    assert offsets == list(range(5, 305))


CHRONIK_DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests", "data", "chronik-wal", "demo")


def test_chronik_wal_batches_come_back_with_their_sha256_and_pass_kafka_python_crc(tmp_path):
    """Every batch of the real Chronik fixtures, indexed from the broker's layout and fetched raw:
    the bytes hash to the manifest's sha256, and kafka-python's own CRC check accepts them."""
    import hashlib
    import shutil

    manifest = json.load(open(os.path.join(CHRONIK_DEMO, "manifest.json")))
    wal = tmp_path / "broker" / "wal"
    shutil.copytree(CHRONIK_DEMO, wal, ignore=shutil.ignore_patterns("manifest.json"))
    data = tmp_path / "data"
    files = sorted(str(wal / s["path"]) for s in manifest["segments"])
    tierctl(data, "index", *files)
    for b in manifest["batches"]:
        out = tmp_path / "batch.bin"
        tierctl(data, "fetch", "--topic", b["topic"], "--partition", b["partition"], "--offset",
                b["base_offset"], "--max-bytes", 1, "--format", "raw", "-o", out)
        raw = out.read_bytes()
        assert hashlib.sha256(raw).hexdigest() == b["stored_batch_sha256"], b
        parsed = DefaultRecordBatch(bytearray(raw))
        assert parsed.validate_crc(), b
        assert parsed.base_offset == b["base_offset"]
        assert parsed.is_control_batch == b["is_control"]
