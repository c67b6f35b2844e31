#!/usr/bin/env bash
# Peak memory of indexing real-size segments (docs/BENCHMARKS.md, "Bounded-memory indexing").
#
#   infra/bench-index-memory.sh [WORKDIR]
#
# Generates a ~1 GiB Apache Kafka .log (14.7 M JSON records, lz4) and a ~250 MiB Chronik WAL
# segment (690,000 records) with `tierctl gen`, indexes each into a fresh embedded backend with
# `tierctl index` under `/usr/bin/time -v`, and prints peak RSS, wall and CPU time per input.
# TIERCTL (default: target/release/tierctl) is measured; TIERCTL_BASELINE, if set, is measured
# on the same inputs in the same run (e.g. a build of an earlier commit). Needs ~4 GiB free in
# WORKDIR (default: a temporary directory, removed afterwards).
set -euo pipefail

target="${CARGO_TARGET_DIR:-target}"
tierctl="${TIERCTL:-$target/release/tierctl}"
[[ -x "$tierctl" ]] || { echo "no $tierctl: cargo build --release -p tierctl" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (GNU time)" >&2; exit 2; }

work="${1:-}"
if [[ -z "$work" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/kafka/orders-0" "$work/chronik/orders/0"
kafka="$work/kafka/orders-0/00000000000000000000.log"
chronik="$work/chronik/orders/0/wal_0_0.log"
[[ -s "$kafka" ]] || "$tierctl" gen --format kafka-log --topic orders --codec lz4 \
  --records 14700000 -o "$kafka" >/dev/null
[[ -s "$chronik" ]] || "$tierctl" gen --format chronik-wal --topic orders --codec lz4 \
  --records 690000 -o "$chronik" >/dev/null

measure() { # <label> <binary> <file>
  local data="$work/data" log="$work/time.txt"
  rm -rf "$data"
  /usr/bin/time -v "$2" --data "$data" --json index "$3" >/dev/null 2>"$log"
  awk -v label="$1" -v file="$(basename "$3")" -v bytes="$(stat -c %s "$3")" '
    /Maximum resident set size/ { rss = $NF }
    /User time/ { user = $NF }
    /System time/ { sys = $NF }
    /Elapsed \(wall clock\)/ { wall = $NF }
    END { printf "%-9s %-28s %7.1f MiB  peak RSS %6.1f MiB  wall %s  cpu %.1f s\n",
                 label, file, bytes / 1048576, rss / 1024, wall, user + sys }' "$log"
  rm -rf "$data"
}

for file in "$kafka" "$chronik"; do
  measure measured "$tierctl" "$file"
  if [[ -n "${TIERCTL_BASELINE:-}" ]]; then
    measure baseline "$TIERCTL_BASELINE" "$file"
  fi
done
