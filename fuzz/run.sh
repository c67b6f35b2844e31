#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (docs/RELIABILITY.md) with corpora seeded from the fixtures.
#
#   fuzz/run.sh smoke [SECONDS]      every target for SECONDS (default 20) each: CI's smoke
#   fuzz/run.sh runs N [TARGET...]   every (or each named) target for N executions, one line of
#                                    figures per target appended to fuzz/runs.log; with
#                                    FUZZ_JOBS=J, J processes share the corpus, N/J each;
#                                    FUZZ_SANITIZER=none for a build without AddressSanitizer
#                                    (several times faster; panics, hangs and OOM still caught)
#
# Needs the nightly toolchain (`rustup toolchain list`) and installs cargo-fuzz if missing. Builds
# into $FUZZ_TARGET_DIR (default ~/.cache/chronik-tier/fuzz-target). A crash stops with exit 1 and
# leaves the input under fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-smoke}"
shift || true

targets_all=(kafka_batch kafka_decompress wal_segment chronik_wal chronik_canonical source
  archive_toc archive_members archive_manifest index_query chunk_filters api_route lambda_events
  kafka_request)

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
  exit 2
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "== installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz@0.13.2 >&2
fi
main_target="${CARGO_TARGET_DIR:-$HOME/.cache/chronik-tier/target}"
sanitizer="${FUZZ_SANITIZER:-address}"
# Each sanitizer in a build directory of its own: switching rebuilds every dependency.
default_fuzz_target="$HOME/.cache/chronik-tier/fuzz-target"
[ "$sanitizer" = address ] || default_fuzz_target="$default_fuzz_target-$sanitizer"
fuzz_target="${FUZZ_TARGET_DIR:-$default_fuzz_target}"
fuzz() {
  local cmd="$1"
  shift
  CARGO_TARGET_DIR="$fuzz_target" cargo +nightly fuzz "$cmd" -s "$sanitizer" "$@"
}

echo "== building fuzz targets (nightly, sanitizer: $sanitizer)" >&2
fuzz build -O >&2

# Seeds: the fixtures, plus small inputs made by tierctl (the stable build of the workspace).
seed() {
  local work corpus tierctl
  work="$(mktemp -d)"
  corpus="$PWD/corpus"
  tierctl="${TIERCTL:-}"
  if [ -z "$tierctl" ]; then
    (cd .. && CARGO_TARGET_DIR="$main_target" cargo build --quiet --locked -p tierctl) >&2
    tierctl="$main_target/debug/tierctl"
  fi
  for t in "${targets_all[@]}"; do mkdir -p "$corpus/$t"; done
  cp seeds/archive_toc/* "$corpus/archive_toc/"
  cp seeds/index_query/* "$corpus/index_query/"
  cp seeds/kafka_request/* "$corpus/kafka_request/"
  cp ../events/*.json "$corpus/lambda_events/"
  for f in ../shared/tests/data/v2/*.bin; do
    cp "$f" "$corpus/kafka_batch/"
    cp "$f" "$corpus/source/"
    # The records section after the 61-byte header, behind its codec's selector byte.
    python3 - "$f" "$corpus/kafka_decompress/$(basename "$f")" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
codec = data[22] & 7  # attributes (int16 at 21..23), low 3 bits
open(sys.argv[2], "wb").write(bytes([codec]) + data[61:])
PY
  done
  find ../shared/tests/data/chronik-wal/demo -name '*.log' | while read -r f; do
    name="$(echo "$f" | tr '/' '_')"
    cp "$f" "$corpus/chronik_wal/$name"
    cp "$f" "$corpus/source/$name"
    # Each frame's payload (the bincode CanonicalRecord): a 12-byte header (length at 4..8), then
    # topic length (u16), topic, partition (u32), data length (u32), data, 20-byte trailer.
    python3 - "$f" "$corpus/chronik_canonical/$name" <<'PY'
import struct, sys
data, pos, n = open(sys.argv[1], "rb").read(), 0, 0
while pos + 12 <= len(data) and n < 4:
    length = struct.unpack_from("<I", data, pos + 4)[0]
    body = data[pos + 12 : pos + 12 + length]
    topic_len = struct.unpack_from("<H", body, 0)[0]
    at = 2 + topic_len + 4
    data_len = struct.unpack_from("<I", body, at)[0]
    open(f"{sys.argv[2]}.{n}", "wb").write(body[at + 4 : at + 4 + data_len])
    pos, n = pos + 12 + length, n + 1
PY
  done
  "$tierctl" gen -o "$work/a.wal" --records 200 --partitions 2 --batch-records 20 >/dev/null
  "$tierctl" gen -o "$work/b.wal" --topic logs --records 50 --codec zstd --shape text >/dev/null
  "$tierctl" gen --format kafka-log -o "$work/c.log" --records 100 --codec gzip >/dev/null
  cp "$work/a.wal" "$work/b.wal" "$corpus/wal_segment/"
  cp "$work/a.wal" "$work/c.log" "$corpus/source/"
  cp "$work/c.log" "$corpus/kafka_batch/"
  "$tierctl" --data "$work/d" index "$work/a.wal" >/dev/null
  "$tierctl" --data "$work/d" index "$work/b.wal" >/dev/null
  find "$work/d/objects/archives" -name '*.tar.gz' | while read -r a; do
    cp "$a" "$corpus/archive_members/"
    tar -xzf "$a" -C "$work" manifest.json
    cp "$work/manifest.json" "$corpus/archive_manifest/$(basename "$a").json"
  done
  rm -rf "$work"
}
seed

case "$mode" in
  smoke)
    seconds="${1:-20}"
    for t in "${targets_all[@]}"; do
      echo "== fuzz smoke: $t (${seconds}s)"
      log="$(mktemp)"
      status=0
      fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
        -max_len=1048576 -print_final_stats=1 >"$log" 2>&1 || status=$?
      grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" || true
      if [ "$status" -ne 0 ]; then
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" >&2 || tail -40 "$log" >&2
        echo "fuzz: $t failed (exit $status); the input is under fuzz/artifacts/$t" >&2
        exit 1
      fi
      rm -f "$log"
    done
    ;;
  runs)
    runs="${1:?runs N [TARGET...]}"
    shift
    targets=("$@")
    [ "${#targets[@]}" -gt 0 ] || targets=("${targets_all[@]}")
    jobs="${FUZZ_JOBS:-1}"
    for t in "${targets[@]}"; do
      start=$(date +%s)
      log="$(mktemp)"
      stats="$log"
      status=0
      if [ "$jobs" -gt 1 ]; then
        # libFuzzer's -jobs: each job writes fuzz-<i>.log here; their figures are summed.
        rm -f fuzz-*.log
        fuzz run -O "$t" "corpus/$t" -- -runs=$(( runs / jobs )) -jobs="$jobs" -workers="$jobs" \
          -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 >"$log" 2>&1 || status=$?
        # The jobs' figures only (the parent repeats some of them).
        stats="$(mktemp)"
        cat fuzz-*.log >"$stats" 2>/dev/null || true
        cat "$stats" >>"$log"
        grep -q 'ERROR: libFuzzer' fuzz-*.log && status=1
        rm -f fuzz-*.log
      else
        fuzz run -O "$t" "corpus/$t" -- -runs="$runs" -rss_limit_mb=2048 \
          -max_len=1048576 -print_final_stats=1 >"$log" 2>&1 || status=$?
      fi
      execs=$(grep -oP 'stat::number_of_executed_units:\s*\K[0-9]+' "$stats" | paste -sd+ | bc || echo 0)
      rss=$(grep -oP 'stat::peak_rss_mb:\s*\K[0-9]+' "$stats" | sort -n | tail -1 || echo 0)
      cov=$(grep -oP '#[0-9]+\s+DONE\s+cov: \K[0-9]+' "$stats" | sort -n | tail -1 || echo "?")
      line="$(date -u +%F) $t execs=$execs seconds=$(( $(date +%s) - start )) cov=$cov peak_rss_mb=$rss corpus=$(ls "corpus/$t" | wc -l) jobs=$jobs sanitizer=$sanitizer exit=$status"
      echo "$line" | tee -a runs.log
      [ "$status" -eq 0 ] || { tail -40 "$log" >&2; exit 1; }
      rm -f "$log"
      [ "$stats" = "$log" ] || rm -f "$stats"
    done
    ;;
  *)
    echo "usage: fuzz/run.sh smoke [SECONDS] | runs N [TARGET...]" >&2
    exit 2
    ;;
esac
