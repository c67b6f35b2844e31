"""A plain HTTP server in front of a Lambda function, standing in for API Gateway's HTTP API
(payload format 2.0): each request becomes the event API Gateway would deliver, the function is
invoked through cargo-lambda's emulator (`POST /2015-03-31/functions/<name>/invocations`), and its
proxy response ({statusCode, headers, body, isBase64Encoded}) is written back as the HTTP response.

What it reproduces of API Gateway, as the function sees it:
- `rawQueryString` is the query string exactly as sent (still percent-encoded, never
  re-encoded); `queryStringParameters` decoded, repeated names joined with commas; header names
  lower-cased, repeated headers comma-joined, `cookie` moved to `cookies`.
- `rawPath` (and `requestContext.http.path`) is the path percent-decoded (UTF-8), as HTTP APIs
  deliver it (unlike REST APIs and function URLs, which keep the encoding).
- `routeKey` and `pathParameters` come from the routes of template.yaml (`{name}` matches one
  path segment as sent); a request that matches no route is still passed on with `routeKey`
  `$default` (the function answers it), so the function, not this adapter, decides every answer.
- A function error (the invocation fails, or the payload is not a proxy response) is API
  Gateway's `500 {"message": "Internal Server Error"}`; an invocation that times out is its
  `503 {"message": "Service Unavailable"}`. Both count as server errors in the conformance test.
- A header value with control characters (not valid HTTP; no Lambda event can carry it, the
  function's header map refuses it) is refused with `400 {"message": "Bad Request"}` without
  invoking the function, as the gateway's front end refuses it.

What it leaves out: IAM/SigV4 authorization (`requestContext.authorizer.iam` is a fixed caller),
throttling, and the 6 MB payload limit; those are API Gateway's own and happen before (or instead
of) the function.

Everything is bounded: the emulator call has a timeout, and the server's sockets have one too.
"""

import base64
import collections
import datetime
import http.client
import http.server
import json
import re
import threading
import time
import urllib.parse
import uuid

# The HTTP API's routes (template.yaml, FetchFunction Events), all GET.
ROUTES = [
    "/v1/topics",
    "/v1/topics/{topic}",
    "/v1/topics/{topic}/partitions/{partition}/records",
    "/v1/topics/{topic}/partitions/{partition}/offsets",
    "/v1/topics/{topic}/partitions/{partition}/search",
    "/v1/search",
]


def _route_regex(template):
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(f"^{pattern}$")


_ROUTE_RES = [(t, _route_regex(t)) for t in ROUTES]


def match_route(method, raw_path):
    """(routeKey, pathParameters or None) of a request: the first route whose template matches."""
    for template, regex in _ROUTE_RES:
        m = regex.match(raw_path)
        if m and method == "GET":
            params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            return f"GET {template}", params or None
    return "$default", None


def build_event(method, target, headers, body, host, source_ip="127.0.0.1"):
    """The API Gateway HTTP API (payload 2.0) event of one request. `target` is the request target
    as sent (path and query string), `headers` a list of (name, value) pairs."""
    sent_path, _, raw_query = target.partition("?")
    sent_path = sent_path or "/"
    route_key, path_params = match_route(method, sent_path)
    raw_path = urllib.parse.unquote(sent_path)

    merged = collections.OrderedDict()
    cookies = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    merged.setdefault("host", host)
    merged.update({"x-forwarded-for": source_ip, "x-forwarded-port": "443", "x-forwarded-proto": "https"})

    query = collections.OrderedDict()
    for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query[k] = f"{query[k]},{v}" if k in query else v

    now = datetime.datetime.now(datetime.timezone.utc)
    event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": dict(merged),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            # The adapter does no SigV4: every request counts as signed by this (fixed) caller.
            "authorizer": {"iam": {
                "accessKey": "ASIAEXAMPLELOCALKEY1", "accountId": "123456789012",
                "callerId": "AROAEXAMPLELOCALREAD:conformance", "cognitoIdentity": None, "principalOrgId": None,
                "userArn": "arn:aws:sts::123456789012:assumed-role/chronik-tier-reader/conformance",
                "userId": "AROAEXAMPLELOCALREAD:conformance"}},
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = dict(query)
    if path_params:
        event["pathParameters"] = path_params
    if body:
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    return event


class LambdaInvoker:
    """Invokes a function through cargo-lambda's emulator over HTTP (one connection per call)."""

    def __init__(self, port, function, timeout=60.0, host="127.0.0.1"):
        self.host, self.port, self.function, self.timeout = host, port, function, timeout

    def invoke(self, event):
        """The function's response payload (parsed JSON), or raises `InvokeError`."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", f"/2015-03-31/functions/{self.function}/invocations", body=json.dumps(event),
                         headers={"content-type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError as e:
            raise InvokeTimeout(str(e)) from e
        except OSError as e:
            raise InvokeError(f"emulator unreachable: {e}") from e
        finally:
            conn.close()
        if resp.status != 200:
            raise InvokeError(f"emulator answered {resp.status}: {data[:500]!r}")
        try:
            payload = json.loads(data)
        except ValueError as e:
            raise InvokeError(f"function payload is not JSON: {data[:500]!r}") from e
        if not isinstance(payload, dict) or "errorType" in payload or "statusCode" not in payload:
            raise InvokeError(f"function error: {data[:500]!r}")
        return payload


class InvokeError(Exception):
    pass


class InvokeTimeout(InvokeError):
    pass


class _GatewayAnswer(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


# Control characters other than HTAB, and DEL: not allowed in an HTTP header value.
_INVALID_FIELD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class Exchange:
    """One request as the function saw it and what it answered (for the report)."""

    __slots__ = ("method", "target", "route_key", "status", "content_type", "body_bytes", "error", "seconds")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class ApiGatewayAdapter:
    """A threaded HTTP server on 127.0.0.1 (a free port) in front of `invoker`. `exchanges` records
    every request; `url` is the base URL to test against."""

    def __init__(self, invoker, socket_timeout=120.0):
        self.invoker = invoker
        self.exchanges = []
        self._lock = threading.Lock()
        adapter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = socket_timeout

            def log_message(self, *args):
                pass

            def __getattr__(self, name):
                # Every method (do_GET, do_TRACE, do_QUERY, ...) is passed on to the function.
                if name.startswith("do_"):
                    return lambda: adapter._serve(self)
                raise AttributeError(name)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="apigw-adapter", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)

    def _serve(self, h):
        started = time.monotonic()
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        host = h.headers.get("host") or f"127.0.0.1:{self.server.server_address[1]}"
        headers = list(h.headers.items())
        event = build_event(h.command, h.path, headers, body, host)
        error = None
        try:
            if any(_INVALID_FIELD_VALUE.search(v) for _, v in headers):
                # Not valid HTTP (RFC 9110 field-value): the gateway's front end refuses it, no
                # function is invoked (and no Lambda event could carry it: a header map rejects it).
                raise _GatewayAnswer(400, "Bad Request")
            payload = self.invoker.invoke(event)
            status = int(payload["statusCode"])
            headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
            data = payload.get("body") or ""
            out = base64.b64decode(data) if payload.get("isBase64Encoded") else data.encode()
            cookies = payload.get("cookies") or []
        except _GatewayAnswer as e:
            status, headers, cookies = e.status, {"content-type": "application/json"}, []
            out = json.dumps({"message": e.message}).encode()
        except (InvokeError, ValueError, TypeError, KeyError) as e:
            timed_out = isinstance(e, InvokeTimeout)
            status = 503 if timed_out else 500
            error = f"{type(e).__name__}: {e}"
            headers = {"content-type": "application/json"}
            out = json.dumps({"message": "Service Unavailable" if timed_out else "Internal Server Error"}).encode()
            cookies = []
        h.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                h.send_header(k, v)
        for c in cookies:
            h.send_header("set-cookie", c)
        h.send_header("content-length", str(len(out)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(out)
        with self._lock:
            self.exchanges.append(Exchange(method=h.command, target=h.path, route_key=event["routeKey"], status=status,
                                           content_type=headers.get("content-type"), body_bytes=len(out), error=error,
                                           seconds=time.monotonic() - started))
