#!/usr/bin/env bash
# Runs every test of Chronik Tier. Installs what it needs itself (Python virtualenvs with pinned
# tooling: kafka-python, boto3, cargo-lambda, moto, cfn-lint, aws-sam-cli) and starts the local AWS
# stack (moto on 127.0.0.1) for the S3/DynamoDB tests; a missing service fails, nothing is skipped.
#
#   1. formatting and lints (warnings are errors)
#   2. Rust tests: unit, property, conformance suites of every store and catalog backend (S3 and
#      DynamoDB against the local stack), pipeline, CLI and Lambda handlers, system tar
#   3. deployment checks: cfn-lint, sam validate, checkov, OpenAPI, events
#   4. fuzz smoke: every cargo-fuzz target of fuzz/ for a few seconds (nightly toolchain; the long
#      runs are documented in docs/RELIABILITY.md)
#   5. Python: kafka-python cross-check of tierctl; kafka-python and confluent-kafka (librdkafka)
#      consumers reading the archive through `tierctl serve-kafka` (embedded and local stack); end
#      to end through the real Lambda binaries
#      under cargo-lambda's runtime emulator against the local stack; schemathesis against
#      docs/openapi.yaml through the fetch binary
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chronik-tier/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Some sandboxes ship /dev/null as a regular file. Build scripts that send output to /dev/null then
# fill it, and cargo's `rustc -` probe (which reads /dev/null as its source) fails with that text as a
# compile error, failing every later build. Replace such a file with the real device (needs root);
# otherwise empty it before each cargo command and say so.
dev_null_is_a_file=false
if [ ! -c /dev/null ]; then
  if rm -f /dev/null && mknod -m 666 /dev/null c 1 3; then
    echo "run-all: /dev/null was a regular file; replaced it with the null device" >&2
  else
    dev_null_is_a_file=true
    echo "run-all: warning: /dev/null is a regular file and cannot be replaced; emptying it before each build" >&2
  fi
fi
cargo() {
  if "$dev_null_is_a_file"; then : > /dev/null; fi
  command cargo "$@"
}
export CARGO_CACHE_RUSTC_INFO=0  # never reuse a probe result cached while /dev/null was broken
exec </dev/null

for tool in cargo python3 tar gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "run-all: $tool is required but not installed" >&2; exit 2; }
done

echo "== test tooling venv"
venv="$(tests/python-env.sh)"
export PATH="$venv/bin:$PATH"

echo "== local AWS stack (moto, 127.0.0.1)"
# A stack that was already running (a developer's) is reused and left running.
if ! infra/local-stack.sh env >/dev/null 2>&1; then
  trap 'infra/local-stack.sh down >/dev/null 2>&1 || true' EXIT
fi
eval "$(infra/local-stack.sh up)"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --all-targets --locked

echo "== deployment checks (cfn-lint, sam validate, checkov, OpenAPI, events)"
tests/deploy/check-template.sh

echo "== fuzz smoke (every target, nightly, address sanitizer)"
fuzz/run.sh smoke "${FUZZ_SMOKE_SECONDS:-15}"

echo "== kafka-python cross-check, Kafka consumers through serve-kafka, Lambda end-to-end"
cargo build --locked --quiet -p tierctl -p tier-indexer -p tier-fetch -p tier-compactor
TIERCTL="$CARGO_TARGET_DIR/debug/tierctl" python -m pytest -q -p no:cacheprovider \
  -W "ignore::DeprecationWarning" tests/crosscheck tests/consumers tests/e2e tests/api
