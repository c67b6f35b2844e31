#!/usr/bin/env bash
# Local AWS stack (moto server) for the S3 and DynamoDB backend tests.
#
#   eval "$(infra/local-stack.sh up)"   # install if needed, start, print the exports
#   infra/local-stack.sh env            # print the exports of the running stack
#   infra/local-stack.sh down           # stop it and remove its state
#
# `up` reuses a running stack. Only `export` lines go to stdout; progress and errors go to stderr, and
# any failure exits non-zero (so `eval "$(... up)" && cargo test` stops instead of testing nothing).
# The server binds to 127.0.0.1 only, on a free port picked at start.
#
# Environment:
#   TIER_AWS_VENV   virtualenv holding moto   (default ~/.cache/chronik-tier/venv-aws)
#   TIER_STACK_DIR  pid file, port and log    (default ~/.cache/chronik-tier/stack)
#   PYTHON          interpreter for the venv  (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
requirements="$here/requirements.txt"
venv="${TIER_AWS_VENV:-$HOME/.cache/chronik-tier/venv-aws}"
state="${TIER_STACK_DIR:-$HOME/.cache/chronik-tier/stack}"
python="${PYTHON:-python3}"
host=127.0.0.1

die() {
    echo "local-stack: $*" >&2
    exit 1
}
log() { echo "local-stack: $*" >&2; }

require_tools() {
    local tool
    for tool in setsid sha256sum "$python"; do
        command -v "$tool" >/dev/null || die "required command '$tool' not found"
    done
}

# Creates the venv, or reinstalls it when requirements.txt changed since the last install.
ensure_venv() {
    [[ -f "$requirements" ]] || die "missing $requirements"
    local stamp="$venv/.requirements.sha256" want
    want="$(sha256sum "$requirements" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/moto_server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return
    fi
    log "installing moto into $venv"
    [[ -x "$venv/bin/python" ]] || "$python" -m venv "$venv" >&2 || die "cannot create venv $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2 \
        || die "pip install -r $requirements failed"
    [[ -x "$venv/bin/moto_server" ]] || die "moto_server missing from $venv after install"
    echo "$want" >"$stamp"
}

running_pid() {
    local pid
    [[ -f "$state/pid" ]] || return 1
    pid="$(cat "$state/pid")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

free_port() {
    "$venv/bin/python" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Succeeds once the server answers HTTP on its port. It asks for the S3 bucket listing (`GET /`),
# which is cheap whatever the stack holds; any answer below 500 counts. (`/moto-api/data.json`
# serialises the whole state and, in moto 5.2.5, answers 500 for good once a bucket that held
# objects was deleted: a healthy stack then looked dead and was restarted, losing its state.)
answers() {
    "$venv/bin/python" - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=2).read()
except urllib.error.HTTPError as e:
    sys.exit(0 if e.code < 500 else 1)
EOF
}

print_env() {
    local url="http://$host:$(cat "$state/port")"
    cat <<EOF
export AWS_ENDPOINT_URL=$url
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export TIER_TEST_AWS_ENDPOINT=$url
EOF
}

up() {
    require_tools
    ensure_venv
    if running_pid >/dev/null && answers "$(cat "$state/port")"; then
        log "reusing the running stack (pid $(cat "$state/pid"))"
        print_env
        return
    fi
    stop_quietly
    mkdir -p "$state"
    local port pid
    port="$(free_port)" || die "cannot pick a free port"
    # setsid: the server outlives this script and the shell that eval'd it.
    setsid "$venv/bin/python" "$here/moto-serial.py" "$host" "$port" >"$state/moto.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$state/pid"
    echo "$port" >"$state/port"
    for _ in $(seq 1 100); do
        if answers "$port"; then
            log "moto $("$venv/bin/python" -c 'import moto; print(moto.__version__)') listening on $host:$port (pid $pid, log $state/moto.log)"
            print_env
            return
        fi
        kill -0 "$pid" 2>/dev/null || { tail -20 "$state/moto.log" >&2; rm -rf "$state"; die "moto_server exited at start"; }
        sleep 0.2
    done
    tail -20 "$state/moto.log" >&2
    stop_quietly
    die "moto_server did not answer on $host:$port within 20 s"
}

stop_quietly() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$state"
}

case "${1:-}" in
up) up ;;
down)
    stop_quietly
    log "stopped"
    ;;
env)
    running_pid >/dev/null || die "no stack running: start it with eval \"\$(infra/local-stack.sh up)\""
    print_env
    ;;
*) die "usage: $0 up|down|env" ;;
esac
