#!/usr/bin/env bash
# Runs every test of Chronik Tier: formatting and lints, the Rust unit/property/integration tests
# (including the system-tar check and the backend conformance suites), then the kafka-python
# cross-check against the real tierctl binary. Installs what it needs (a Python venv) itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/chronik-tier/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

for tool in cargo python3 tar gzip; do
  command -v "$tool" >/dev/null || { echo "run-all: $tool is required but not installed" >&2; exit 2; }
done

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --all-targets --locked

echo "== deployment checks (cfn-lint, sam validate, OpenAPI, events)"
tests/deploy/check-template.sh

echo "== kafka-python cross-check"
cargo build -p tierctl --locked --quiet
TIERCTL="$CARGO_TARGET_DIR/debug/tierctl" tests/crosscheck/run.sh
