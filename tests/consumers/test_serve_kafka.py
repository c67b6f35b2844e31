"""Kafka consumers nobody here wrote read the archive through `tierctl serve-kafka`.

kafka-python builds the batches (every codec, null keys and values, headers, offset gaps,
transactional batches, and control batches carrying COMMIT and ABORT markers, one transaction
spanning two segments); they are written as Kafka `.log` segments, three per partition, and indexed
with `tierctl index` into the embedded backend and into S3 + DynamoDB on the local stack. Then
kafka-python's `KafkaConsumer` and confluent-kafka's (librdkafka's) `Consumer` consume the whole
topic through the endpoint, with their own CRC checks on: read_uncommitted delivers every record,
read_committed exactly the committed ones (librdkafka and kafka-python each apply the aborted
transactions the endpoint returns). Committed offsets survive a restart of the endpoint.
"""

import json
import os
import pathlib
import random
import signal
import struct
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer
from confluent_kafka import TopicPartition as CTopicPartition
from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

ROOT = pathlib.Path(__file__).resolve().parents[2]
TIERCTL = os.environ["TIERCTL"]
ENDPOINT = os.environ.get("TIER_TEST_AWS_ENDPOINT")
TOPIC = "orders"
PARTITIONS = 2
CODECS = [0, 1, 2, 3, 4]  # none, gzip, snappy, lz4, zstd
T0 = 1_767_225_600_000
ABORT, COMMIT = 0, 1


def batch(base, records, codec=0, producer=-1, transactional=False, control=False):
    """One v2 batch at `base` of `records` [(ts, key, value, headers)], built by kafka-python."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=transactional,
                                  producer_id=producer, producer_epoch=0 if producer >= 0 else -1,
                                  base_sequence=0 if producer >= 0 else -1, batch_size=1 << 22)
    for delta, (ts, key, value, headers) in enumerate(records):
        assert b.append(delta, ts, key, value, headers) is not None
    raw = bytearray(b.build())
    struct.pack_into(">q", raw, 0, base)  # the broker's offset, outside the CRC
    if control:
        # kafka-python builds no control batches: set the attribute bit and the CRC as a broker would.
        (attrs,) = struct.unpack_from(">h", raw, 21)
        struct.pack_into(">h", raw, 21, attrs | 0x20)
        struct.pack_into(">I", raw, 17, calc_crc32c(bytes(raw[21:])))
    return bytes(raw)


class Partition:
    """A partition's batches and what a consumer must see of them."""

    def __init__(self, partition, rng):
        self.partition = partition
        self.rng = rng
        self.next = 0
        self.segments = [[]]
        self.records = []  # (offset, key, value, headers, producer)
        self.end = 0
        self.txn_of = {}  # producer -> id of its running transaction
        self.txn_records = {}  # txn id -> offsets of its records
        self.aborted_offsets = set()
        self.codecs = []
        self.gaps = 0

    def cut(self):
        self.segments.append([])

    def data(self, n, producer=-1, transactional=False):
        codec = CODECS[len(self.codecs) % len(CODECS)]
        self.codecs.append(codec)
        recs = []
        for i in range(n):
            offset = self.next + i
            key = None if self.rng.random() < 0.2 else f"k{self.rng.randint(0, 9)}".encode()
            value = None if self.rng.random() < 0.1 else json.dumps(
                {"p": self.partition, "o": offset, "pad": "x" * self.rng.randint(0, 200)}).encode()
            headers = [("h", f"v{offset}".encode()), ("null", None)] if self.rng.random() < 0.4 else []
            recs.append((T0 + offset * 10, key, value, headers))
            self.records.append((offset, key, value, headers, producer))
        self.segments[-1].append(batch(self.next, recs, codec, producer, transactional))
        if transactional:
            txn = self.txn_of.setdefault(producer, uuid.uuid4().hex)
            self.txn_records.setdefault(txn, []).extend(range(self.next, self.next + n))
        gap = self.rng.choice([0, 0, 1, 3])  # offset gaps, as compaction leaves
        self.gaps += gap > 0
        self.end = self.next + n  # the log end offset: one past the last offset written
        self.next += n + gap

    def marker(self, producer, kind):
        key = struct.pack(">hh", 0, kind)
        value = struct.pack(">hi", 0, 7)
        self.segments[-1].append(batch(self.next, [(T0 + self.next * 10, key, value, [])],
                                       producer=producer, transactional=True, control=True))
        self.end = self.next + 1
        txn = self.txn_of.pop(producer, None)
        if kind == ABORT and txn is not None:
            self.aborted_offsets.update(self.txn_records[txn])
        self.next += 1

    def expected(self, committed_only):
        return [(o, k, v, h) for (o, k, v, h, _) in self.records
                if not (committed_only and o in self.aborted_offsets)]


def build_topic(seed=12):
    rng = random.Random(seed)
    parts = []
    for p in range(PARTITIONS):
        part = Partition(p, rng)
        part.data(30)
        part.data(5, producer=100 + p, transactional=True)
        part.data(7)
        part.data(4, producer=200 + p, transactional=True)  # spans into the next segment
        part.marker(100 + p, COMMIT)
        part.data(12)
        part.cut()
        part.data(3, producer=200 + p, transactional=True)
        part.data(6, producer=300 + p, transactional=True)
        part.data(9)
        part.marker(300 + p, ABORT)
        part.marker(200 + p, ABORT)
        part.data(20)
        part.cut()
        part.data(8, producer=400 + p, transactional=True)
        part.data(10)
        part.marker(400 + p, COMMIT)
        part.data(25)
        parts.append(part)
    # What the topic is meant to exercise, present in every partition.
    for part in parts:
        assert set(part.codecs) == set(CODECS) and part.gaps > 0 and len(part.segments) == 3
        assert any(k is None for (_, k, _, _, _) in part.records)
        assert any(v is None for (_, _, v, _, _) in part.records)
        assert any(h for (_, _, _, h, _) in part.records)
        assert part.aborted_offsets and len(part.aborted_offsets) < len(part.records)
    return parts


def write_logs(tmp, parts):
    files = []
    for part in parts:
        log_dir = tmp / f"{TOPIC}-{part.partition}"
        log_dir.mkdir(parents=True)
        for segment in part.segments:
            (base,) = struct.unpack_from(">q", segment[0], 0)
            path = log_dir / f"{base:020d}.log"
            path.write_bytes(b"".join(segment))
            files.append(path)
    return files


class Endpoint:
    """`tierctl serve-kafka` on a free loopback port, over the given backend arguments."""

    def __init__(self, backend, env):
        self.backend, self.env = backend, env
        self.proc = subprocess.Popen([TIERCTL, *backend, "--json", "serve-kafka", "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline()
        assert line, f"serve-kafka did not start: {self.proc.stderr.read()}"
        self.address = json.loads(line)["listening"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=20) == 0, self.proc.stderr.read()


@pytest.fixture(params=["embedded", "local-stack"])
def archive(request, tmp_path):
    parts = build_topic()
    files = write_logs(tmp_path / "logs", parts)
    env = dict(os.environ)
    if request.param == "embedded":
        backend = ["--data", str(tmp_path / "data")]
    else:
        assert ENDPOINT, "TIER_TEST_AWS_ENDPOINT is not set: start the local stack (infra/local-stack.sh up)"
        bucket, table = f"tier-kafka-{uuid.uuid4().hex[:10]}", f"tier-kafka-{uuid.uuid4().hex[:10]}"
        env.update(AWS_ENDPOINT_URL=ENDPOINT, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_REGION="us-east-1")
        subprocess.run([sys.executable, str(ROOT / "infra" / "create-resources.py"), "--bucket", bucket,
                        "--table", table], check=True, env=env, capture_output=True)
        backend = ["--store", f"s3://{bucket}", "--catalog", f"dynamodb://{table}"]
    subprocess.run([TIERCTL, *backend, "index", *map(str, files)], check=True, env=env, capture_output=True)
    endpoint = Endpoint(backend, env)
    yield parts, endpoint
    if endpoint.proc.poll() is None:
        endpoint.stop()


def norm_headers(headers):
    return [(k, None if v is None else bytes(v)) for k, v in (headers or [])]


def consume_kafka_python(address, isolation):
    c = KafkaConsumer(bootstrap_servers=address, enable_auto_commit=False, check_crcs=True,
                      isolation_level=isolation, consumer_timeout_ms=4000, fetch_max_bytes=64 << 10)
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    c.assign(tps)
    c.seek_to_beginning()
    got = {p: [] for p in range(PARTITIONS)}
    for m in c:
        got[m.partition].append((m.offset, m.key, m.value, norm_headers(m.headers)))
    c.close()
    return got


def consume_librdkafka(address, isolation):
    c = Consumer({"bootstrap.servers": address, "group.id": "librdkafka-readers", "enable.auto.commit": False,
                  "isolation.level": isolation, "check.crcs": True, "enable.partition.eof": True,
                  "message.max.bytes": 64 << 10, "fetch.max.bytes": 64 << 10,
                  "max.partition.fetch.bytes": 16 << 10, "fetch.wait.max.ms": 100})
    c.assign([CTopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got = {p: [] for p in range(PARTITIONS)}
    at_end, idle = set(), 0
    while len(at_end) < PARTITIONS and idle < 20:
        m = c.poll(0.5)
        if m is None:
            idle += 1
            continue
        if m.error():
            assert m.error().code() == -191, m.error()  # _PARTITION_EOF
            at_end.add(m.partition())
            continue
        got[m.partition()].append((m.offset(), m.key(), m.value(), norm_headers(m.headers())))
    c.close()
    assert len(at_end) == PARTITIONS, "every partition reaches its end"
    return got


@pytest.mark.parametrize("consume", [consume_kafka_python, consume_librdkafka], ids=["kafka-python", "librdkafka"])
def test_consumers_read_every_record_or_exactly_the_committed_ones(archive, consume):
    parts, endpoint = archive
    for isolation, committed_only in [("read_uncommitted", False), ("read_committed", True)]:
        got = consume(endpoint.address, isolation)
        for part in parts:
            want = [(o, k, v, norm_headers(h)) for (o, k, v, h) in part.expected(committed_only)]
            assert got[part.partition] == want, f"{isolation}, partition {part.partition}"


def test_offsets_for_times_and_committed_offsets_that_survive_a_restart(archive):
    parts, endpoint = archive
    c = KafkaConsumer(bootstrap_servers=endpoint.address, group_id="py-readers", enable_auto_commit=False)
    tps = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
    assert c.beginning_offsets(tps) == {tp: 0 for tp in tps}
    assert c.end_offsets(tps) == {tp: parts[tp.partition].end for tp in tps}
    # The first record at or after a time: every record's timestamp is T0 + 10 * offset.
    for tp in tps:
        for rec in parts[tp.partition].records[::17]:
            found = c.offsets_for_times({tp: T0 + rec[0] * 10 - 5})[tp]
            assert (found.offset, found.timestamp) == (rec[0], T0 + rec[0] * 10)
        assert c.offsets_for_times({tp: T0 + 10**9})[tp] is None
    c.assign(tps)
    c.commit({tps[0]: OffsetAndMetadata(42, "py", -1), tps[1]: OffsetAndMetadata(7, "", -1)})
    c.close()
    lib = Consumer({"bootstrap.servers": endpoint.address, "group.id": "lib-readers", "enable.auto.commit": False})
    lib.commit(offsets=[CTopicPartition(TOPIC, 1, 99)], asynchronous=False)
    lib.close()
    # A write is refused with an error, and the endpoint keeps serving.
    errors = []
    p = Producer({"bootstrap.servers": endpoint.address, "message.timeout.ms": 5000})
    p.produce(TOPIC, b"not archived", partition=0, on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert errors and errors[0] is not None and errors[0].code() == 42, errors  # INVALID_REQUEST

    endpoint.stop()
    again = Endpoint(endpoint.backend, endpoint.env)
    try:
        c = KafkaConsumer(bootstrap_servers=again.address, group_id="py-readers", enable_auto_commit=False)
        assert c.committed(tps[0]) == 42 and c.committed(tps[1]) == 7
        c.close()
        lib = Consumer({"bootstrap.servers": again.address, "group.id": "lib-readers"})
        [tp] = lib.committed([CTopicPartition(TOPIC, 1)], timeout=10)
        assert tp.offset == 99
        lib.close()
        # A consumer resuming from its committed offset reads on from there.
        lib = Consumer({"bootstrap.servers": again.address, "group.id": "lib-readers",
                        "enable.auto.commit": False, "enable.partition.eof": True})
        lib.assign([CTopicPartition(TOPIC, 1, 99)])
        first = None
        while first is None:
            m = lib.poll(5)
            assert m is not None
            if not m.error():
                first = m.offset()
        lib.close()
        assert first == min(r[0] for r in parts[1].records if r[0] >= 99)
    finally:
        again.stop()
