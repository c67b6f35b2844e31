#!/usr/bin/env python3
"""Write golden RecordBatch v2 files with kafka-python, an encoder nobody here wrote.

For each case, writes tests/data/v2/<name>.bin (one batch, exactly as
kafka-python's DefaultRecordBatchBuilder builds it, except bytes 0..8: the base
offset, which a broker assigns and which lies outside the CRC) and
tests/data/v2/<name>.json (the records a reader must decode).

kafka-python always writes snappy in xerial framing; the "snappy_raw" case
re-compresses an uncompressed kafka-python batch as one raw snappy block
(python-snappy) and recomputes the CRC with kafka-python's calc_crc32c, to
cover the other snappy form some producers (e.g. librdkafka) write.

gzip.bin changes on every run (kafka-python's gzip header stores the current
time); the other files are reproducible.

Usage (from the crate root):
    python3 -m venv .venv
    .venv/bin/pip install -r scripts/requirements.txt
    .venv/bin/python scripts/make_golden.py
"""

import json
import pathlib
import struct

import snappy
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

OUT_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "v2"
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
BASE_TIMESTAMP = 1_700_000_000_000
# Repetitive text so every codec shrinks the batch: kafka-python silently
# writes an uncompressed batch when compression does not save space.
FILLER = b" chronik tier keeps kafka segments" * 6

# (offset delta, timestamp, key, value, headers)
RECORDS = [
    (0, BASE_TIMESTAMP, b"key-0", b"value-0" + FILLER,
     [("trace-id", b"abc123"), ("empty", b""), ("null-value", None)]),
    (1, BASE_TIMESTAMP - 5, None, b"null key" + FILLER, []),
    (2, BASE_TIMESTAMP + 1234, b"tombstone", None, [("\u00fcnicode-\u043a\u043b\u044e\u0447", b"\x00\xff")]),
    (3, BASE_TIMESTAMP + 99, b"", b"", []),
]

# name -> (codec, base offset, transactional, producer id, producer epoch, base sequence)
CASES = {
    "none": ("none", 0, False, -1, -1, -1),
    "gzip": ("gzip", 1_000, False, -1, -1, -1),
    "snappy": ("snappy", 2_000, False, -1, -1, -1),
    "lz4": ("lz4", 3_000, False, -1, -1, -1),
    "zstd": ("zstd", 4_000, False, -1, -1, -1),
    "transactional": ("zstd", 5_000, True, 4242, 3, 17),
    "snappy_raw": ("snappy", 6_000, False, -1, -1, -1),
}
HEADER_SIZE = 61
ATTRIBUTES_OFFSET = 21
CRC_OFFSET = 17


def hex_or_none(data):
    return None if data is None else bytes(data).hex()


def build(codec, base_offset, transactional, producer_id, producer_epoch, base_sequence):
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=CODECS[codec], is_transactional=transactional,
        producer_id=producer_id, producer_epoch=producer_epoch,
        base_sequence=base_sequence, batch_size=1 << 20)
    for offset_delta, timestamp, key, value, headers in RECORDS:
        assert builder.append(offset_delta, timestamp, key, value, headers) is not None
    batch = bytearray(builder.build())
    struct.pack_into(">q", batch, 0, base_offset)
    return bytes(batch)


def build_raw_snappy(base_offset, transactional, producer_id, producer_epoch, base_sequence):
    plain = build("none", base_offset, transactional, producer_id, producer_epoch, base_sequence)
    batch = bytearray(plain[:HEADER_SIZE] + snappy.compress(plain[HEADER_SIZE:]))
    struct.pack_into(">i", batch, 8, len(batch) - 12)
    (attributes,) = struct.unpack_from(">h", batch, ATTRIBUTES_OFFSET)
    struct.pack_into(">h", batch, ATTRIBUTES_OFFSET, attributes | CODECS["snappy"])
    struct.pack_into(">I", batch, CRC_OFFSET, calc_crc32c(bytes(batch[ATTRIBUTES_OFFSET:])))
    return bytes(batch)


def expected(codec, base_offset, transactional, producer_id, producer_epoch, base_sequence):
    return {
        "codec": codec,
        "base_offset": base_offset,
        "transactional": transactional,
        "producer_id": producer_id,
        "producer_epoch": producer_epoch,
        "base_sequence": base_sequence,
        "base_timestamp": RECORDS[0][1],
        "max_timestamp": max(record[1] for record in RECORDS),
        "records": [
            {
                "offset": base_offset + offset_delta,
                "timestamp": timestamp,
                "key": hex_or_none(key),
                "value": hex_or_none(value),
                "headers": [{"key": k, "value": hex_or_none(v)} for k, v in headers],
            }
            for offset_delta, timestamp, key, value, headers in RECORDS
        ],
    }


def check_with_kafka_python(batch_bytes, spec):
    """Decode our own output with kafka-python's reader before trusting it."""
    batch = DefaultRecordBatch(bytearray(batch_bytes))
    assert batch.validate_crc(), "CRC"
    assert batch.compression_type == CODECS[spec["codec"]], "kafka-python fell back to another codec"
    assert batch.is_transactional == spec["transactional"]
    assert batch.producer_id == spec["producer_id"]
    decoded = [
        {
            "offset": record.offset,
            "timestamp": record.timestamp,
            "key": hex_or_none(record.key),
            "value": hex_or_none(record.value),
            "headers": [{"key": k, "value": hex_or_none(v)} for k, v in record.headers],
        }
        for record in batch
    ]
    assert decoded == spec["records"], (decoded, spec["records"])


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, case in CASES.items():
        batch = build_raw_snappy(*case[1:]) if name == "snappy_raw" else build(*case)
        spec = expected(*case)
        check_with_kafka_python(batch, spec)
        (OUT_DIR / f"{name}.bin").write_bytes(batch)
        (OUT_DIR / f"{name}.json").write_text(json.dumps(spec, indent=2, ensure_ascii=False) + "\n")
        print(f"{name}: {len(batch)} bytes")


if __name__ == "__main__":
    main()
