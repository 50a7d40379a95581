#!/usr/bin/env python3
"""Differential run: edge-cors against Envoy's native CORS filter, same Envoy binary, same corpus.

For every configuration of the core spec tests (read from crates/edge-cors-core/tests/spec.rs, so the two never drift
apart), two Envoys start on free ports: one with edge-cors, one with `envoy.filters.http.cors`
and the closest equivalent `CorsPolicy` (translated by `native_policy`) in typed_per_filter_config
of its routes. Both proxy to the same upstream (scripts/upstream.py, which sets its own wrong
`Access-Control-Allow-Origin: *` / `-Allow-Methods: *` and `Vary: accept-encoding`). The corpus
(generated here from the configurations: allowed origins and their look-alikes, bypass-style
origins, methods, request headers, preflights and actual requests) is sent to both; status,
every `access-control-*` header and `Vary` are compared.

Every difference is printed with the classes that explain it (`CLASSES`). A class explains a
field only when its condition holds, and most conditions also check edge-cors's side against the
contract in docs/request-handling.md (for example: edge-cors rejected this preflight *because* the method is not
in the policy). A difference with any field no class explains fails the run.

Usage: run.py [--verbose]   (ENVOY_BIN, EDGE_CORS_WASM override the defaults)
  --verbose: every origin of every group, and the classes that explain each group
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness.client import request  # noqa: E402
from harness.envoy_config import (  # noqa: E402
    NATIVE_CORS, ROUTER, native_cors_filter, native_cors_policy, proxy_bootstrap, route_to, virtual_host, edge_cors_filter,
)
from harness.processes import Envoy, Upstream, free_port  # noqa: E402

SPEC = ROOT / "crates" / "edge-cors-core" / "tests" / "spec.rs"
UPSTREAM_VARY = "accept-encoding"
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
SAFELISTED_METHODS = {"GET", "HEAD", "POST"}
OPERATIONS_FIELDS = {"mode", "enforce_percent", "reject_disallowed", "decision_header", "rejection_log_interval_seconds"}


# ---------------------------------------------------------------- configurations

def spec_configs() -> dict:
    """Every `const NAME: &str = r#"{...}"#;` JSON configuration in crates/edge-cors-core/tests/spec.rs."""
    text = SPEC.read_text()
    out = {}
    for name, body in re.findall(r'const (\w+): &str = r#"(\{.*?\})"#;', text, re.S):
        # Rust raw strings keep `\\` as two characters, exactly as JSON wants them.
        config = json.loads(body)
        # Report-only, rollout, reject_disallowed and the decision header have no counterpart
        # in the native filter: a configuration using them compares operations, not CORS.
        operations = OPERATIONS_FIELDS & (set(config) | {k for p in config["policies"] for k in p})
        if operations:
            print(f"differential: skipping {name} from the spec tests: it uses {', '.join(sorted(operations))}, "
                  "which the native filter has no counterpart for")
            continue
        if any("route_names" in p.get("match", {}) for p in config["policies"]):
            # The native side's routes are built from hosts and paths (native_route_config); a
            # route-bound policy is compared through Envoy in tests/e2e/test_route_names.py.
            print(f"differential: skipping {name} from the spec tests: it binds policies by route_names")
            continue
        out[name] = config
    if not out:
        raise SystemExit(f"no configuration found in {SPEC}")
    return out


def origin_regex(pattern: str) -> dict:
    """An edge-cors origin pattern as an Envoy StringMatcher (RE2, full match)."""
    if pattern == "*":
        return {"exact": "*"}  # the native filter's own idiom for any origin
    scheme, _, rest = pattern.partition("://")
    host, port = rest, None
    if not rest.startswith("[") and ":" in rest:
        host, port = rest.rsplit(":", 1)
    if "*" not in host and port != "*":
        return {"exact": pattern}
    host_re = re.escape(host)
    if host.startswith("*."):
        # One or more labels, of the characters edge-cors accepts in a host (it allows `_`).
        host_re = r"([a-z0-9_-]+\.)+" + re.escape(host[2:])
    port_re = "" if port is None else (r"(:[0-9]+)?" if port == "*" else ":" + port)
    return {"safe_regex": {"regex": re.escape(scheme) + "://" + host_re + port_re}}


def native_policy(p: dict) -> dict:
    """The closest `envoy.extensions.filters.http.cors.v3.CorsPolicy` to an edge-cors policy."""
    matchers = [origin_regex(o) for o in p.get("allow_origins", [])]
    for r in p.get("allow_origin_regexes", []):
        matchers.append({"safe_regex": {"regex": r.removeprefix("^").removesuffix("$")}})
    methods = p.get("allow_methods") or ["GET", "HEAD", "POST"]
    policy = native_cors_policy(
        allow_origin_string_match=matchers,
        allow_methods=", ".join(m.upper() for m in methods),
        allow_credentials=bool(p.get("allow_credentials", False)),
        allow_private_network_access=bool(p.get("allow_private_network_access", False)),
        # edge-cors never forwards a preflight; the native default (true) would send rejected
        # ones to the upstream.
        forward_not_matching_preflights=False,
    )
    if p.get("allow_headers"):
        policy["allow_headers"] = ", ".join(p["allow_headers"])
    if p.get("expose_headers"):
        policy["expose_headers"] = ", ".join(p["expose_headers"])
    if "max_age" in p:
        policy["max_age"] = str(p["max_age"])
    return policy


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def native_route_config(config: dict) -> list:
    """Virtual hosts reproducing edge-cors's first-match policy routing (hosts, path prefixes)."""
    domains = []
    for p in config["policies"]:
        for h in p.get("match", {}).get("hosts", []):
            if h not in domains:
                domains.append(h)
    vhosts = []
    for domain in domains + ["*"]:
        routes = []
        for p in config["policies"]:
            hosts = p.get("match", {}).get("hosts")
            # An exact-host policy applies inside the `*.x` virtual host only to that one host,
            # which Envoy routes to its own exact virtual host: leave it out of the wildcard one.
            if hosts and not any(h == domain or (h.startswith("*.") and domain != "*" and host_matches(h, domain))
                                 for h in hosts):
                continue
            for prefix in p.get("match", {}).get("path_prefixes", ["/"]):
                routes.append(route_to(prefix=prefix, typed_per_filter_config={NATIVE_CORS: native_policy(p)}))
        routes.append(route_to())
        vhosts.append(virtual_host(routes, domain.replace("*", "any"), [domain]))
    return vhosts


def edge_policy_for(config: dict, host: str, path: str) -> dict | None:
    for p in config["policies"]:
        m = p.get("match", {})
        if m.get("hosts") and not any(host_matches(h, host) for h in m["hosts"]):
            continue
        if m.get("path_prefixes") and not any(path.startswith(x) for x in m["path_prefixes"]):
            continue
        return p
    return None


# ---------------------------------------------------------------- corpus

def derived_origins(config: dict) -> list:
    """Allowed origins of the configuration and, for each, the look-alikes a bypass would try."""
    out = []
    for p in config["policies"]:
        for o in p.get("allow_origins", []):
            if o == "*":
                out += ["https://whoever.net", "http://10.0.0.1:8080"]
                continue
            scheme, _, rest = o.partition("://")
            host, _, port = rest.partition(":")
            other_scheme = "http" if scheme == "https" else "https"
            if host.startswith("*."):
                base = host[2:]
                samples = [f"a.{base}", f"a.b.{base}", f"xn--bcher-kva.{base}"]
                looks = [base, f"evil{base}", f"{base}.evil.net", f"a.{base}.evil.net", f"a_b.{base}", f"-a.{base}"]
            else:
                samples = [host]
                looks = [f"{host}.evil.net", f"evil{host}", f"{host}.", host.upper(), f"evil.{host}"]
            if port == "*":
                ports = [":5173", ""]
                bad_ports = []
            elif port:
                ports = [f":{port}"]
                bad_ports = ["", f":{int(port) + 1}"]
            else:
                ports = [""]
                bad_ports = [":8443", ":443" if scheme == "https" else ":80"]
            for h in samples:
                out += [f"{scheme}://{h}{pp}" for pp in ports]
                out += [f"{scheme}://{h}{bp}" for bp in bad_ports]
                out += [f"{other_scheme}://{h}{ports[0]}", f"{scheme}://{h}{ports[0]}/"]
            for h in looks:
                out.append(f"{scheme}://{h}{ports[0]}")
        for r in p.get("allow_origin_regexes", []):
            if "pr-[0-9]+" in r:
                out += ["https://pr-17.preview.example.org", "https://pr-.preview.example.org",
                        "https://pr-17.preview.example.org.evil.net", "https://pr-17xpreview.example.org",
                        "https://pr-17.preview.example.org:8443"]
    return out


BYPASS_ORIGINS = [
    "null", "*", "https://evil.com", "https://app.example.com, https://evil.com",
    "https://app.example.com@evil.com", "https://evil.com#https://app.example.com",
    "https://app.example.com%60.evil.com", "file://", "HTTPS://APP.EXAMPLE.COM",
    "https://app.example.com:0443", "https://" + "a" * 1100 + ".example.com",
]

# (name, method, headers): the request shapes sent from every origin. A preflight is
# OPTIONS + Origin + non-empty Access-Control-Request-Method (Fetch and both filters agree).
SHAPES = [
    ("GET", "GET", []),
    ("PUT actual", "PUT", [("content-type", "application/json")]),
    ("OPTIONS, no ACRM (actual)", "OPTIONS", []),
    ("preflight PUT content-type,authorization", "OPTIONS",
     [("access-control-request-method", "PUT"), ("access-control-request-headers", "content-type,authorization")]),
    ("preflight DELETE", "OPTIONS", [("access-control-request-method", "DELETE")]),
    ("preflight GET, mixed-case headers", "OPTIONS",
     [("access-control-request-method", "GET"), ("access-control-request-headers", "Content-Type, Authorization")]),
    ("preflight PUT x-secret", "OPTIONS",
     [("access-control-request-method", "PUT"), ("access-control-request-headers", "x-secret")]),
    ("preflight PATCH", "OPTIONS", [("access-control-request-method", "PATCH")]),
    ("preflight lower-case put", "OPTIONS", [("access-control-request-method", "put")]),
    ("preflight malformed headers", "OPTIONS",
     [("access-control-request-method", "POST"), ("access-control-request-headers", "content-type, bad header")]),
    ("preflight POST x-trace + PNA", "OPTIONS",
     [("access-control-request-method", "POST"), ("access-control-request-headers", "x-trace"),
      ("access-control-request-private-network", "true")]),
]


@dataclass
class Req:
    config: str
    host: str
    path: str
    origin: str | None
    shape: str
    method: str
    headers: list

    def header(self, name: str):
        v = [val for n, val in self.headers if n == name]
        return ",".join(v) if v else None

    @property
    def preflight(self) -> bool:
        return self.method == "OPTIONS" and bool(self.origin) and bool(self.header("access-control-request-method"))

    def label(self) -> str:
        o = self.origin if self.origin is None or len(self.origin) < 60 else self.origin[:28] + "..." + self.origin[-20:]
        return f"{self.config} {self.host}{self.path} {self.shape} origin={o!r}"


def corpus(configs: dict) -> list:
    out = []
    for name, config in configs.items():
        routed = any(p.get("match") for p in config["policies"])
        targets = [("api.example.com", "/api/items")]
        if routed:
            targets = [("admin.example.com", "/api/users"), ("admin.example.com", "/other"),
                       ("api.example.com", "/api/items"), ("example.com", "/api/items")]
        origins = list(dict.fromkeys(derived_origins(config) + BYPASS_ORIGINS))
        for host, path in targets:
            out.append(Req(name, host, path, None, "GET, no Origin", "GET", []))
            out.append(Req(name, host, path, "", "GET, empty Origin", "GET", [("origin", "")]))
            for origin in origins:
                for shape, method, headers in SHAPES if not routed else SHAPES[:5]:
                    out.append(Req(name, host, path, origin, shape, method, [("origin", origin), *headers]))
    return out


# ---------------------------------------------------------------- comparison

@dataclass
class Seen:
    status: int
    cors: dict  # access-control-* name -> value (lines joined with ", ")
    vary: str | None


def observe(port: int, r: Req) -> Seen:
    resp = request(port, r.method, r.path, r.headers, host=r.host,
                   body=b"{}" if r.method in ("PUT", "POST") else None)
    vary = resp.values("vary")
    return Seen(resp.status, resp.cors(), ", ".join(vary) if vary else None)


def fields(s: Seen) -> dict:
    out = {"status": s.status, "vary": s.vary}
    out.update(s.cors)
    return out


def requested_names(acrh: str | None):
    """edge-cors's contract: names lower-cased, whitespace and empty elements tolerated; None if malformed."""
    if acrh is None:
        return []
    names = [n.strip().lower() for n in acrh.split(",")]
    names = [n for n in names if n]
    return names if all(TOKEN.match(n) for n in names) else None


def edge_should_reject_preflight(policy: dict, r: Req) -> str | None:
    """Why edge-cors must reject this preflight from an origin it allows, or None."""
    method = r.header("access-control-request-method")
    allowed = {m.upper() if m.lower() in ("delete", "get", "head", "options", "post", "put") else m
               for m in policy.get("allow_methods", [])} | SAFELISTED_METHODS
    if method not in allowed:
        return f"method {method} not in the policy"
    names = requested_names(r.header("access-control-request-headers"))
    if names is None:
        return "malformed Access-Control-Request-Headers"
    listed = set(policy.get("allow_headers", []))
    for n in names:
        if n not in listed and not ("*" in listed and n != "authorization"):
            return f"header {n} not in the policy"
    return None


def edge_vary_ok(r: Req, policy: dict | None, edge: Seen, forwarded: bool) -> bool:
    """edge-cors's Vary per the contract: the upstream's, then its own."""
    got = [t.strip() for t in edge.vary.split(",")] if edge.vary else []
    if policy is None:
        return got == ([UPSTREAM_VARY] if forwarded else [])
    depends = policy.get("allow_origins") != ["*"]
    if r.preflight:
        want = ["origin"] if depends else []
        want += ["access-control-request-method", "access-control-request-headers"]
        if policy.get("allow_private_network_access"):
            want.append("access-control-request-private-network")
        return got == want
    return got == ([UPSTREAM_VARY, "origin"] if depends else [UPSTREAM_VARY])


def classify(r: Req, config: dict, edge: Seen, native: Seen) -> tuple:
    """(differing fields, {class: explained fields}) for one request."""
    e, n = fields(edge), fields(native)
    diff = {k for k in set(e) | set(n) if e.get(k) != n.get(k)}
    policy = edge_policy_for(config, r.host, r.path)
    success = config.get("preflight_success_status", 204)
    explained = defaultdict(set)
    if not diff:
        return diff, explained
    cors = {k for k in diff if k.startswith("access-control-")}
    edge_local = r.preflight and policy is not None

    if "vary" in diff and native.vary in (None, UPSTREAM_VARY) and edge_vary_ok(r, policy, edge, not edge_local):
        explained["native never sends Vary"].add("vary")

    if edge_local:
        e_ok = edge.status == success and "access-control-allow-origin" in edge.cors
        e_rej = edge.status == 403 and not edge.cors
        n_ok = native.status == 200 and "access-control-allow-origin" in native.cors
        n_rej = native.status == 200 and "access-control-allow-origin" not in native.cors
        if e_ok and n_ok and edge.status != 200:
            explained["allowed preflight: edge-cors 204, native 200"].add("status")
        if e_rej and n_rej:
            explained["rejected origin, preflight: edge-cors 403 and no CORS header; native 200 with the "
                      "policy's other headers"] |= {"status"} | cors
        if e_rej and n_ok:
            why = edge_should_reject_preflight(policy, r)
            if why:
                explained["method or header not allowed: edge-cors 403 at the edge; native 200 with the whole "
                          "policy, leaving the check to the browser"] |= {"status"} | cors
        expose = ", ".join(policy.get("expose_headers", []))
        if (expose and "access-control-expose-headers" in diff and "access-control-expose-headers" not in edge.cors
                and native.cors.get("access-control-expose-headers") == expose):
            explained["preflight: native also sends Access-Control-Expose-Headers (its response hook decorates "
                      "its own answer); edge-cors sends only what a preflight uses"].add("access-control-expose-headers")
        if e_ok and n_ok:
            names = requested_names(r.header("access-control-request-headers")) or []
            if "access-control-allow-headers" in diff and edge.cors.get("access-control-allow-headers") == (
                    ",".join(names) if names else None):
                explained["Access-Control-Allow-Headers: edge-cors the requested names (validated, lower-case); "
                          "native its configured list, or the raw request value for *"].add(
                    "access-control-allow-headers")
    else:
        origin_allowed_by_edge = policy is not None and "access-control-allow-origin" in edge.cors
        # Forwarded requests: the native filter overwrites only ACAO/ACAC/expose for an allowed
        # origin and leaves the upstream's other CORS headers; for a rejected origin all of them.
        upstream = {"access-control-allow-origin": "*", "access-control-allow-methods": "*"}
        kept = {k for k in cors if native.cors.get(k) == upstream.get(k) and k not in edge.cors}
        if policy is not None and kept and (origin_allowed_by_edge or not edge.cors):
            explained["forwarded: native keeps the upstream's own CORS headers, edge-cors removes them"] |= kept

    if policy is not None and policy.get("allow_origins") == ["*"] and r.origin:
        if edge.cors.get("access-control-allow-origin") == "*" and native.cors.get("access-control-allow-origin") == r.origin:
            explained["any-origin policy: edge-cors sends the literal *, native reflects the Origin"].add(
                "access-control-allow-origin")

    if (policy is not None and policy.get("allow_origins") == ["*"] and not r.origin and not edge_local
            and edge.cors.get("access-control-allow-origin") == "*"):
        explained["any-origin policy, no Origin: edge-cors sends its `*` answer anyway (Fetch, \"CORS protocol "
                  "and HTTP caches\"), native leaves the response alone"] |= {k for k in cors if k in edge.cors}

    if r.origin and len(r.origin) > 1024 and not edge.cors and (native.cors.get("access-control-allow-origin") == r.origin):
        explained["Origin longer than 1024 bytes: edge-cors rejects it unread, native matches it"] |= diff
    return diff, explained


def run_config(name: str, config: dict, upstream_port: int, work: Path, requests: list,
               edge_config: dict | None = None) -> list:
    """Send `requests` to edge-cors (`edge_config`, default `config`) and to the native filter (`config`)."""
    edge_cfg = proxy_bootstrap(free_port(), free_port(), upstream_port, [edge_cors_filter(edge_config or config), ROUTER],
                               routes=[route_to()])
    native_cfg = proxy_bootstrap(free_port(), free_port(), upstream_port, [native_cors_filter(), ROUTER],
                                 virtual_hosts=native_route_config(config))
    for side in ("edge-cors", "native"):
        (work / f"{name}-{side}").mkdir(parents=True, exist_ok=True)
    edge = Envoy(edge_cfg, work / f"{name}-edge-cors")
    native = Envoy(native_cfg, work / f"{name}-native")
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda x: x.start(), (edge, native)))
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda r: (r, observe(edge.port, r), observe(native.port, r)), requests))
    finally:
        edge.stop()
        native.stop()


def classifier_catches_a_real_difference(configs: dict, requests: list, upstream_port: int, work: Path) -> list:
    """Canary: edge-cors loses one allowed origin of APP; the classes must not explain that away.

    Returns the problems found (empty when the run reports the injected difference).
    """
    config = configs["APP"]
    dropped = "https://api.partner.io:8443"
    edge_config = json.loads(json.dumps(config))
    edge_config["policies"][0]["allow_origins"].remove(dropped)
    sample = [r for r in requests if r.config == "APP" and r.origin == dropped]
    results = run_config("APP-canary", config, upstream_port, work, sample, edge_config=edge_config)
    caught = 0
    for r, edge, native in results:
        diff, explained = classify(r, config, edge, native)
        caught += bool(diff - (set().union(*explained.values()) if explained else set()))
    print(f"  edge-cors without {dropped} in APP: {caught} of {len(sample)} requests from it unexplained"
          " (must be > 0)")
    return [] if caught else [f"removing {dropped} from edge-cors's APP went unnoticed: the classes are too lenient"]


def credentials_with_any_origin(upstream_port: int, work: Path) -> list:
    """The configuration edge-cors refuses and the native filter serves: `*` with credentials.

    Returns the problems found (empty when both behave as docs/request-handling.md says).
    """
    policy = {"name": "any", "allow_origins": ["*"], "allow_credentials": True}
    (work / "any-credentials-edge").mkdir()
    (work / "any-credentials-native").mkdir()
    edge = Envoy(proxy_bootstrap(free_port(), free_port(), upstream_port, [edge_cors_filter({"policies": [policy]}), ROUTER]),
                 work / "any-credentials-edge")
    code = edge.run_to_exit()
    problems = []
    refused = code != 0 and "cannot be combined with allow_credentials" in edge.log()
    print(f"  edge-cors: {{allow_origins: [*], allow_credentials: true}} -> Envoy exit code {code}"
          + (", configuration refused" if refused else ", NOT refused"))
    if not refused:
        problems.append("edge-cors did not refuse `*` with credentials")
    native_cfg = proxy_bootstrap(free_port(), free_port(), upstream_port, [native_cors_filter(), ROUTER],
                                 routes=[route_to(typed_per_filter_config={NATIVE_CORS: native_policy(policy)})])
    native = Envoy(native_cfg, work / "any-credentials-native").start()
    try:
        r = request(native.port, "GET", "/api/me", [("origin", "https://evil.example.net")])
    finally:
        native.stop()
    acao, acac = r.get("access-control-allow-origin"), r.get("access-control-allow-credentials")
    print(f"  native: same policy, GET from https://evil.example.net -> ACAO {acao!r}, ACAC {acac!r}"
          " (any site may read responses with the user's cookies)")
    if (acao, acac) != ("https://evil.example.net", "true"):
        problems.append(f"native filter answered ACAO {acao!r} ACAC {acac!r}; docs/security.md says it reflects")
    return problems


def list_header(value: str | None) -> list:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def browser_verdict(r: Req, seen: Seen) -> str:
    """What Fetch's CORS checks conclude for a script's request without credentials."""
    acao = seen.cors.get("access-control-allow-origin")
    if acao not in ("*", r.origin):
        return "blocked"
    if not r.preflight:
        return "readable"
    if not 200 <= seen.status <= 299:
        return "blocked"
    method = r.header("access-control-request-method")
    methods = list_header(seen.cors.get("access-control-allow-methods"))
    if method not in SAFELISTED_METHODS and method not in methods and "*" not in methods:
        return "blocked"
    allowed = {h.lower() for h in list_header(seen.cors.get("access-control-allow-headers"))}
    for name in list_header(r.header("access-control-request-headers")):
        name = name.lower()
        if name not in allowed and not ("*" in allowed and name != "authorization"):
            return "blocked"
    return "allowed"


def shown(value, origin):
    """A header value with the request's Origin replaced, so that rows group across origins."""
    if isinstance(value, str) and origin and len(origin) > 8 and origin in value:
        return value.replace(origin, "<Origin>")
    return value


def main() -> int:
    verbose = "--verbose" in sys.argv
    configs = spec_configs()
    requests = corpus(configs)
    work = Path(tempfile.mkdtemp(prefix="edge-cors-differential-"))
    upstream = Upstream()
    try:
        by_config = defaultdict(list)
        for r in requests:
            by_config[r.config].append(r)
        results = []
        for name, reqs in by_config.items():
            results += run_config(name, configs[name], upstream.port, work, reqs)
        print("A policy only the native filter accepts:")
        hazard = credentials_with_any_origin(upstream.port, work)
        print("Canary (the comparison can fail):")
        hazard += classifier_catches_a_real_difference(configs, requests, upstream.port, work)
        print()
    finally:
        upstream.stop()

    per_class, unexplained, differing = Counter(), 0, 0
    groups = defaultdict(list)  # (config, shape, verdicts, diff) -> [(origin, classes, missing)]
    verdict_diffs = Counter()
    for r, edge, native in results:
        diff, explained = classify(r, configs[r.config], edge, native)
        if not diff:
            continue
        differing += 1
        covered = set().union(*explained.values()) if explained else set()
        missing = diff - covered
        unexplained += bool(missing)
        for c in explained:
            per_class[c] += 1
        e, n = fields(edge), fields(native)
        verdicts = (browser_verdict(r, edge), browser_verdict(r, native))
        if verdicts[0] != verdicts[1]:
            verdict_diffs[(r.config, r.shape) + verdicts] += 1
        key = (r.config, r.shape, verdicts, bool(missing),
               tuple((k, shown(e.get(k), r.origin), shown(n.get(k), r.origin)) for k in sorted(diff)))
        groups[key].append((r, sorted(explained), sorted(missing)))

    print(f"differential: {len(results)} requests, each to 2 Envoys of the same binary: edge-cors | "
          f"envoy.filters.http.cors; configurations {', '.join(configs)} from the spec tests\n")
    print("Every difference (status, access-control-*, vary), grouped by configuration, request shape and values;")
    print("<Origin> = the request's Origin; verdict = what Fetch concludes for a request without credentials.\n")
    for (config, shape, verdicts, _, diff), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], -len(kv[1]))):
        origins = [repr(r.origin if r.origin is None or len(r.origin) < 50 else r.origin[:20] + "..." + r.origin[-16:])
                   for r, _, _ in rows]
        missing = sorted({m for _, _, ms in rows for m in ms})
        flag = "UNEXPLAINED " if missing else ""
        print(f"{flag}{config} | {shape} | {len(rows)} request(s) | verdict edge-cors {verdicts[0]}, native {verdicts[1]}")
        shown_origins = origins if verbose else origins[:4]
        print("    origins: " + ", ".join(shown_origins)
              + (f", ... {len(origins) - 4} more (--verbose lists them)" if len(origins) > len(shown_origins) else ""))
        for k, ev, nv in diff:
            print(f"    {k}: {ev!r} | {nv!r}")
        if missing:
            print(f"    NOT EXPLAINED: {missing}")
        if verbose or missing:
            for c in sorted({c for _, cs, _ in rows for c in cs}):
                print(f"    class: {c}")
    print(f"\n{'class of difference':<110} requests")
    for c, count in per_class.most_common():
        print(f"{c:<110} {count}")
    print("\nWhere a browser would decide differently (request without credentials):")
    for (config, shape, ve, vn), count in sorted(verdict_diffs.items()):
        print(f"  {config:<32} {shape:<42} edge-cors {ve:<8} native {vn:<8} {count}")
    print(f"\n{len(results)} requests, {len(results) - differing} identical, {differing} different, "
          f"{differing - unexplained} explained, {unexplained} unexplained")
    for problem in hazard:
        print(f"FAILED: {problem}")
    return 1 if unexplained or hazard else 0


if __name__ == "__main__":
    sys.exit(main())
