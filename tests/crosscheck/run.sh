#!/usr/bin/env bash
# Cross-checks tierctl against kafka-python, a Kafka client nobody here wrote.
# Creates (or reuses) a virtualenv with the pinned requirements, then runs pytest.
# Needs TIERCTL: path to a built tierctl binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${TIERCTL:?set TIERCTL to the tierctl binary}"
venv="${TIER_VENV:-$HOME/.cache/chronik-tier/venv}"
stamp="$venv/.requirements.sha"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== creating Python venv for the cross-check in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider -W "ignore::DeprecationWarning" "$here"
