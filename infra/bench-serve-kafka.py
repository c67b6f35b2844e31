#!/usr/bin/env python3
"""Consume throughput of one archived partition through `tierctl serve-kafka`, against
`tierctl fetch --format raw` of the same range, in the same run (docs/BENCHMARKS.md).

    TIERCTL=target/release/tierctl python3 infra/bench-serve-kafka.py [--records N] [--codec C]

Needs confluent-kafka and kafka-python (the test venv, tests/python-env.sh, has both). Generates
one partition with `tierctl gen`, indexes it into a temporary embedded backend, then times, each
best of --runs:
  - baseline: `tierctl fetch --offset 0 --max-bytes <all> --format raw -o FILE` (every batch, as
    bytes, to a file);
  - librdkafka (confluent-kafka `Consumer`, CRC checks on) consuming every record through the
    endpoint (`fetch.max.bytes` 50 MiB);
  - kafka-python `KafkaConsumer` consuming every record.
Prints a JSON report: seconds, MB/s of batch bytes, records/s, each ratio to the baseline, and
the endpoint's own CPU seconds (from /proc) while each client consumed.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

TIERCTL = os.environ.get("TIERCTL", "target/release/tierctl")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far (Linux /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def best(runs, fn):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--codec", default="lz4")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from kafka import KafkaConsumer
    from kafka import TopicPartition as PyTopicPartition

    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        wal = os.path.join(tmp, "seg.wal")
        subprocess.run([TIERCTL, "gen", "-o", wal, "--topic", "bench", "--partitions", "1", "--records",
                        str(args.records), "--codec", args.codec], check=True, capture_output=True)
        subprocess.run([TIERCTL, "--data", data, "index", wal], check=True, capture_output=True)
        ls = json.loads(subprocess.run([TIERCTL, "--data", data, "--json", "ls"], check=True,
                                       capture_output=True).stdout)
        part = ls["partitions"][0]
        batch_bytes = part["data_bytes"]
        end = part["log_end_offset"]

        out = os.path.join(tmp, "out.bin")

        def raw_fetch():
            subprocess.run([TIERCTL, "--data", data, "fetch", "--topic", "bench", "--partition", "0",
                            "--offset", "0", "--max-bytes", str(batch_bytes * 2), "--format", "raw",
                            "-o", out], check=True, capture_output=True)
            return os.path.getsize(out)

        baseline, fetched = best(args.runs, raw_fetch)

        server = subprocess.Popen([TIERCTL, "--data", data, "--json", "serve-kafka", "--listen",
                                   "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True)
        address = json.loads(server.stdout.readline())["listening"]
        try:
            def librdkafka():
                c = Consumer({"bootstrap.servers": address, "group.id": "bench", "enable.auto.commit": False,
                              "check.crcs": True, "enable.partition.eof": True,
                              "fetch.max.bytes": 50 << 20, "max.partition.fetch.bytes": 16 << 20})
                c.assign([TopicPartition("bench", 0, OFFSET_BEGINNING)])
                n, idle = 0, 0
                while n < part["record_count"]:
                    msgs = c.consume(10_000, timeout=0.1)
                    idle = 0 if msgs else idle + 1
                    if idle > 50:
                        raise SystemExit("librdkafka: no records within 5 s")
                    n += sum(1 for m in msgs if not m.error())
                c.close()
                return n

            def kafka_python():
                c = KafkaConsumer(bootstrap_servers=address, enable_auto_commit=False, check_crcs=True,
                                  consumer_timeout_ms=3000, fetch_max_bytes=50 << 20,
                                  max_partition_fetch_bytes=16 << 20)
                tp = PyTopicPartition("bench", 0)
                c.assign([tp])
                c.seek_to_beginning()
                n = 0
                while c.position(tp) < end:
                    for records in c.poll(timeout_ms=1000).values():
                        n += len(records)
                c.close()
                return n

            cpu0 = cpu_seconds(server.pid)
            lib_s, lib_n = best(args.runs, librdkafka)
            cpu1 = cpu_seconds(server.pid)
            py_s, py_n = best(1, kafka_python)
            cpu2 = cpu_seconds(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=20)
    mb = batch_bytes / 1e6
    report = {
        "records": args.records, "codec": args.codec, "batch_bytes": batch_bytes, "fetched_bytes": fetched,
        "baseline_tierctl_fetch_raw": {"seconds": round(baseline, 3), "mb_per_s": round(mb / baseline, 1)},
        "librdkafka_via_serve_kafka": {"seconds": round(lib_s, 3), "mb_per_s": round(mb / lib_s, 1),
                                       "records": lib_n, "records_per_s": round(lib_n / lib_s),
                                       "time_vs_baseline": round(lib_s / baseline, 2),
                                       "server_cpu_seconds_per_run": round((cpu1 - cpu0) / args.runs, 3)},
        "kafka_python_via_serve_kafka": {"seconds": round(py_s, 3), "mb_per_s": round(mb / py_s, 1),
                                         "records": py_n, "records_per_s": round(py_n / py_s),
                                         "time_vs_baseline": round(py_s / baseline, 2),
                                         "server_cpu_seconds": round(cpu2 - cpu1, 3)},
    }
    assert lib_n == py_n == args.records, report
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
