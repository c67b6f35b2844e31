"""End to end through the real Lambda binaries under cargo-lambda's runtime emulator, against S3 and
DynamoDB wire protocols served by moto.

Sealed WAL segments and Kafka .log files (batches built by kafka-python) are uploaded to the local S3;
the indexer is invoked with the S3, SQS and EventBridge event shapes from events/; the fetch function
is invoked with API Gateway HTTP API events at many offsets; returned bytes must equal the originals
and pass kafka-python's CRC check. Search, offsets, listings, quarantine and the compactor run too.

Needs: TIER_TEST_AWS_ENDPOINT (the local stack, see infra/local-stack.sh), TIERCTL, and cargo-lambda
on PATH. A missing service fails the tests; nothing is skipped.
"""

import base64
import copy
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest
from kafka.record.default_records import DefaultRecordBatch

ROOT = pathlib.Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
sys.path.insert(0, str(ROOT / "tests" / "crosscheck"))
from test_kafka_python import expected_fetch, make_batches, split_batches  # noqa: E402

ENDPOINT = os.environ.get("TIER_TEST_AWS_ENDPOINT")
TIERCTL = os.environ["TIERCTL"]
FUNCTIONS = ["tier-indexer", "tier-fetch", "tier-compactor"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(name):
    return json.loads((EVENTS / name).read_text())


class Stack:
    def __init__(self, tmp):
        assert ENDPOINT, "TIER_TEST_AWS_ENDPOINT is not set: start the local stack (infra/local-stack.sh up)"
        self.tmp = tmp
        self.bucket = f"tier-e2e-{uuid.uuid4().hex[:10]}"
        self.table = f"tier-e2e-{uuid.uuid4().hex[:10]}"
        session = dict(endpoint_url=ENDPOINT, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
        self.s3 = boto3.client("s3", **session)
        subprocess.run([sys.executable, str(ROOT / "infra" / "create-resources.py"), "--bucket", self.bucket,
                        "--table", self.table], check=True, env={**os.environ, "AWS_ENDPOINT_URL": ENDPOINT})
        self.port = free_port()
        env_vars = ",".join([f"TIER_BUCKET={self.bucket}", f"TIER_TABLE={self.table}", f"AWS_ENDPOINT_URL={ENDPOINT}",
                             "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
                             "TIER_CACHE_BYTES=33554432", "TIER_LOG=warn",
                             # (no commas: cargo lambda splits --env-vars on them)
                             'TIER_RETENTION_TOPICS={"audit":{"bytes":1}}'])
        self.log = open(tmp / "cargo-lambda-watch.log", "w")
        self.watch = subprocess.Popen(
            ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             "--env-vars", env_vars, "--ignore-changes"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            assert self.watch.poll() is None, f"cargo lambda watch exited: {(tmp / 'cargo-lambda-watch.log').read_text()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(1)
        raise AssertionError("cargo lambda watch did not start listening")

    def close(self):
        self.watch.terminate()
        try:
            self.watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.watch.kill()
        self.log.close()

    def invoke(self, function, payload, expect_ok=True):
        path = self.tmp / f"event-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps(payload))
        proc = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             "--data-file", str(path), "--output-format", "json"],
            cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
        if expect_ok:
            assert proc.returncode == 0, f"{function} failed: {proc.stdout}{proc.stderr}"
            return json.loads(proc.stdout)
        assert proc.returncode != 0, f"{function} should have failed: {proc.stdout}"
        return proc.stdout + proc.stderr

    def put(self, key, body):
        etag = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)["ETag"].strip('"')
        return etag

    def s3_event(self, key, etag):
        ev = event("s3-put-wal.json")
        obj = ev["Records"][0]["s3"]
        obj["bucket"]["name"] = self.bucket
        obj["bucket"]["arn"] = f"arn:aws:s3:::{self.bucket}"
        obj["object"].update(key=urllib.parse.quote_plus(key, safe="/"), eTag=etag)
        return ev

    def api(self, path, query=None, accept=None):
        ev = event("apigw-fetch-records.json")
        query = {k: str(v) for k, v in (query or {}).items()}
        ev.update(rawPath=path, rawQueryString=urllib.parse.urlencode(query), queryStringParameters=query or None)
        ev["requestContext"]["http"]["path"] = path
        ev.pop("pathParameters", None)
        ev["headers"] = {k: v for k, v in ev["headers"].items() if k.lower() != "accept"}
        if accept:
            ev["headers"]["accept"] = accept
        response = self.invoke("tier-fetch", ev)
        body = response.get("body", "")
        if response.get("isBase64Encoded"):
            return response["statusCode"], response["headers"], base64.b64decode(body)
        return response["statusCode"], response["headers"], json.loads(body) if body else None


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("e2e"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def data(stack):
    """kafka-python batches for orders/0 as three consecutive .log files, and a WAL of topic clicks."""
    batches = make_batches("zstd", 500, 30, random.Random(11))
    logs = []
    for i, part in enumerate((batches[:10], batches[10:20], batches[20:])):
        key = f"kafka-logs/orders-0/{part[0][0]:020d}.log"
        logs.append((key, stack.put(key, b"".join(b[2] for b in part))))
    wal = stack.tmp / "clicks.wal"
    subprocess.run([TIERCTL, "gen", "-o", str(wal), "--topic", "clicks", "--partitions", "2", "--records", "3000",
                    "--codec", "lz4"], check=True, capture_output=True)
    wal_key = "wal/2026/11/24/broker 1-00000000000000000042.wal"  # a space: URL-encoded as '+' in events
    return {"batches": batches, "logs": logs, "wal": (wal_key, stack.put(wal_key, wal.read_bytes()))}


def test_indexer_accepts_s3_sqs_and_eventbridge_events(stack, data):
    wal_key, wal_etag = data["wal"]
    out = stack.invoke("tier-indexer", stack.s3_event(wal_key, wal_etag))
    assert [o["outcome"] for o in out["objects"]] == ["indexed"]
    assert len(out["objects"][0]["segments"]) == 2

    (k0, e0), (k1, e1), (k2, e2) = data["logs"]
    sqs = event("sqs-s3-put.json")
    messages = sqs["Records"][:2]
    messages[0]["body"] = json.dumps(stack.s3_event(k0, e0))
    messages[1]["body"] = json.dumps(stack.s3_event("kafka-logs/orders-0/missing.log", "none"))
    sqs["Records"] = messages
    out = stack.invoke("tier-indexer", sqs)
    assert [f["itemIdentifier"] for f in out["batchItemFailures"]] == [messages[1]["messageId"]]

    for key, etag in ((k1, e1), (k2, e2)):
        bridge = event("eventbridge-s3-object-created.json")
        bridge["detail"]["bucket"]["name"] = stack.bucket
        bridge["detail"]["object"].update(key=key, etag=etag)
        out = stack.invoke("tier-indexer", bridge)
        assert out["objects"][0]["outcome"] == "indexed"
    again = stack.invoke("tier-indexer", stack.s3_event(wal_key, wal_etag))
    assert again["objects"][0]["already_indexed"] is True


def test_corrupt_segments_are_quarantined_and_the_invocation_succeeds(stack, data):
    wal_key, _ = data["wal"]
    good = stack.s3.get_object(Bucket=stack.bucket, Key=wal_key)["Body"].read()
    bad = bytearray(good)
    bad[len(bad) // 3] ^= 0x40
    key = "wal/2026/11/24/broken.wal"
    out = stack.invoke("tier-indexer", stack.s3_event(key, stack.put(key, bytes(bad))))
    assert out["objects"][0]["outcome"] == "quarantined"
    assert "checksum mismatch" in out["objects"][0]["reason"]
    copy_ = stack.s3.get_object(Bucket=stack.bucket, Key=f"quarantine/{key}")["Body"].read()
    assert copy_ == bytes(bad)


def within_segment(batches, segment_lasts, offset):
    """The batches a single fetch from `offset` may return: those of the segment (ending at one of
    `segment_lasts`) holding the first batch whose last offset is >= `offset`."""
    first = next(b for b in batches if b[1] >= offset)
    end = min(last for last in segment_lasts if last >= first[1])
    return [b for b in batches if offset <= b[1] <= end]


def consume(stack, path, offset, max_bytes):
    """A consumer: fetch after fetch, each from the previous `X-Tier-Next-Offset`, until `max_bytes`
    are read (a batch that would overshoot them is left out unless it is the first) or the log ends.
    Returns the bytes and the number of fetches they came from."""
    out, fetches = b"", 0
    while not out or len(out) < max_bytes:
        status, headers, body = stack.api(path, {"offset": offset, "max_bytes": max_bytes - len(out)})
        if status == 416 and fetches:
            break
        assert status == 200, body
        if out and len(body) > max_bytes - len(out):
            break
        out, fetches, offset = out + body, fetches + 1, int(headers["x-tier-next-offset"])
    return out, fetches


def test_fetch_returns_the_original_batches_byte_for_byte(stack, data):
    batches = data["batches"]
    # orders/0 is three .log segments: batches[:10], [10:20], [20:]; a fetch reads one of them.
    segment_lasts = [batches[9][1], batches[19][1], batches[-1][1]]
    offsets = sorted({b[0] for b in batches[::2]} | {b[1] for b in batches[1::3]} | {batches[10][0] - 1})
    for offset in offsets:
        for max_bytes in (1, 5000, 1 << 20):
            status, headers, body = stack.api("/v1/topics/orders/partitions/0/records",
                                              {"offset": offset, "max_bytes": max_bytes})
            assert status == 200, body
            want = expected_fetch(within_segment(batches, segment_lasts, offset), offset, max_bytes)
            assert body == want, f"offset {offset} max {max_bytes}"
            for raw in split_batches(body):
                assert DefaultRecordBatch(bytearray(raw)).validate_crc()
            assert int(headers["x-tier-batch-count"]) == len(split_batches(body))
    # A consumer following the next offsets reads every batch once, in order, across the segments.
    everything, fetches = consume(stack, "/v1/topics/orders/partitions/0/records", batches[5][0], 1 << 20)
    assert everything == expected_fetch(batches, batches[5][0], 1 << 20) and fetches == 3


def test_api_errors_offsets_search_and_listings(stack, data):
    batches = data["batches"]
    status, _, body = stack.api("/v1/topics/orders/partitions/0/records", {"offset": 1})
    assert status == 416 and body["error"]["earliest"] == batches[0][0] and body["error"]["latest"] == batches[-1][1]
    assert stack.api("/v1/topics/orders/partitions/0/records", {"offset": "x"})[0] == 400
    assert stack.api("/v1/topics/nope/partitions/0/records", {"offset": 0})[0] == 404
    status, _, body = stack.api("/v1/topics/orders/partitions/0/offsets", {"spec": "latest"})
    assert (status, body["offset"]) == (200, batches[-1][1] + 1)
    records = [r for b in batches for r in b[3]]
    ts = records[len(records) // 2][1]
    _, _, body = stack.api("/v1/topics/orders/partitions/0/offsets", {"timestamp": ts})
    assert body["offset"] == next(o for o, t, *_ in records if t >= ts)
    _, _, body = stack.api("/v1/topics/orders/partitions/0/search", {"q": 'key:"key-3"', "limit": 1000})
    assert [h["offset"] for h in body["hits"]] == [o for o, _, k, *_ in records if k == b"key-3"]
    _, _, body = stack.api("/v1/topics")
    assert sorted(t["topic"] for t in body["topics"]) == ["clicks", "orders"]
    _, _, body = stack.api("/v1/topics/orders/partitions/0/records", {"offset": batches[3][0]}, accept="application/json")
    assert body["records"][0]["offset"] == batches[3][0]


def test_compactor_runs_on_the_schedule_event(stack, data):
    dry = stack.invoke("tier-compactor", event("schedule-compactor-dryrun.json"))  # topics: ["orders"]
    assert (dry["dry_run"], dry["partitions_examined"]) == (True, 1)
    # orders/0 holds three segments (one per .log): fewer than the four like-sized segments the
    # leveled policy waits for, so nothing is planned; the dry run still reports garbage and quarantine.
    assert dry["plans"] == [] and dry["merges_executed"] == 0, dry
    assert dry["gc"]["quarantined"] >= 1  # broken.wal from the quarantine test
    everything = stack.invoke("tier-compactor", event("schedule-compactor.json"))  # EventBridge envelope
    assert everything["partitions_examined"] == 3  # orders/0, clicks/0, clicks/1


def test_compactor_merges_on_dynamodb_and_fetch_is_unchanged(stack, data):
    # Three more sealed segments continue both clicks partitions (1,500 records each per segment):
    # four like-sized segments per partition, what the leveled policy merges into one.
    for n, start in enumerate((1500, 3000, 4500)):
        wal = stack.tmp / f"clicks-{n + 2}.wal"
        subprocess.run([TIERCTL, "gen", "-o", str(wal), "--topic", "clicks", "--partitions", "2", "--records", "3000",
                        "--codec", "lz4", "--start-offset", str(start), "--seed", str(n + 2)],
                       check=True, capture_output=True)
        key = f"wal/2026/11/24/broker 1-{43 + n:020d}.wal"
        stack.invoke("tier-indexer", stack.s3_event(key, stack.put(key, wal.read_bytes())))
    path = "/v1/topics/clicks/partitions/0/records"
    offsets = (0, 1400, 1499, 1500, 2999, 4500, 5999)
    # What consumers read is unchanged by the merge (single fetches may end later: one segment).
    before = [consume(stack, path, o, 200_000) for o in offsets]
    assert max(f for _, f in before) > 1
    run = copy.deepcopy(event("schedule-compactor-dryrun.json"))
    run.update(topics=["clicks"], dry_run=False)
    out = stack.invoke("tier-compactor", run)
    assert (out["merges_executed"], out["segments_in_merges"]) == (2, 8), out
    _, _, topic = stack.api("/v1/topics/clicks")
    assert [p["segment_count"] for p in topic["partitions"]] == [1, 1]
    after = [consume(stack, path, o, 200_000) for o in offsets]
    # (The warm fetch container may still end fetches at the old boundaries: its cached entries
    # stay good for their TTL, with the same bytes.)
    assert [b for b, _ in after] == [b for b, _ in before]


def test_compactor_applies_per_topic_retention_from_its_environment(stack, data):
    # TIER_RETENTION_TOPICS gives topic "audit" a 1-byte budget: all but its newest segment expire;
    # the other topics keep the default (no limit).
    for n, start in enumerate((0, 1000)):
        wal = stack.tmp / f"audit-{n}.wal"
        subprocess.run([TIERCTL, "gen", "-o", str(wal), "--topic", "audit", "--partitions", "1", "--records", "1000",
                        "--codec", "none", "--start-offset", str(start), "--seed", str(20 + n)],
                       check=True, capture_output=True)
        key = f"wal/2026/11/24/broker 2-{n:020d}.wal"
        stack.invoke("tier-indexer", stack.s3_event(key, stack.put(key, wal.read_bytes())))
    out = stack.invoke("tier-compactor", event("schedule-compactor.json"))
    assert [(p["topic"], p["expired"], p.get("earliest_after_retention")) for p in out["plans"]] == \
        [("audit", 1, 1000)], out
    assert out["segments_expired"] == 1 and out["gc"]["retired_waiting"] >= 1, out
    status, _, body = stack.api("/v1/topics/audit/partitions/0/records", {"offset": 999})
    assert status == 416 and body["error"]["earliest"] == 1000, body
    status, _, body = stack.api("/v1/topics/audit/partitions/0/records", {"offset": 1000, "max_bytes": 1})
    assert status == 200 and len(split_batches(body)) == 1


CHRONIK_DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "tests", "data", "chronik-wal", "demo")


def retopic(segment, prefix):
    """The segment with every frame's topic renamed to `prefix + topic`, re-framed here from the
    format spec (length and CRC-32 recomputed with zlib): the stored batches stay as they are."""
    import struct
    import zlib

    out, pos = b"", 0
    while pos < len(segment):
        magic, version, flags, length = struct.unpack_from("<HBBI", segment, pos)
        assert (magic, version, flags) == (0xCA7E, 2, 0)
        body = segment[pos + 12:pos + 12 + length]
        (tlen,) = struct.unpack_from("<H", body, 0)
        topic = (prefix + body[2:2 + tlen].decode()).encode()
        new_body = struct.pack("<H", len(topic)) + topic + body[2 + tlen:]
        head = struct.pack("<HBBI", magic, version, flags, len(new_body))
        crc = zlib.crc32(head + new_body)
        out += head + struct.pack("<I", crc) + new_body
        pos += 12 + length
    return out


def test_chronik_wal_segments_go_through_the_indexer_and_fetch_back_byte_for_byte(stack):
    """A broker's segments put under chronik-wal/<topic>/<partition>/ (as `s3-put-chronik-wal.json`
    names one) are indexed by the indexer function; every stored batch comes back from the fetch
    function with the sha256 of the fixtures' manifest and passes kafka-python's CRC check. (Topics
    get a `demo-` prefix, re-framed by `retopic`, so they do not meet this module's other data.)"""
    import hashlib

    manifest = json.load(open(os.path.join(CHRONIK_DEMO, "manifest.json")))
    for seg in manifest["segments"]:
        key = f"chronik-wal/demo-{seg['path']}"
        body = retopic(open(os.path.join(CHRONIK_DEMO, seg["path"]), "rb").read(), "demo-")
        ev = event("s3-put-chronik-wal.json")
        obj = ev["Records"][0]["s3"]
        obj["bucket"].update(name=stack.bucket, arn=f"arn:aws:s3:::{stack.bucket}")
        obj["object"].update(key=key, eTag=stack.put(key, body), size=len(body))
        out = stack.invoke("tier-indexer", ev)
        assert [o["outcome"] for o in out["objects"]] == ["indexed"], out
        assert out["objects"][0]["format"] == "chronik-wal"
    for b in manifest["batches"]:
        path = f"/v1/topics/demo-{b['topic']}/partitions/{b['partition']}/records"
        status, _, body = stack.api(path, {"offset": b["base_offset"], "max_bytes": 1})
        assert status == 200, body
        assert hashlib.sha256(body).hexdigest() == b["stored_batch_sha256"], b
        assert DefaultRecordBatch(bytearray(body)).validate_crc()


def test_ship_watch_ships_each_sealed_segment_once_and_the_indexer_indexes_it_once(stack):
    """A broker-like directory gains segments while `tierctl ship --watch` runs against the stack's
    bucket: each segment is uploaded once it is sealed (a higher-numbered one exists), the active
    one never; the indexer indexes each upload once; tierctl reads the result from S3 + DynamoDB."""
    broker = stack.tmp / "broker"
    aws = {**os.environ, "AWS_ENDPOINT_URL": ENDPOINT, "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}
    remote = ["--store", f"s3://{stack.bucket}", "--catalog", f"dynamodb://{stack.table}"]

    def segment(n):
        path = broker / "wal" / "payments" / "0" / f"wal_0_{n}.log"
        subprocess.run([TIERCTL, "gen", "--format", "chronik-wal", "-o", str(path), "--topic", "payments",
                        "--records", "40", "--batch-records", "10", "--start-offset", str(n * 40),
                        "--seed", str(n)], check=True, capture_output=True)

    def shipped():
        listing = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix="chronik-wal/payments/")
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def wait_for(keys):
        deadline = time.time() + 60
        while time.time() < deadline and shipped() != keys:
            assert ship.poll() is None, ship.stderr.read()
            time.sleep(0.3)
        assert shipped() == keys

    key = "chronik-wal/payments/0/wal_0_{}.log".format
    segment(0)
    segment(1)
    ship = subprocess.Popen([TIERCTL, "--data", str(stack.tmp / "shipper"), "--json", *remote, "ship", str(broker),
                             "--watch", "--interval", "1"], env=aws, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for([key(0)])
        segment(2)
        wait_for([key(0), key(1)])
        segment(3)
        wait_for([key(0), key(1), key(2)])
        time.sleep(2.5)  # two more rounds: nothing else is shipped
        assert shipped() == [key(0), key(1), key(2)], "the active segment is never shipped"
    finally:
        ship.terminate()
    assert ship.wait(timeout=30) == 0, ship.stderr.read()
    rounds = [json.loads(line) for line in ship.stdout.read().splitlines()]
    assert sum(r["uploaded"] for r in rounds) == 3, rounds
    assert rounds[-1]["lag"] == [{"topic": "payments", "partition": 0, "pending_segments": 0, "pending_bytes": 0,
                                  "active_bytes": (broker / "wal/payments/0/wal_0_3.log").stat().st_size}]

    for n in range(3):
        head = stack.s3.head_object(Bucket=stack.bucket, Key=key(n))
        ev = event("s3-put-chronik-wal.json")
        obj = ev["Records"][0]["s3"]
        obj["bucket"].update(name=stack.bucket, arn=f"arn:aws:s3:::{stack.bucket}")
        obj["object"].update(key=key(n), eTag=head["ETag"].strip('"'), size=head["ContentLength"])
        first = stack.invoke("tier-indexer", ev)
        assert first["objects"][0]["outcome"] == "indexed" and not first["objects"][0]["already_indexed"]
        again = stack.invoke("tier-indexer", ev)
        assert again["objects"][0]["already_indexed"] is True

    ls = json.loads(subprocess.run([TIERCTL, "--json", *remote, "ls", "--segments"], env=aws, check=True,
                                   capture_output=True, text=True).stdout)
    payments = [p for p in ls["partitions"] if p["topic"] == "payments"]
    assert [(p["partition"], p["segment_count"], p["earliest"], p["latest"]) for p in payments] == [(0, 3, 0, 119)]
    out = stack.tmp / "payments.bin"
    subprocess.run([TIERCTL, *remote, "fetch", "--topic", "payments", "--partition", "0", "--offset", "0",
                    "--max-bytes", str(1 << 20), "--format", "raw", "-o", str(out)], env=aws, check=True)
    batches = split_batches(out.read_bytes())
    assert len(batches) == 12 and all(DefaultRecordBatch(bytearray(b)).validate_crc() for b in batches)

    # Backfill of what is in the bucket: idempotent against what the indexer did, resumable by its
    # own ledger ids (the second run finds every segment indexed).
    def backfill():
        proc = subprocess.run([TIERCTL, "--json", *remote, "backfill", f"s3://{stack.bucket}/chronik-wal/payments/",
                               "--jobs", "2"], env=aws, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    first = backfill()
    assert first[-1]["segments"] == 3 and first[-1]["failed"] == 0 and first[-1]["rejected"] == 0, first
    assert backfill()[-1]["already_indexed"] == 3
    again = json.loads(subprocess.run([TIERCTL, "--json", *remote, "ls"], env=aws, check=True,
                                      capture_output=True, text=True).stdout)
    assert [p["segment_count"] for p in again["partitions"] if p["topic"] == "payments"] == [3]
    # Offsets and search through tierctl on S3 + DynamoDB.
    latest = json.loads(subprocess.run([TIERCTL, "--json", *remote, "offsets", "--topic", "payments", "--partition",
                                        "0", "--latest"], env=aws, check=True, capture_output=True, text=True).stdout)
    assert latest["offset"] == 120
    hits = json.loads(subprocess.run([TIERCTL, "--json", *remote, "search", "", "--topic", "payments", "--limit",
                                      "500"], env=aws, check=True, capture_output=True, text=True).stdout)
    assert hits["count"] == 120


def test_a_batch_larger_than_any_response_is_served_through_a_presigned_redirect(stack):
    """A 6 MiB batch cannot be a Lambda response (6 MB, base64 on top): the fetch function answers
    303 with the window's headers and a presigned S3 URL in `Location`, whose bytes are exactly the
    batch (kafka-python's CRC check passes). As JSON, the record comes back without its contents."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=8 << 20)
    value = random.Random(3).randbytes(6 << 20)
    assert builder.append(0, 1_767_225_600_000, b"big", value, []) is not None
    batch = bytes(builder.build())
    key = "kafka-logs/huge-0/00000000000000000000.log"
    ev = stack.s3_event(key, stack.put(key, batch))
    assert stack.invoke("tier-indexer", ev)["objects"][0]["outcome"] == "indexed"

    path = "/v1/topics/huge/partitions/0/records"
    status, headers, body = stack.api(path, {"offset": 0, "max_bytes": 1})
    assert status == 303, body
    assert headers["x-tier-next-offset"] == "1" and headers["x-tier-batch-count"] == "1"
    assert body["bytes"] == len(batch) and body["location"] == headers["location"]
    assert headers["location"].startswith(ENDPOINT), headers["location"]
    with urllib.request.urlopen(headers["location"], timeout=60) as got:
        fetched = got.read()
    assert fetched == batch
    assert DefaultRecordBatch(bytearray(fetched)).validate_crc()
    # Asked again: the same export object (put again, which restarts its lifecycle day).
    _, again, _ = stack.api(path, {"offset": 0})
    assert again["location"].split("?")[0] == headers["location"].split("?")[0]
    exports = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix="exports/huge/0/")["Contents"]
    assert len(exports) == 1

    status, _, window = stack.api(path, {"offset": 0}, accept="application/json")
    assert status == 200
    assert window["records"][0]["elided_bytes"] == len(value) + len(b"big")
    assert window["records"][0]["value"] is None
