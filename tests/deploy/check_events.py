#!/usr/bin/env python3
"""Consistency checks between template.yaml, docs/openapi.yaml and events/*.json.

Usage: check_events.py REPO_ROOT

Prints one line per check, `ok - <what>` or `not ok - <what>: <why>`, and exits non-zero if any
check failed. Needs PyYAML (present in the tooling venv that check-template.sh sets up).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import sys
from urllib.parse import parse_qsl, unquote_plus

import yaml

RESULTS: list[tuple[bool, str]] = []


def check(ok: bool, what: str, why: str = "") -> bool:
    RESULTS.append((ok, what))
    print(f"ok - {what}" if ok else f"not ok - {what}: {why}")
    return ok


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short-form tags (!Ref, !Sub, ...) into plain maps."""


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def template_routes(template: dict) -> set[str]:
    """`GET /path` for every HttpApi event of a function."""
    routes: set[str] = set()
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for ev in (res.get("Properties", {}).get("Events") or {}).values():
            if ev.get("Type") == "HttpApi":
                props = ev.get("Properties", {})
                routes.add(f"{props.get('Method', 'ANY').upper()} {props['Path']}")
    return routes


def s3_filters(template: dict) -> list[tuple[str, str]]:
    """(prefix, suffix) of every S3 event on a function."""
    out = []
    for res in template.get("Resources", {}).values():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for ev in (res.get("Properties", {}).get("Events") or {}).values():
            if ev.get("Type") != "S3":
                continue
            rules = ev["Properties"].get("Filter", {}).get("S3Key", {}).get("Rules", [])
            d = {r["Name"].lower(): r["Value"] for r in rules}
            out.append((d.get("prefix", ""), d.get("suffix", "")))
    return out


def openapi_operations(spec: dict) -> dict[str, dict]:
    """`GET /path` -> {"query": {name: required}, "path": {names}}."""
    ops = {}
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in ("get", "put", "post", "delete", "patch", "head", "options"):
            if method not in item:
                continue
            params = shared + item[method].get("parameters", [])
            resolved = []
            for p in params:
                if "$ref" in p:
                    p = spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
                resolved.append(p)
            ops[f"{method.upper()} {path}"] = {
                "query": {p["name"]: bool(p.get("required")) for p in resolved if p["in"] == "query"},
                "path": {p["name"] for p in resolved if p["in"] == "path"},
            }
    return ops


def route_regex(route_path: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", route_path)
    rx = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{rx}$")


def check_apigw(name: str, ev: dict, t_routes: set[str], ops: dict[str, dict]) -> None:
    route = ev.get("routeKey", "")
    check(ev.get("version") == "2.0", f"{name}: payload format version 2.0", f"version={ev.get('version')!r}")
    check(route in t_routes, f"{name}: route {route!r} is in template.yaml", f"template routes: {sorted(t_routes)}")
    check(route in ops, f"{name}: route {route!r} is in docs/openapi.yaml", f"openapi routes: {sorted(ops)}")
    ctx = ev.get("requestContext", {})
    method, _, path_tmpl = route.partition(" ")
    problems = []
    if ctx.get("routeKey") != route:
        problems.append("requestContext.routeKey differs from routeKey")
    http = ctx.get("http", {})
    if http.get("method") != method:
        problems.append("requestContext.http.method differs from the route's method")
    if http.get("path") != ev.get("rawPath"):
        problems.append("requestContext.http.path differs from rawPath")
    m = route_regex(path_tmpl).match(ev.get("rawPath", ""))
    if not m:
        problems.append(f"rawPath {ev.get('rawPath')!r} does not match {path_tmpl!r}")
    elif m.groupdict() != (ev.get("pathParameters") or {}):
        problems.append(f"pathParameters {ev.get('pathParameters')} != {m.groupdict()} from rawPath")
    if "iam" not in (ctx.get("authorizer") or {}):
        problems.append("requestContext.authorizer.iam missing (the API uses IAM authorization)")
    if "accept" not in ev.get("headers", {}):
        problems.append("no accept header")
    qs = dict(parse_qsl(ev.get("rawQueryString", ""), keep_blank_values=True))
    if qs != (ev.get("queryStringParameters") or {}):
        problems.append(f"queryStringParameters {ev.get('queryStringParameters')} != decoded rawQueryString {qs}")
    check(not problems, f"{name}: request shape is consistent", "; ".join(problems))
    if route in ops:
        declared = ops[route]["query"]
        unknown = sorted(set(qs) - set(declared))
        missing = sorted(k for k, req in declared.items() if req and k not in qs)
        check(not unknown and not missing, f"{name}: query parameters match the OpenAPI operation",
              f"undeclared {unknown}, missing required {missing}")


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    with open(os.path.join(root, "template.yaml")) as f:
        template = yaml.load(f, Loader=CfnLoader)
    with open(os.path.join(root, "docs", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)

    t_routes = template_routes(template)
    ops = openapi_operations(spec)
    check(t_routes == set(ops), "template.yaml HttpApi routes == docs/openapi.yaml operations",
          f"only in template: {sorted(t_routes - set(ops))}; only in openapi: {sorted(set(ops) - t_routes)}")

    api = [r for r in template["Resources"].values() if r.get("Type") == "AWS::Serverless::HttpApi"]
    check(len(api) == 1 and api[0]["Properties"].get("Auth", {}).get("DefaultAuthorizer") == "AWS_IAM",
          "the HTTP API's default authorizer is AWS_IAM", f"{[a.get('Properties', {}).get('Auth') for a in api]}")

    files = sorted(glob.glob(os.path.join(root, "events", "*.json")))
    check(bool(files), "events/*.json exist", "no event files")
    covered: set[str] = set()
    filters = s3_filters(template)
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path) as f:
                ev = json.load(f)
        except (OSError, ValueError) as e:
            check(False, f"{name}: valid JSON", str(e))
            continue
        check(True, f"{name}: valid JSON")

        if name.startswith("apigw-"):
            covered.add(ev.get("routeKey", ""))
            check_apigw(name, ev, t_routes, ops)
        elif name.startswith("s3-"):
            problems = []
            for rec in ev.get("Records", []):
                key = unquote_plus(rec["s3"]["object"]["key"])  # S3 form-URL-encodes keys
                if not any(key.startswith(p) and key.endswith(s) for p, s in filters):
                    problems.append(f"{key!r} matches no S3 event filter {filters}")
                if rec["s3"]["bucket"]["name"] != "chronik-tier-local":
                    problems.append("bucket is not chronik-tier-local")
            check(bool(ev.get("Records")) and not problems, f"{name}: keys match the indexer's S3 filters",
                  "; ".join(problems) or "no Records")
        elif name.startswith("sqs-"):
            recs = ev.get("Records", [])
            problems = []
            if len({r.get("messageId") for r in recs}) != len(recs):
                problems.append("messageIds are not distinct")
            for r in recs:
                if hashlib.md5(r["body"].encode()).hexdigest() != r.get("md5OfBody"):
                    problems.append(f"{r.get('messageId')}: md5OfBody does not match body")
                try:
                    json.loads(r["body"])
                except ValueError as e:
                    problems.append(f"{r.get('messageId')}: body is not JSON ({e})")
            check(bool(recs) and not problems, f"{name}: SQS records are consistent", "; ".join(problems) or "no Records")

    for route in sorted(t_routes - covered):
        check(False, f"route {route!r} has an apigw-*.json event", "none found")
    if t_routes <= covered:
        check(True, "every route has an apigw-*.json event")

    failed = sum(1 for ok, _ in RESULTS if not ok)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
