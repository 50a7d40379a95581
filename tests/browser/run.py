#!/usr/bin/env python3
"""Headless Chromium conformance suite: does the browser agree with edge-cors?

Starts, each on a free 127.0.0.1 port: the upstream (scripts/upstream.py), a page server for
tests/browser/pages, and Envoy with edge-cors first (then the Lua auth stand-in, RBAC, router,
as in the e2e tests) and a file access log. Host names are mapped to 127.0.0.1 inside Chromium
so that the page origin (http://app.example.com:PAGE) and the API origin
(http://api.example.com:ENVOY) differ. `runner.mjs` drives Chromium; this script checks every
result against the expectation, prints the table case -> expected -> browser -> reason, and
exits 1 on any mismatch.

Usage: run.py   (ENVOY_BIN, EDGE_CORS_WASM, CHROMIUM override the defaults)
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness.envoy_config import (  # noqa: E402
    ACCESS_LOG_FLUSH_ARGS, NATIVE_CORS, ROUTER, add_cluster, edge_cors_chain, get_only_route, native_cors_filter,
    native_cors_policy, proxy_bootstrap, route_to, with_access_log,
)
from harness.processes import Envoy, Upstream, access_log_lines, free_port, poll  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HOST_RESOLVER_RULES = "MAP *.example.com 127.0.0.1, MAP example.com 127.0.0.1, MAP *.test 127.0.0.1"


class PageHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(port: int, handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_page_server(port: int) -> ThreadingHTTPServer:
    return serve(port, partial(PageHandler, directory=str(HERE / "pages")))


# A gRPC-web error as a server sends it: a trailers-only response (HTTP 200, the trailers among
# the headers, no message; grpc/grpc doc/PROTOCOL-WEB.md), with the server's own CORS headers.
GRPC_STATUS, GRPC_MESSAGE = "7", "permission%20denied"


class GrpcWebHandler(BaseHTTPRequestHandler):
    """The gRPC-web upstream behind /grpc/: every POST fails with PERMISSION_DENIED, exposing
    grpc-status and grpc-message itself; it answers its own preflights too (where no policy
    covers the path, edge-cors leaves them to it)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-methods", "POST")
        self.send_header("access-control-allow-headers", "content-type,x-grpc-web,x-user-agent")
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/grpc-web+proto")
        self.send_header("grpc-status", GRPC_STATUS)
        self.send_header("grpc-message", GRPC_MESSAGE)
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-expose-headers", "grpc-status,grpc-message")
        self.send_header("content-length", "0")
        self.end_headers()


GRPC_ROUTE = route_to("grpc", "/grpc/")


def policy(page: int) -> dict:
    """One edge-cors configuration, one policy per path prefix; `page` is the page server's port."""
    app = f"http://app.example.com:{page}"
    return {"policies": [
        # Credentials need a trustworthy origin: plain http is accepted only for loopback names.
        # Page and API are both on `localhost` (different ports): cross-origin, but same-site,
        # so a SameSite=Lax cookie set by the API is sent with credentials: 'include'.
        {"name": "cred", "match": {"path_prefixes": ["/cred/"]},
         "allow_origins": [f"http://localhost:{page}"],
         "allow_methods": ["GET", "POST", "PUT"], "allow_headers": ["authorization", "content-type"],
         "expose_headers": ["x-request-id"], "allow_credentials": True, "max_age": 600},
        {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"]},
        {"name": "app", "match": {"path_prefixes": ["/app/"]},
         "allow_origins": [app], "allow_methods": ["GET", "PUT"],
         "allow_headers": ["authorization", "content-type"], "expose_headers": ["x-request-id"], "max_age": 600},
        {"name": "nocache", "match": {"path_prefixes": ["/nocache/"]},
         "allow_origins": [app], "allow_methods": ["PUT"], "allow_headers": ["content-type"], "max_age": 0},
        {"name": "wild", "match": {"path_prefixes": ["/wild/"]}, "allow_origins": [f"http://*.example.com:{page}"]},
        # gRPC-web (docs/request-handling.md, "gRPC-web"): the client reads the status from the response headers.
        {"name": "grpc-exposed", "match": {"path_prefixes": ["/grpc/exposed/"]}, **grpc_web(app),
         "expose_headers": ["grpc-status", "grpc-message"]},
        {"name": "grpc-hidden", "match": {"path_prefixes": ["/grpc/hidden/"]}, **grpc_web(app)},
    ]}


def grpc_web(origin: str) -> dict:
    """The gRPC-web policy example of docs/request-handling.md (the json block of its "gRPC-web"
    section), for this page's origin, without its name, match and expose_headers: the suite runs
    what the documentation recommends."""
    section = (HERE.parents[1] / "docs" / "request-handling.md").read_text().split("\n## gRPC-web\n", 1)[1]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    assert example["expose_headers"] == ["grpc-status", "grpc-message"], example
    rest = {k: v for k, v in example.items() if k not in ("name", "match", "expose_headers")}
    return dict(rest, allow_origins=[origin])


@dataclass
class Expect:
    """What a script on the page must see for one fetch."""
    readable: bool
    status: int | None = None
    cors_error: str | None = None          # DevTools corsErrorStatus.corsError when blocked
    headers: dict = field(default_factory=dict)  # response headers as read by the script
    body_has: str | None = None            # a string the readable body must contain


@dataclass
class Fetch:
    url: str
    expect: Expect
    method: str = "GET"
    headers: dict = field(default_factory=dict)
    credentials: str | None = None
    body: str | None = None
    read_headers: list = field(default_factory=list)

    def spec(self) -> dict:
        out = {"url": self.url, "method": self.method, "headers": self.headers, "read_headers": self.read_headers}
        if self.credentials:
            out["credentials"] = self.credentials
        if self.body is not None:
            out["body"] = self.body
        return out


@dataclass
class Case:
    name: str
    page: str                      # page origin
    fetches: list
    expected: str                  # the table's "expected" column
    preflights: tuple | None = None  # (path, count): OPTIONS requests Envoy must have seen for path
    native: bool = False           # sent to the Envoy with the native CORS filter (comparison rows)
    frame: str | None = None       # run the fetches in this frame of the page (a path), not the page
    origin_seen: str | None = None  # the origin the fetching document has, when not `page`


def native_config(listener: int, admin: int, upstream: int, page: int) -> dict:
    """Envoy with its own CORS filter and the `app` policy's closest equivalent, for comparison."""
    policy = native_cors_policy(
        allow_origin_string_match=[{"exact": f"http://app.example.com:{page}"}],
        allow_methods="GET, PUT", allow_headers="authorization, content-type",
        expose_headers="x-request-id", max_age="600", forward_not_matching_preflights=False,
    )
    routes = [route_to(typed_per_filter_config={NATIVE_CORS: policy})]
    return proxy_bootstrap(listener, admin, upstream, [native_cors_filter(), ROUTER], routes=routes)


def cases(page: int, api: int, native_api: int) -> list:
    app_page = f"http://app.example.com:{page}"
    api_host = f"http://api.example.com:{api}"
    native_host = f"http://api.example.com:{native_api}"
    local_page = f"http://localhost:{page}"
    local_api = f"http://localhost:{api}"
    cookie = secrets.token_hex(8)
    json_put = {"content-type": "application/json", "authorization": "Bearer t0ken"}
    set_cookie = Fetch(f"{local_api}/cred/set-cookie?v={cookie}", Expect(True, 200), credentials="include")
    return [
        Case("simple GET, allowed origin", app_page,
             [Fetch(f"{api_host}/app/simple", Expect(True, 200))], "allowed"),
        Case("simple GET, rejected origin", "http://app.evil.test:" + str(page),
             [Fetch(f"{api_host}/app/simple-rejected", Expect(False, cors_error="MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("credentialed GET (cookie set by the API), credentials policy", local_page,
             [set_cookie, Fetch(f"{local_api}/cred/echo", Expect(True, 200, body_has=f"edge_cors_browser={cookie}"),
                                credentials="include")],
             "allowed, cookie reaches the upstream"),
        Case("credentialed preflighted PUT (cookie + Authorization)", local_page,
             [set_cookie, Fetch(f"{local_api}/cred/put/echo", Expect(True, 200, body_has=f"edge_cors_browser={cookie}"),
                                method="PUT", headers=json_put, body="{}", credentials="include")],
             "allowed after 1 preflight, cookie reaches the upstream", preflights=("/cred/put/echo", 1)),
        Case("credentialed GET, any-origin (*) policy", local_page,
             [set_cookie, Fetch(f"{local_api}/public/echo", Expect(False, cors_error="WildcardOriginNotAllowed"),
                                credentials="include")],
             "blocked: WildcardOriginNotAllowed"),
        Case("credentialed GET, upstream sends its own ACAO: * (edge-cors replaces it)", local_page,
             [Fetch(f"{local_api}/cred/upstream-star", Expect(True, 200), credentials="include")],
             "allowed"),
        Case("control: a path no policy covers, the upstream's ACAO: * alone", local_page,
             [Fetch(f"{local_api}/none/upstream-star", Expect(False, cors_error="WildcardOriginNotAllowed"),
                    credentials="include")],
             "blocked: WildcardOriginNotAllowed"),
        Case("preflighted PUT, JSON + Authorization", app_page,
             [Fetch(f"{api_host}/app/put", Expect(True, 200), method="PUT", headers=json_put, body="{}")],
             "allowed after 1 preflight", preflights=("/app/put", 1)),
        Case("preflighted PUT, a header not in the policy", app_page,
             [Fetch(f"{api_host}/app/put-x-custom", Expect(False, cors_error="PreflightMissingAllowOriginHeader"),
                    method="PUT", headers={**json_put, "x-custom": "1"}, body="{}")],
             "blocked at preflight", preflights=("/app/put-x-custom", 1)),
        Case("preflighted DELETE, a method not in the policy", app_page,
             [Fetch(f"{api_host}/app/delete", Expect(False, cors_error="PreflightMissingAllowOriginHeader"),
                    method="DELETE")],
             "blocked at preflight", preflights=("/app/delete", 1)),
        Case("exposed header readable, non-exposed one null", app_page,
             [Fetch(f"{api_host}/app/expose", Expect(True, 200, headers={"x-request-id": "upstream-42", "etag": None}),
                    read_headers=["x-request-id", "etag"])],
             "x-request-id readable, etag null"),
        Case("Access-Control-Max-Age 600: two identical PUTs, one preflight", app_page,
             [Fetch(f"{api_host}/app/max-age", Expect(True, 200), method="PUT", headers=json_put, body="{}"),
              Fetch(f"{api_host}/app/max-age", Expect(True, 200), method="PUT", headers=json_put, body="{}")],
             "allowed, 1 preflight at Envoy", preflights=("/app/max-age", 1)),
        Case("control: Access-Control-Max-Age 0: two identical PUTs, two preflights", app_page,
             [Fetch(f"{api_host}/nocache/put", Expect(True, 200), method="PUT",
                    headers={"content-type": "application/json"}, body="{}"),
              Fetch(f"{api_host}/nocache/put", Expect(True, 200), method="PUT",
                    headers={"content-type": "application/json"}, body="{}")],
             "allowed, 2 preflights at Envoy", preflights=("/nocache/put", 2)),
        Case("401 from the auth filter after edge-cors", app_page,
             [Fetch(f"{api_host}/app/secure/profile", Expect(True, 401))], "readable, status 401"),
        Case("sandboxed iframe of an allowed page (Origin: null)", app_page,
             [Fetch(f"{api_host}/app/from-sandbox", Expect(False, cors_error="MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader", frame="/frame.html", origin_seen="null"),
        Case("subdomain wildcard http://*.example.com:PAGE, subdomain", f"http://shop.eu.example.com:{page}",
             [Fetch(f"{api_host}/wild/sub", Expect(True, 200))], "allowed"),
        Case("subdomain wildcard, the apex example.com", f"http://example.com:{page}",
             [Fetch(f"{api_host}/wild/apex", Expect(False, cors_error="MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("subdomain wildcard, look-alike example.com.evil.test", f"http://example.com.evil.test:{page}",
             [Fetch(f"{api_host}/wild/look-alike", Expect(False, cors_error="MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("gRPC-web error, policy exposes grpc-status and grpc-message", app_page,
             [grpc_call(f"{api_host}/grpc/exposed/shop.v1.CartService/Add", GRPC_STATUS, GRPC_MESSAGE)],
             "grpc-status 7 and grpc-message readable", preflights=("/grpc/exposed/shop.v1.CartService/Add", 1)),
        Case("gRPC-web error, policy without them (the upstream's expose header removed)", app_page,
             [grpc_call(f"{api_host}/grpc/hidden/shop.v1.CartService/Add", None, None)],
             "grpc-status and grpc-message null", preflights=("/grpc/hidden/shop.v1.CartService/Add", 1)),
        Case("control: gRPC-web error, no policy: the upstream's own CORS headers alone", app_page,
             [grpc_call(f"{api_host}/grpc/open/shop.v1.CartService/Add", GRPC_STATUS, GRPC_MESSAGE)],
             "grpc-status 7 readable", preflights=("/grpc/open/shop.v1.CartService/Add", 1)),
        # The same requests through Envoy's own CORS filter: the browser confirms two classes of
        # the differential run (tests/differential/run.py).
        Case("native filter: simple GET, rejected origin", "http://app.evil.test:" + str(page),
             [Fetch(f"{native_host}/app/simple-rejected", Expect(True, 200))],
             "allowed: the upstream's ACAO: * passes", native=True),
        Case("native filter: preflighted PUT, a header not in the policy", app_page,
             [Fetch(f"{native_host}/app/put-x-custom", Expect(False, cors_error="HeaderDisallowedByPreflightResponse"),
                    method="PUT", headers={**json_put, "x-custom": "1"}, body="{}")],
             "blocked by the browser, not the proxy", preflights=("/app/put-x-custom", 1), native=True),
    ]


def grpc_call(url: str, status: str | None, message: str | None) -> Fetch:
    """A unary gRPC-web call as a gRPC-web client sends it (an empty message: one 5-byte frame
    header), and what the page must read of grpc-status and grpc-message."""
    return Fetch(url, Expect(True, 200, headers={"grpc-status": status, "grpc-message": message}), method="POST",
                 headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}, body="\u0000" * 5,
                 read_headers=["grpc-status", "grpc-message"])


def describe(result: dict) -> str:
    """What the browser did with one fetch, for the table's `reason` column."""
    if result["readable"]:
        parts = [f"status {result['status']}"]
        parts += [f"{k}={v if v is not None else 'null'}" for k, v in result.get("headers", {}).items()]
        return ", ".join(parts)
    failure = result.get("failure") or {}
    return f"corsError={failure.get('corsError')}" + (
        f" ({failure['failedParameter']})" if failure.get("failedParameter") else "")


def check_fetch(result: dict, expect: Expect) -> list:
    problems = []
    if result["readable"] != expect.readable:
        problems.append(f"readable={result['readable']} (want {expect.readable}) {result.get('error', '')}")
        return problems
    if expect.readable:
        if expect.status is not None and result["status"] != expect.status:
            problems.append(f"status {result['status']} (want {expect.status})")
        for name, value in expect.headers.items():
            if result["headers"].get(name) != value:
                problems.append(f"{name}={result['headers'].get(name)!r} (want {value!r})")
        if expect.body_has and expect.body_has not in result["body"]:
            problems.append(f"body lacks {expect.body_has!r}: {result['body'][:300]}")
    else:
        got = (result.get("failure") or {}).get("corsError")
        if got != expect.cors_error:
            problems.append(f"corsError={got} (want {expect.cors_error}); failure={result.get('failure')}")
    return problems


def count_requests(log_path: str, method: str, path: str) -> int:
    return sum(1 for m, p, _, _ in access_log_lines(log_path) if m == method and p == path)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="edge-cors-browser-"))
    page_port, api_port, admin_port = free_port(), free_port(), free_port()
    log_path = str(work / "access.log")
    native_log_path = str(work / "native-access.log")
    upstream = Upstream()
    pages = start_page_server(page_port)
    grpc_port = free_port()
    grpc = serve(grpc_port, GrpcWebHandler)
    (work / "native").mkdir()
    config = proxy_bootstrap(api_port, admin_port, upstream.port, edge_cors_chain(policy(page_port)),
                             routes=[GRPC_ROUTE, get_only_route()])
    envoy = Envoy(with_access_log(add_cluster(config, "grpc", grpc_port), log_path), work,
                  extra_args=ACCESS_LOG_FLUSH_ARGS)
    native = Envoy(with_access_log(native_config(free_port(), free_port(), upstream.port, page_port), native_log_path),
                   work / "native", extra_args=ACCESS_LOG_FLUSH_ARGS)
    try:
        envoy.start()
        native.start()
        all_cases = cases(page_port, api_port, native.port)
        spec_path = work / "spec.json"
        spec_path.write_text(json.dumps({
            "chromium": CHROMIUM,
            "host_resolver_rules": HOST_RESOLVER_RULES,
            "cases": [{"name": c.name, "page_url": f"{c.page}/{'sandboxed' if c.frame else 'index'}.html",
                       "frame_path": c.frame, "fetches": [f.spec() for f in c.fetches]} for c in all_cases],
        }))
        run = subprocess.run(["node", str(HERE / "runner.mjs"), str(spec_path)], cwd=HERE,
                             capture_output=True, text=True, timeout=120)
        if run.returncode != 0:
            print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
            print("browser runner failed")
            return 1
        results = {r["name"]: r for r in json.loads(run.stdout)}

        rows, failed = [], 0
        for c in all_cases:
            result = results[c.name]
            problems = []
            if result["page_origin"] != (c.origin_seen or c.page):
                problems.append(f"page origin {result['page_origin']} (want {c.origin_seen or c.page})")
            for f, r in zip(c.fetches, result["fetches"]):
                problems += check_fetch(r, f.expect)
            last = result["fetches"][-1]
            reason = describe(last)
            if c.fetches[-1].expect.body_has and last["readable"] and c.fetches[-1].expect.body_has in last["body"]:
                reason += f", upstream received cookie {c.fetches[-1].expect.body_has.split('=')[0]}"
            case_log = native_log_path if c.native else log_path
            if c.preflights:
                path, want = c.preflights
                actual_method = c.fetches[-1].method
                # The log is flushed asynchronously, in completion order: wait until every request
                # the page got an answer to is there; earlier lines (their preflights) are then
                # there too. A request blocked at preflight is never sent: await its preflight.
                sent_ok = sum(1 for f, r in zip(c.fetches, result["fetches"])
                              if r["readable"] and f.url.endswith(path))
                awaited, n = (actual_method, sent_ok) if last["readable"] else ("OPTIONS", 1)
                poll(lambda: count_requests(case_log, awaited, path) >= n, 10, f"{n} x {awaited} {path} in the access log")
                got = count_requests(case_log, "OPTIONS", path)
                sent = count_requests(case_log, actual_method, path)
                reason += f"; Envoy saw {got} preflight(s), {sent} {actual_method}"
                if got != want:
                    problems.append(f"{got} preflights at Envoy (want {want})")
                if not last["readable"] and sent != 0:
                    problems.append(f"{sent} {actual_method} reached Envoy after a failed preflight")
            if c.origin_seen:
                path = c.fetches[-1].url.split(f":{api_port}", 1)[1]
                poll(lambda: any(p == path for _, p, _, _ in access_log_lines(case_log)), 10, f"{path} in the access log")
                origins = {o for _, p, _, o in access_log_lines(case_log) if p == path}
                reason += f"; Envoy saw Origin {', '.join(sorted(origins))}"
                if origins != {c.origin_seen}:
                    problems.append(f"Envoy saw Origin {origins} (want {c.origin_seen})")
            verdict = "allowed" if last["readable"] else "blocked"
            if problems:
                failed += 1
                verdict = "MISMATCH: " + verdict
                reason += " | " + "; ".join(problems)
            rows.append((c.name, c.expected, verdict, reason))

        widths = [max(len(r[i]) for r in rows + [("case", "expected", "browser", "reason")]) for i in range(3)]
        header = ("case", "expected", "browser", "reason")
        print(f"Chromium {chromium_version()} vs edge-cors (page :{page_port}, Envoy + edge-cors :{api_port}, "
              f"Envoy + native CORS filter :{native.port})")
        for row in [header, tuple("-" * w for w in widths) + ("-" * 6,)] + rows:
            print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths + [0])))
        print(f"\n{len(rows) - failed} of {len(rows)} cases agree" + (f", {failed} MISMATCH" if failed else ""))
        if failed:
            print(f"\nEnvoy log: {envoy.log_path}\naccess log: {log_path}")
        return 1 if failed else 0
    finally:
        envoy.stop()
        native.stop()
        upstream.stop()
        pages.shutdown()
        grpc.shutdown()


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20).stdout
        return out.split()[1] if len(out.split()) > 1 else out.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
