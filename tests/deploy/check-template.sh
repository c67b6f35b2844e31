#!/usr/bin/env bash
# Static checks of the deployment side: template.yaml, docs/openapi.yaml and events/*.json.
#
#   tests/deploy/check-template.sh
#
# Creates (or reuses) a tooling virtualenv at ${TIER_TOOLS_VENV:-~/.cache/chronik-tier/venv-tools}
# with the versions pinned in requirements.txt / constraints.txt, then runs:
#   - cfn-lint template.yaml                      (any error or warning fails)
#   - sam validate --lint                         (SAM translation + cfn-lint; any match fails)
#   - sam validate                                (SAM translation only)
#   - openapi-spec-validator docs/openapi.yaml
#   - checkov (cloudformation framework, offline): 0 failed checks; deliberate exceptions are
#     suppressed in the template's resource Metadata, each with its reason
#   - cfn-lint with the cfn-lint-serverless rules: 0 findings (same: Metadata, with reasons)
#   - check_events.py: events are valid JSON; every apigw-*.json route exists in template.yaml and
#     docs/openapi.yaml and the two list the same routes; request shapes are self-consistent.
#
# Nothing here needs AWS or the network (after the venv exists): the sam commands run with fake
# credentials and AWS_ENDPOINT_URL pointing at a closed loopback port, so an unexpected AWS call
# fails at once instead of leaving the machine. Ends with one line `N passed, M failed`; exits
# non-zero if anything failed.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${TIER_TOOLS_VENV:-$HOME/.cache/chronik-tier/venv-tools}"

passed=0
failed=0

summary() {
    echo
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# run NAME CMD...: runs CMD, shows its output indented, counts it as one check.
run() {
    local name="$1"; shift
    local out rc
    out="$("$@" 2>&1)"
    rc=$?
    if [ -n "$out" ]; then printf '%s\n' "$out" | sed 's/^/    /'; fi
    if [ "$rc" -eq 0 ]; then
        echo "ok - $name"
        passed=$((passed + 1))
    else
        echo "not ok - $name (exit $rc)"
        failed=$((failed + 1))
    fi
    return "$rc"
}

# ---- tooling venv ------------------------------------------------------------------------------
pick_python() {
    local c
    for c in "${TIER_TOOLS_PYTHON:-}" python3.11 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 &&
            "$c" -c 'import sys, venv; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 15)))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

setup_venv() {
    local py stamp
    py="$(pick_python)" || { echo "no Python 3.10-3.14 with venv found (set TIER_TOOLS_PYTHON)"; return 1; }
    stamp="$(cat "$HERE/requirements.txt" "$HERE/constraints.txt" | sha256sum | cut -d' ' -f1) $("$py" -c 'import sys; print(sys.version.split()[0])')"
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.chronik-tier-stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "reusing $VENV"
        return 0
    fi
    echo "creating $VENV with $py"
    mkdir -p "$(dirname "$VENV")" &&
        "$py" -m venv --clear "$VENV" &&
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$HERE/requirements.txt" -c "$HERE/constraints.txt" &&
        echo "$stamp" >"$VENV/.chronik-tier-stamp"
}

if ! run "tooling venv ($VENV)" setup_venv; then
    summary
    exit 1
fi

CHECKOV_VENV="${TIER_CHECKOV_VENV:-$HOME/.cache/chronik-tier/venv-checkov}"
setup_checkov_venv() {
    local py stamp
    py="$(pick_python)" || { echo "no Python 3.10-3.14 with venv found (set TIER_TOOLS_PYTHON)"; return 1; }
    stamp="$(sha256sum "$HERE/requirements-checkov.txt" | cut -d' ' -f1) $("$py" -c 'import sys; print(sys.version.split()[0])')"
    if [ -x "$CHECKOV_VENV/bin/checkov" ] && [ -x "$CHECKOV_VENV/bin/cfn-lint" ] && [ "$(cat "$CHECKOV_VENV/.chronik-tier-stamp" 2>/dev/null)" = "$stamp" ]; then
        echo "reusing $CHECKOV_VENV"
        return 0
    fi
    echo "creating $CHECKOV_VENV with $py"
    mkdir -p "$(dirname "$CHECKOV_VENV")" &&
        "$py" -m venv --clear "$CHECKOV_VENV" &&
        "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            -r "$HERE/requirements-checkov.txt" &&
        echo "$stamp" >"$CHECKOV_VENV/.chronik-tier-stamp"
}
checkov_ready=true
run "checkov venv ($CHECKOV_VENV)" setup_checkov_venv || checkov_ready=false

cd "$ROOT" || exit 1

# Isolated, fake AWS environment: no profile, config or real credentials are read, and any AWS
# endpoint is a closed port on loopback.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ENDPOINT_URL=http://127.0.0.1:9
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export SAM_CLI_TELEMETRY=0

"$VENV/bin/cfn-lint" --version | sed 's/^/    /'
"$VENV/bin/sam" --version | sed 's/^/    /'

run "cfn-lint template.yaml" timeout 300 "$VENV/bin/cfn-lint" -- template.yaml
run "sam validate --lint" timeout 300 "$VENV/bin/sam" validate --lint --template template.yaml --region us-east-1
run "sam validate (translator, offline)" timeout 300 "$VENV/bin/sam" validate --template template.yaml --region us-east-1
run "openapi-spec-validator docs/openapi.yaml" timeout 120 "$VENV/bin/openapi-spec-validator" docs/openapi.yaml
if "$checkov_ready"; then
    # --skip-download: no guideline download from the vendor's API (offline, and no traffic off
    # the package registries).
    run "checkov template.yaml (0 failed; suppressions carry reasons)" timeout 300 \
        "$CHECKOV_VENV/bin/checkov" -f template.yaml --framework cloudformation --skip-download \
        --compact --quiet
    run "cfn-lint -a cfn_lint_serverless.rules template.yaml" timeout 300 \
        "$CHECKOV_VENV/bin/cfn-lint" -a cfn_lint_serverless.rules -- template.yaml
fi

# check_events.py prints one `ok - ...` / `not ok - ...` line per check; count each.
events_out="$(timeout 120 "$VENV/bin/python" "$HERE/check_events.py" "$ROOT" 2>&1)"
events_rc=$?
printf '%s\n' "$events_out"
ok_lines=$(printf '%s\n' "$events_out" | grep -c '^ok - ')
bad_lines=$(printf '%s\n' "$events_out" | grep -c '^not ok - ')
passed=$((passed + ok_lines))
failed=$((failed + bad_lines))
if [ "$events_rc" -ne 0 ] && [ "$bad_lines" -eq 0 ]; then
    echo "not ok - check_events.py crashed (exit $events_rc)"
    failed=$((failed + 1))
fi

summary
