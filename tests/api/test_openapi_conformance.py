"""API conformance: schemathesis against docs/openapi.yaml, through the real fetch Lambda binary.

`tier-fetch` runs under `cargo lambda watch` (cargo-lambda's runtime emulator) against the local
AWS stack (moto) with seeded data; `adapter.ApiGatewayAdapter` stands in for API Gateway's HTTP API
(payload format 2.0): it turns each HTTP request into the event API Gateway would deliver, invokes
the function through the emulator's invoke endpoint and writes the proxy response back. schemathesis
(`schemathesis run`, all six operations, phases examples, coverage and fuzzing, positive and
negative data, a fixed seed) sends its requests to that adapter. The test fails on any of:

- not_a_server_error            no 5xx (and no failed invocation: the adapter answers those 500)
- status_code_conformance       every status is one the operation documents
- content_type_conformance      every Content-Type is one documented for that status
- response_schema_conformance   every JSON body matches its schema (Error, TopicList, RecordWindow...)
- response_headers_conformance  documented headers (X-Tier-*, Retry-After) match their schemas
- negative_data_rejection       a request the spec forbids (offset=-1, limit=0, partition=01, a
                                topic with a '/') is refused with a 4xx, not answered

The records operation runs twice: with schemathesis' default `Accept: */*` (the binary batches,
`application/octet-stream`) and with `Accept: application/json` (the decoded `RecordWindow`), so
both bodies are checked. The seeded data (topic `orders`, partitions 0 and 1, offsets 0..1999, and a
second segment of binary records at 2000..2999 of partition 0) matches the spec's examples
(`orders`, partition 0, offset 1200, timestamp 1767225600000): schemathesis starts from and mixes
in examples, so 200s with bodies are checked, not only 404s; the test asserts that every
operation got at least one 200 with a body.

Authentication is excluded, on purpose. The spec's `sigv4` security scheme is API Gateway's IAM
authorization (template.yaml: `DefaultAuthorizer: AWS_IAM`): API Gateway checks the SigV4 signature
and execute-api:Invoke before the function runs, and answers 403 itself (`GatewayMessage`); a request
it refused never reaches the function, and the function never looks at credentials. This test
drives the function, so the adapter does no SigV4 (every request counts as authorized, and the event
carries a fixed `requestContext.authorizer.iam` as API Gateway's would); schemathesis is told not to
generate security parameters (`--generation-with-security-parameters false`), and its `ignored_auth`
check (which would report "API accepts requests without authentication") is not run. Auth is
covered by the deployment checks of template.yaml (tests/deploy), not here. For the same reason
`unsupported_method` is not run: a method other than GET matches no route of the HTTP API, so
API Gateway answers it and the function never sees it. `positive_data_acceptance` is not run either:
schema-valid requests are refused by design where the schema cannot say why (an offset beyond the
tiered range is 416, both or neither of `timestamp`/`spec` is 400, a query Tantivy cannot parse is
400). The remaining built-in checks need state or links the read-only API has not
(use_after_free, ensure_resource_availability, object_level_authorization, missing_required_header).

Needs: TIER_TEST_AWS_ENDPOINT (the local stack, see infra/local-stack.sh), cargo-lambda and
schemathesis on PATH (the test venv, tests/python-env.sh), TIERCTL (default:
$CARGO_TARGET_DIR/debug/tierctl). A missing service fails the test; nothing is skipped.
TIER_API_SEED and TIER_API_MAX_EXAMPLES change the seed and the examples per operation.
"""

import base64
import collections
import http.client
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from adapter import ApiGatewayAdapter, InvokeError, LambdaInvoker, build_event  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = ROOT / "docs" / "openapi.yaml"
ENDPOINT = os.environ.get("TIER_TEST_AWS_ENDPOINT")
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path.home() / ".cache/chronik-tier/target"))
TIERCTL = os.environ.get("TIERCTL") or str(TARGET / "debug" / "tierctl")
SEED = int(os.environ.get("TIER_API_SEED", "20261124"))
MAX_EXAMPLES = int(os.environ.get("TIER_API_MAX_EXAMPLES", "100"))
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "negative_data_rejection"]
OPERATIONS = ["listTopics", "getTopic", "fetchRecords", "lookupOffset", "searchPartition", "search"]
ROUTE_OF = {
    "listTopics": "GET /v1/topics",
    "getTopic": "GET /v1/topics/{topic}",
    "fetchRecords": "GET /v1/topics/{topic}/partitions/{partition}/records",
    "lookupOffset": "GET /v1/topics/{topic}/partitions/{partition}/offsets",
    "searchPartition": "GET /v1/topics/{topic}/partitions/{partition}/search",
    "search": "GET /v1/search",
}
AWS_ENV = {"AWS_ENDPOINT_URL": ENDPOINT or "", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_REGION": "us-east-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=300, **kw):
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == 0, f"{cmd[0]} {' '.join(map(str, cmd[1:]))} failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


class FetchFunction:
    """A fresh bucket and table on the local stack, seeded through tierctl, and `tier-fetch` under
    `cargo lambda watch` over them (as tests/e2e's Stack starts it)."""

    def __init__(self, tmp):
        assert ENDPOINT, "TIER_TEST_AWS_ENDPOINT is not set: start the local stack (infra/local-stack.sh up)"
        assert os.access(TIERCTL, os.X_OK), f"no tierctl at {TIERCTL}: build it (cargo build -p tierctl) or set TIERCTL"
        assert shutil.which("cargo-lambda"), "cargo-lambda is not on PATH (the test venv, tests/python-env.sh)"
        self.tmp = tmp
        self.bucket = f"tier-api-{uuid.uuid4().hex[:10]}"
        self.table = f"tier-api-{uuid.uuid4().hex[:10]}"
        run([sys.executable, str(ROOT / "infra" / "create-resources.py"), "--bucket", self.bucket,
             "--table", self.table], env={**os.environ, **AWS_ENV})
        self.seed()
        self.port = free_port()
        env_vars = ",".join([f"TIER_BUCKET={self.bucket}", f"TIER_TABLE={self.table}", f"AWS_ENDPOINT_URL={ENDPOINT}",
                             "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
                             "TIER_CACHE_BYTES=33554432", "TIER_LOG=warn"])
        self.log_path = tmp / "cargo-lambda-watch.log"
        self.log = open(self.log_path, "w")
        self.watch = subprocess.Popen(
            ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             "--env-vars", env_vars, "--ignore-changes"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_listening(deadline=time.time() + 600)
            # The first invocation builds and starts the binary (cargo run): a long first timeout.
            first = LambdaInvoker(self.port, "tier-fetch", timeout=900)
            try:
                first.invoke(build_event("GET", "/v1/topics", [], b"", "127.0.0.1"))
            except InvokeError as e:
                raise AssertionError(f"tier-fetch does not start: {e}\n{self.log_tail()}") from e
        except BaseException:
            self.close()
            raise
        self.invoker = LambdaInvoker(self.port, "tier-fetch", timeout=60)

    def seed(self):
        """orders/0 and orders/1: offsets 0..1999 of JSON records (one segment each); orders/0 also
        2000..2999 of binary records (a second segment), so fetches end at a segment boundary and the
        JSON fetch returns `utf8` and `base64` records."""
        remote = ["--store", f"s3://{self.bucket}", "--catalog", f"dynamodb://{self.table}"]
        env = {**os.environ, **AWS_ENV}
        text, binary = self.tmp / "orders.wal", self.tmp / "orders-binary.wal"
        run([TIERCTL, "gen", "-o", str(text), "--topic", "orders", "--partitions", "2", "--records", "4000",
             "--codec", "lz4", "--shape", "json"])
        run([TIERCTL, "gen", "-o", str(binary), "--topic", "orders", "--partitions", "1", "--records", "1000",
             "--codec", "zstd", "--shape", "binary", "--start-offset", "2000", "--start-timestamp", "1767229200000",
             "--seed", "2"])
        run([TIERCTL, *remote, "index", str(text), str(binary)], env=env)
        listing = json.loads(run([TIERCTL, "--json", *remote, "ls"], env=env))
        got = [(p["topic"], p["partition"], p["earliest"], p["latest"]) for p in listing["partitions"]]
        assert got == [("orders", 0, 0, 2999), ("orders", 1, 0, 1999)], listing

    def _wait_listening(self, deadline):
        while time.time() < deadline:
            assert self.watch.poll() is None, f"cargo lambda watch exited: {self.log_path.read_text()[-4000:]}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("cargo lambda watch did not start listening")

    def log_tail(self, chars=3000):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def close(self):
        self.watch.terminate()
        try:
            self.watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.watch.kill()
            self.watch.wait(timeout=20)
        self.log.close()


@pytest.fixture(scope="module")
def function(tmp_path_factory):
    f = FetchFunction(tmp_path_factory.mktemp("api"))
    yield f
    f.close()


@pytest.fixture(scope="module")
def api(function):
    adapter = ApiGatewayAdapter(function.invoker).start()
    yield adapter
    adapter.close()


def get(api, target, accept=None, timeout=60):
    """GET `target` (sent as is) through the adapter: (status, headers lower-cased, body bytes)."""
    url = urllib.parse.urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    try:
        conn.request("GET", target, headers={"accept": accept} if accept else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_adapter_passes_requests_and_binary_responses_through(function, api):
    """The adapter itself: binary batches arrive byte for byte (what tierctl reads from the same
    bucket and table), JSON and errors pass unchanged, the query string reaches the function as
    sent and the path decoded."""
    status, headers, body = get(api, "/v1/topics/orders/partitions/0/records?offset=1200&max_bytes=1048576")
    assert status == 200 and headers["content-type"] == "application/octet-stream", (status, headers)
    # A fetch reads one segment (1200..1999 of the first); tierctl, a consumer, reads on into the
    # second unless its budget is what the fetch returned.
    assert int(headers["x-tier-first-offset"]) == 1200 and int(headers["x-tier-next-offset"]) == 2000, headers
    raw = function.tmp / "fetch.bin"
    run([TIERCTL, "--store", f"s3://{function.bucket}", "--catalog", f"dynamodb://{function.table}", "fetch",
         "--topic", "orders", "--partition", "0", "--offset", "1200", "--max-bytes", str(len(body)), "--format",
         "raw", "-o", str(raw)], env={**os.environ, **AWS_ENV})
    assert body == raw.read_bytes()

    for offset, encoding in ((1950, "utf8"), (2000, "base64")):
        status, headers, body = get(api, f"/v1/topics/orders/partitions/0/records?offset={offset}",
                                    accept="application/json")
        window = json.loads(body)
        assert status == 200 and headers["content-type"] == "application/json"
        assert {r["encoding"] for r in window["records"]} == {encoding}, (offset, "text, then binary")
    base64.b64decode(window["records"][-1]["value"], validate=True)

    # A comma inside a value and a repeated parameter: only the raw query string tells them apart.
    status, _, body = get(api, "/v1/search?q=key%3A%22user-1%2C+user-2%22&limit=5")
    assert status == 200 and json.loads(body)["query"] == 'key:"user-1, user-2"', body
    status, _, body = get(api, "/v1/search?q=a&q=b")
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_request", body
    status, _, body = get(api, "/v1/topics/orders/partitions/0/records?offset=5000")
    assert status == 416 and json.loads(body)["error"]["latest"] == 2999, body
    # HTTP APIs deliver the path percent-decoded.
    status, _, body = get(api, "/v1/topics/%6Frders")
    assert status == 200 and json.loads(body)["topic"] == "orders", body


def schemathesis_run(api, workdir, name, extra, timeout=600):
    """One `schemathesis run` against the adapter; returns (exit code, JSON report, stdout)."""
    report = workdir / f"{name}.json"
    cmd = [str(pathlib.Path(sys.executable).with_name("schemathesis")), "run", str(SPEC),
           "--url", api.url,
           "--checks", ",".join(CHECKS),
           "--phases", "examples,coverage,fuzzing",
           "--mode", "all",
           "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(SEED),
           "--continue-on-failure",
           "--workers", "2",
           "--request-timeout", "90",
           "--generation-with-security-parameters", "false",
           "--generation-database", "none",
           "--no-color",
           "--report", "json", "--report-json-path", str(report),
           *extra]
    proc = subprocess.run(cmd, cwd=workdir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
    (workdir / f"{name}.txt").write_text(proc.stdout + proc.stderr)
    assert report.exists(), \
        f"schemathesis wrote no report (exit {proc.returncode}):\n{proc.stdout[-6000:]}{proc.stderr}"
    return proc.returncode, json.loads(report.read_text()), proc.stdout + proc.stderr


def failure_section(output, limit=20000):
    """The FAILURES part of schemathesis' output (each failure with its curl reproduction)."""
    start = output.find(" FAILURES ")
    end = output.find(" SUMMARY ")
    section = output[output.rfind("\n", 0, start) + 1:end] if start >= 0 else output[-6000:]
    return section[:limit]


def test_the_fetch_function_conforms_to_the_openapi_spec(function, api, tmp_path):
    started, first = time.monotonic(), len(api.exchanges)
    runs = {
        # Every operation, schemathesis' default Accept (*/*): records come back as the binary batches.
        "all-operations": [],
        # The records operation asking for JSON: the RecordWindow body is schema-checked.
        "records-json": ["--include-operation-id", "fetchRecords", "--header", "Accept: application/json"],
    }
    problems, summary = [], []
    for name, extra in runs.items():
        code, report, output = schemathesis_run(api, tmp_path, name, extra)
        cases = report["test_cases"]
        summary.append(f"{name}: {cases['generated']} test cases, {report['operations']['tested']} operations, "
                       f"{report['running_time']:.1f}s, exit {code}")
        if report["failures"] or report["errors"] or cases["errored"] or code != 0 or not report["complete"]:
            listing = "\n".join(f"  {f['code']} {f['title']} x{f['count']}: {', '.join(f['operations'])}"
                                for f in report["failures"])
            problems.append(f"schemathesis run {name} (exit {code}):\n{listing}\n"
                            f"errors: {json.dumps(report['errors'])[:3000]}\n{failure_section(output)}")
        if name == "all-operations":
            assert report["operations"]["tested"] == len(OPERATIONS), report["operations"]

    exchanges = api.exchanges[first:]
    broken = [e for e in exchanges if e.error]
    problems += [f"invocation failed: {e.method} {e.target}: {e.error}" for e in broken[:20]]
    by_route = collections.Counter((e.route_key, e.status) for e in exchanges)
    ok_bodies = collections.Counter((e.route_key, e.content_type) for e in exchanges
                                    if e.status == 200 and e.body_bytes)
    print(f"\n{len(exchanges)} requests in {time.monotonic() - started:.1f}s; " + "; ".join(summary))
    for (route, status), n in sorted(by_route.items()):
        print(f"  {n:5d}  {status}  {route}")
    for op in OPERATIONS:
        if not any(route == ROUTE_OF[op] for route, _ in ok_bodies):
            problems.append(f"{op}: no 200 response with a body was checked (does the seeded data match the examples?)")
    for ctype in ("application/octet-stream", "application/json"):
        if not ok_bodies[(ROUTE_OF["fetchRecords"], ctype)]:
            problems.append(f"fetchRecords: no 200 {ctype} response was checked")
    if problems:
        pytest.fail("\n\n".join(problems) + f"\n\ncargo lambda watch log (tail):\n{function.log_tail()}", pytrace=False)
