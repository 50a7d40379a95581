#!/usr/bin/env python3
"""Browser conformance suite: do Chromium and Firefox agree with edge-cors?

Starts, each on a free 127.0.0.1 port: the upstream (scripts/upstream.py), the page server
(tests/browser/pages and the Socket.IO client), the gRPC-web stand-in, the assets server, the
real-time server (python-socketio and a raw WebSocket echo), one Envoy with edge-cors first
(then the Lua auth stand-in, RBAC, router, as in the e2e tests) on an HTTP listener and an HTTPS
one (HTTP/2, a certificate made now), and one Envoy with the native CORS filter for comparison;
both with a file access log. Host names resolve to 127.0.0.1 inside the browsers, so the page
origin (http://app.example.com:PAGE) and the API origin (http://api.example.com:ENVOY) differ.

The case table (cases.py) runs in both browsers at once, one runner.mjs process each (one
browser process, a fresh context per case, several cases at a time). Every result is checked
against the case's expectation for that browser; the suite prints one table per browser
(case -> expected -> browser -> reason, the reason being the browser's own for a blocked step)
and exits 1 on any mismatch. When every case agrees, it writes docs/browser-matrix.md, the
table the documentation shows.

Usage: run.py [--browsers chromium,firefox] [--only WORD]
       (ENVOY_BIN, EDGE_CORS_WASM, CHROMIUM, FIREFOX override the defaults)
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cases import BROWSERS, Case, cases, policy, server_note  # noqa: E402
from harness.envoy_config import (  # noqa: E402
    ACCESS_LOG_FLUSH_ARGS, NATIVE_CORS, ROUTER, add_cluster, edge_cors_chain, get_only_route,
    native_cors_filter, native_cors_policy, proxy_bootstrap, route_to,
    upgrade_websockets, with_access_log,
)
from harness.processes import Envoy, Upstream, access_log_lines, free_port, poll  # noqa: E402
from servers import (  # noqa: E402
    GrpcWebHandler, RealtimeServer, self_signed_cert, serve, start_assets_server, start_page_server,
)

EXECUTABLES = {"chromium": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
               "firefox": os.environ.get("FIREFOX", "/usr/bin/firefox-esr")}
HOST_RESOLVER_RULES = "MAP *.example.com 127.0.0.1, MAP example.com 127.0.0.1, MAP *.test 127.0.0.1"
# Cases each browser runs at a time (each in its own context). Both browsers run side by side.
CONCURRENCY = 3
MATRIX = HERE.parents[1] / "docs" / "browser-matrix.md"


def not_options(route: dict) -> dict:
    """`route` for every method but OPTIONS: a preflight reaching the router would 404."""
    route["match"]["headers"] = [{"name": ":method", "string_match": {"exact": "OPTIONS"}, "invert_match": True}]
    return route


def edge_cors_config(api: int, tls_api: int, admin: int, upstream: int, page: int, clusters: dict,
                     cert: tuple, log_path: str) -> dict:
    """Envoy + edge-cors: the HTTP listener, and an HTTPS copy of it (ALPN h2: Chromium streams
    request bodies over HTTP/2 only). Every path with an `/assets/` segment goes to the assets
    server, `/socket.io/`, `/ws/` and `/ws-open/` to the real-time server (WebSocket upgrades
    on), `/grpc/` to the gRPC-web stand-in, the rest to the upstream."""
    routes = [
        route_to("grpc", "/grpc/"),
        not_options({"match": {"safe_regex": {"regex": "/[^?]*/assets/.*"}}, "route": {"cluster": "assets"}}),
        not_options(route_to("realtime", "/socket.io/")),
        not_options(route_to("realtime", "/ws/")),
        not_options(route_to("realtime", "/ws-open/")),
        get_only_route(),
    ]
    config = proxy_bootstrap(api, admin, upstream, edge_cors_chain(policy(page)), routes=routes)
    for name, port in clusters.items():
        add_cluster(config, name, port)
    listeners = config["static_resources"]["listeners"]
    tls = copy.deepcopy(listeners[0])
    tls["name"] = "tls"
    tls["address"]["socket_address"]["port_value"] = tls_api
    tls["filter_chains"][0]["transport_socket"] = {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
            "common_tls_context": {
                "alpn_protocols": ["h2", "http/1.1"],
                "tls_certificates": [{"certificate_chain": {"filename": cert[0]}, "private_key": {"filename": cert[1]}}],
            },
        },
    }
    listeners.append(tls)
    return with_access_log(upgrade_websockets(config), log_path)


def native_config(listener: int, admin: int, upstream: int, page: int) -> dict:
    """Envoy with its own CORS filter and the `app` policy's closest equivalent, for comparison."""
    native = native_cors_policy(
        allow_origin_string_match=[{"exact": f"http://app.example.com:{page}"}],
        allow_methods="GET, PUT", allow_headers="authorization, content-type",
        expose_headers="x-request-id", max_age="600", forward_not_matching_preflights=False,
    )
    routes = [route_to(typed_per_filter_config={NATIVE_CORS: native})]
    return proxy_bootstrap(listener, admin, upstream, [native_cors_filter(), ROUTER], routes=routes)


# ---------------------------------------------------------------- per-browser specs

def tag(url: str, case_tag: str) -> str:
    """`url` with `case=TAG` added to its query: each browser's requests of each case are told
    apart in Envoy's access log and at the real-time server."""
    return f"{url}{'&' if '?' in url else '?'}case={case_tag}"


def case_tag(browser: str, index: int) -> str:
    return f"{browser}-{index}"


def browser_spec(browser: str, all_cases: list) -> dict:
    specs = []
    for i, c in enumerate(all_cases):
        t = case_tag(browser, i)
        steps = []
        for s in c.steps:
            step = {"kind": s.kind, **s.opts, "case": t}
            step["url"] = s.url if s.kind == "socketio" else tag(s.url, t)
            steps.append(step)
        specs.append({"name": c.name, "page_url": c.page_url or f"{c.page}/index.html",
                      "frame_path": c.frame, "steps": steps})
    return {"browser": browser, "executable": EXECUTABLES[browser], "host_resolver_rules": HOST_RESOLVER_RULES,
            "concurrency": CONCURRENCY, "cases": specs}


def run_browser(browser: str, spec: dict, work: Path) -> dict:
    path = work / f"spec-{browser}.json"
    path.write_text(json.dumps(spec))
    run = subprocess.run(["node", str(HERE / "runner.mjs"), str(path)], cwd=HERE, capture_output=True, text=True,
                         timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"{browser} runner failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    (work / f"results-{browser}.json").write_text(run.stdout)
    return json.loads(run.stdout)


# ---------------------------------------------------------------- checks

def describe(result: dict) -> str:
    """What the browser did with one step, for the table's `reason` column."""
    if result.get("readable"):
        parts = [f"status {result['status']}"] if "status" in result else []
        parts += [f"{k}={v if v is not None else 'null'}" for k, v in result.get("headers", {}).items()]
        if "width" in result:
            parts.append(f"text {result['width']} px wide (fallback {result['fallback_width']} px)")
        if "canvas_pixel" in result or "canvas_error" in result:
            parts.append("canvas " + ("pixel " + ",".join(map(str, result["canvas_pixel"]))
                                      if "canvas_pixel" in result else result["canvas_error"]))
            gl = result.get("webgl") or {}
            parts.append("WebGL " + ("unavailable" if not gl.get("available") else
                                     "pixel " + ",".join(map(str, gl["pixel"])) if "pixel" in gl else gl.get("error", "?")))
        if "transports" in result:
            parts.append(" -> ".join(result["transports"]) + f", pong over {(result.get('pong') or {}).get('transport')}")
        if "body" in result and result.get("kind") == "websocket":
            parts.append(result["body"])
        return ", ".join(parts) or "readable"
    reason = result.get("reason")
    if "width" in result:
        return (f"{reason}; text {result['width']} px wide (fallback {result['fallback_width']} px)")
    return reason or f"no reason reported ({result.get('error')})"


def check_step(result: dict, expect, browser: str) -> list:
    problems = []
    if bool(result.get("readable")) != expect.readable:
        problems.append(f"readable={result.get('readable')} (want {expect.readable}) {result.get('error', '')}")
        return problems
    if expect.readable:
        if expect.status is not None and result.get("status") != expect.status:
            problems.append(f"status {result.get('status')} (want {expect.status})")
        for name, value in expect.headers.items():
            if result["headers"].get(name) != value:
                problems.append(f"{name}={result['headers'].get(name)!r} (want {value!r})")
        if expect.body_has and expect.body_has not in (result.get("body") or ""):
            problems.append(f"body lacks {expect.body_has!r}: {(result.get('body') or '')[:300]}")
    else:
        wanted = expect.reason_wanted(browser)
        got = result.get("reason") or ""
        exact = browser == "chromium" and expect.cors_error
        if wanted and not (got.split(" (")[0] == wanted if exact else wanted in got):
            problems.append(f"reason {got!r} (want {wanted!r}); messages: {result.get('messages')}")
    if expect.check:
        problems += expect.check(result)
    return problems


def count_requests(log_path: str, method: str, path: str) -> int:
    return sum(1 for m, p, _, _ in access_log_lines(log_path) if m == method and p == path)


def check_case(c: Case, index: int, browser: str, result: dict, logs: dict, realtime: dict) -> tuple:
    """(verdict, reason, problems) of one case in one browser."""
    if result.get("error"):
        return "ERROR", result["error"].splitlines()[0], [result["error"]]
    problems = []
    t = case_tag(browser, index)
    steps = c.steps
    # The origin of the document that runs the steps: a sandboxed frame's is opaque ("null").
    want_origin = "null" if c.frame else c.page
    if result["page_origin"] != want_origin:
        problems.append(f"page origin {result['page_origin']} (want {want_origin})")
    for s, r in zip(steps, result["steps"]):
        r["kind"] = s.kind
        problems += check_step(r, s.expect_for(browser), browser)
    last = result["steps"][-1]
    reason = describe(last)
    body_has = steps[-1].expect_for(browser).body_has
    if body_has and "edge_cors_browser=" in body_has and last.get("readable") and body_has in last.get("body", ""):
        reason += ", upstream received the cookie"
    log = logs["native" if c.native else "edge"]
    preflights = c.preflights.get(browser) if isinstance(c.preflights, dict) else c.preflights
    if preflights:
        path, want = preflights
        path = tag(path, t)
        method = steps[-1].opts.get("method", "POST" if steps[-1].kind == "xhr" else "GET")
        # The log is flushed asynchronously, in completion order: wait until every request the
        # page got an answer to is there; earlier lines (their preflights) are then there too.
        # A request blocked at preflight is never sent: await its preflight.
        sent_ok = sum(1 for s, r in zip(steps, result["steps"]) if r.get("readable") and tag(s.url, t).endswith(path))
        awaited, n = (method, sent_ok) if last.get("readable") else ("OPTIONS", 1)
        poll(lambda: count_requests(log, awaited, path) >= n, 10, f"{n} x {awaited} {path} in the access log")
        got = count_requests(log, "OPTIONS", path)
        sent = count_requests(log, method, path)
        reason += f"; Envoy saw {got} preflight(s), {sent} {method}"
        if got != want:
            problems.append(f"{got} preflights at Envoy (want {want})")
        if not last.get("readable") and sent != 0:
            problems.append(f"{sent} {method} reached Envoy after a failed preflight")
    if c.origin_seen:
        if c.log_path:
            match = lambda p: p.startswith(c.log_path)  # noqa: E731
        else:
            own = tag(steps[-1].url, t).split("://", 1)[1]
            own = own[own.index("/"):]
            match = lambda p: p == own  # noqa: E731
        poll(lambda: any(match(p) for _, p, _, _ in access_log_lines(log)), 10, "the request in the access log")
        origins = {o for _, p, _, o in access_log_lines(log) if match(p)}
        reason += f"; Envoy saw Origin {', '.join(sorted(origins))}"
        if origins != {c.origin_seen}:
            problems.append(f"Envoy saw Origin {origins} (want {c.origin_seen})")
    if c.refused_at_gateway:
        statuses = lambda: [s for _, p, s, _ in access_log_lines(log) if f"case={t}" in p]  # noqa: E731
        poll(lambda: statuses(), 10, f"case={t} in the access log")
        reason += f"; Envoy answered {', '.join(sorted(set(statuses())))}"
        if set(statuses()) != {"403"}:
            problems.append(f"Envoy answered {statuses()} (want 403)")
    if c.no_preflight:
        options = [p for m, p, _, _ in access_log_lines(log) if m == "OPTIONS" and f"case={t}" in p]
        reason += f"; Envoy saw {len(options)} preflight(s)"
        if options:
            problems.append(f"preflights at Envoy: {options} (want none)")
    if c.server:
        counts = realtime.get(t, {})
        reason += "; " + server_note(counts)
        problems += c.server(counts)
    verdict = "allowed" if last.get("readable") else "blocked"
    return verdict, reason, problems


# ---------------------------------------------------------------- report

def table(rows: list, header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header) - 1)]
    lines = [" | ".join(str(v).ljust(w) for v, w in zip(row, widths + [0]))
             for row in [header, tuple("-" * w for w in widths) + ("-" * 6,)] + rows]
    return "\n".join(line.rstrip() for line in lines)


def write_matrix(all_cases: list, verdicts: dict, versions: dict, ports: dict) -> None:
    """docs/browser-matrix.md: the per-browser table of a run where every case agreed, with the
    ports replaced by their roles so that the file changes only when a result does."""
    def clean(text: str) -> str:
        for role, port in ports.items():
            text = text.replace(f":{port}", f":{role}")
        # Without the case=TAG parameter (run.tag): keep the separator that joins what remains.
        text = re.sub(r"([?&])case=[a-z]+-[0-9]+(&?)", lambda m: m.group(1) if m.group(2) else "", text)
        return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")

    lines = ["# Browser matrix", "",
             "Generated by `tests/browser/run.py` (`scripts/test.sh browser`) from a run where every case",
             "agreed; do not edit. What each column means: [browsers](browsers.md).", "",
             "Browsers: " + ", ".join(f"{b.capitalize()} {versions[b].split('/')[-1]}" for b in verdicts) + ".", ""]
    group_titles = {"fetch": "fetch()", "uncommon": "The uncommon triggers", "realtime": "Real time"}
    for group, title in group_titles.items():
        lines += [f"## {title}", "", "| case | expected | " + " | ".join(b.capitalize() for b in verdicts)
                  + " | why the browsers differ |", "|---|---|" + "---|" * len(verdicts) + "---|"]
        for i, c in enumerate(all_cases):
            if c.group != group:
                continue
            cells = [f"{verdicts[b][i][0]}: {verdicts[b][i][1]}" for b in verdicts]
            lines.append("| " + " | ".join(clean(x) for x in [c.name, c.expected, *cells, c.differs or ""]) + " |")
        lines.append("")
    MATRIX.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--browsers", default=",".join(BROWSERS))
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--no-matrix", action="store_true", help="do not write docs/browser-matrix.md")
    args = parser.parse_args()
    browsers = [b for b in args.browsers.split(",") if b]
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="edge-cors-browser-"))
    page_port, api_port, tls_port, admin_port = free_port(), free_port(), free_port(), free_port()
    logs = {"edge": str(work / "access.log"), "native": str(work / "native-access.log")}
    cert = self_signed_cert(work)
    upstream = Upstream()
    servers = [start_page_server(page_port)]
    grpc_port, assets_port = free_port(), free_port()
    servers += [serve(grpc_port, GrpcWebHandler), start_assets_server(assets_port)]
    realtime = RealtimeServer()
    (work / "native").mkdir()
    clusters = {"grpc": grpc_port, "assets": assets_port, "realtime": realtime.port}
    envoy = Envoy(edge_cors_config(api_port, tls_port, admin_port, upstream.port, page_port, clusters, cert, logs["edge"]),
                  work, extra_args=ACCESS_LOG_FLUSH_ARGS)
    native = Envoy(with_access_log(native_config(free_port(), free_port(), upstream.port, page_port), logs["native"]),
                   work / "native", extra_args=ACCESS_LOG_FLUSH_ARGS)
    cleanup = False
    try:
        envoy.launch()
        native.launch()
        envoy.wait_ready()
        native.wait_ready()
        all_cases = cases(page_port, api_port, native.port, tls_port, (HERE / "pages" / "index.html").as_uri())
        if args.only:
            all_cases = [c for c in all_cases if args.only in c.name]
        with ThreadPoolExecutor(len(browsers)) as pool:
            futures = {b: pool.submit(run_browser, b, browser_spec(b, all_cases), work) for b in browsers}
            outputs = {b: f.result() for b, f in futures.items()}
        counts = realtime.counts()

        failed, verdicts = 0, {}
        for b in browsers:
            out = outputs[b]
            results = {r["name"]: r for r in out["results"]}
            rows, verdicts[b] = [], []
            for i, c in enumerate(all_cases):
                verdict, reason, problems = check_case(c, i, b, results[c.name], logs, counts)
                verdicts[b].append((verdict, reason))
                if problems:
                    failed += 1
                    verdict = "MISMATCH: " + verdict
                    reason += " | " + "; ".join(problems)
                rows.append((c.name, c.expected, verdict, reason))
            print(f"\n{b.capitalize()} {out['version']} vs edge-cors ({out['seconds']:.0f} s; page :{page_port}, "
                  f"Envoy + edge-cors :{api_port} and TLS :{tls_port}, Envoy + native CORS filter :{native.port})")
            print(table(rows, ("case", "expected", b, "reason")))
        total = len(all_cases) * len(browsers)
        print(f"\n{total - failed} of {total} case runs agree ({len(all_cases)} cases x {len(browsers)} browsers)"
              + (f", {failed} MISMATCH" if failed else "") + f"; {time.monotonic() - started:.0f} s")
        if failed:
            # The logs stay for the failure report; a run that agreed leaves nothing behind.
            print(f"\nEnvoy log: {envoy.log_path}\naccess log: {logs['edge']}")
        else:
            cleanup = True
        if not failed and not args.only and not args.no_matrix and browsers == list(BROWSERS):
            write_matrix(all_cases, verdicts, {b: outputs[b]["version"] for b in browsers},
                         {"PAGE": page_port, "API": api_port, "TLS": tls_port, "NATIVE": native.port})
        return 1 if failed else 0
    finally:
        envoy.stop()
        native.stop()
        upstream.stop()
        realtime.stop()
        for s in servers:
            s.shutdown()
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
