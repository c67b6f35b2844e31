#!/usr/bin/env python3
"""Read batches written by our Rust BatchBuilder with kafka-python's reader.

The Rust test `builder_reproduces_golden_records` rebuilds every golden case
of tests/data/v2 with BatchBuilder and, when KAFKA_BUILDER_OUT is set, writes
<dir>/<name>.bin. This script checks each of them with kafka-python's
DefaultRecordBatch: the CRC validates, the header fields and records equal
tests/data/v2/<name>.json.

Usage (from the crate root):
    KAFKA_BUILDER_OUT=/tmp/kafka-builder cargo test builder_reproduces_golden_records
    .venv/bin/python scripts/check_builder.py /tmp/kafka-builder
Exits non-zero on the first mismatch.
"""

import json
import pathlib
import sys

from kafka.record.default_records import DefaultRecordBatch

GOLDEN_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "v2"
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def hex_or_none(data):
    return None if data is None else bytes(data).hex()


def check(path, spec):
    data = path.read_bytes()
    batch = DefaultRecordBatch(bytearray(data))
    assert batch.size_in_bytes == len(data), "batch length field"
    assert batch.validate_crc(), "CRC rejected by kafka-python"
    assert batch.compression_type == CODECS[spec["codec"]], "codec"
    assert batch.base_offset == spec["base_offset"], "base offset"
    assert batch.is_transactional == spec["transactional"], "transactional flag"
    assert batch.producer_id == spec["producer_id"], "producer id"
    assert batch.producer_epoch == spec["producer_epoch"], "producer epoch"
    assert batch.base_sequence == spec["base_sequence"], "base sequence"
    assert batch.first_timestamp == spec["base_timestamp"], "base timestamp"
    assert batch.max_timestamp == spec["max_timestamp"], "max timestamp"
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
    assert decoded == spec["records"], "records differ"


def main(out_dir):
    paths = sorted(pathlib.Path(out_dir).glob("*.bin"))
    if not paths:
        sys.exit(f"no .bin files in {out_dir}")
    for path in paths:
        spec = json.loads((GOLDEN_DIR / f"{path.stem}.json").read_text())
        check(path, spec)
        print(f"{path.stem}: ok ({spec['codec']}, {path.stat().st_size} bytes)")
    print(f"{len(paths)} passed, 0 failed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
