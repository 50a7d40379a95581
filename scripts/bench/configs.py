"""Envoy configurations and policies for the benchmark: the variants side by side.

(a) `none`          no CORS filter
(b) `native`        Envoy's envoy.filters.http.cors (C++) with the equivalent CorsPolicy
(c) `floor`         a proxy-wasm filter that does nothing (scripts/bench/floor): the wasm floor
(d) `edge`          edge-cors, the proxy-wasm filter
(e) `module`        edge-cors, the native dynamic module (crates/edge-cors-native)
(f) `module-floor`  a dynamic module that does nothing (scripts/bench/floor-native): the floor of
                    Envoy's dynamic-module wrapper

Every variant routes every method to the same upstream (another Envoy answering with a fixed
`direct_response`), so the only difference between them is the CORS filter.
"""
from __future__ import annotations

# bench.py puts tests/ on sys.path: the Envoy configs come from the test harness's one builder.
from harness.envoy_config import (  # noqa: E402
    NATIVE_CORS, ROUTER, bootstrap, direct_response_route, http_listener, native_cors_filter, native_cors_policy,
    dynamic_module_filter, route_config, route_to, static_cluster, virtual_host, wasm_filter,
)

# The origin every "allowed" workload sends. In the larger policies it sits in the middle of the
# exact list, so Envoy's native filter (which tries its matchers in order) scans half the list,
# as it would on average.
HIT_ORIGIN = "https://app.example.com"
WILDCARD_HIT_ORIGIN = "https://shop.tenant500.example.org"
REJECTED_ORIGIN = "https://evil.example"

ALLOW_METHODS = ["GET", "POST", "PUT", "DELETE"]
ALLOW_HEADERS = ["authorization", "content-type"]
EXPOSE_HEADERS = ["etag", "x-request-id"]
MAX_AGE = 600


def policy_origins(size: str) -> tuple[list[str], list[str], list[str]]:
    """(exact origins, wildcard patterns, regexes) of a policy size: `1`, `100`, `large`
    (10,000 exact + 1,000 wildcards + 10 regexes) or `100k` (100,000 exact, compile time only)."""
    exact_counts = {"1": 1, "100": 100, "large": 10_000, "100k": 100_000}
    n = exact_counts[size]
    others = [f"https://site{i}.example.net" for i in range(n - 1)]
    half = len(others) // 2
    exact = others[:half] + [HIT_ORIGIN] + others[half:]
    wildcards, regexes = [], []
    if size == "large":
        wildcards = [f"https://*.tenant{i}.example.org" for i in range(1000)]
        regexes = [f"^https://pr-[0-9]+\\.preview{i}\\.example\\.com$" for i in range(10)]
    return exact, wildcards, regexes


def edge_cors_policy(size: str) -> dict:
    """The edge-cors policy: credentials and expose headers, the costliest actual-request answer."""
    exact, wildcards, regexes = policy_origins(size)
    policy = {
        "name": "bench",
        "allow_origins": exact + wildcards,
        "allow_methods": ALLOW_METHODS,
        "allow_headers": ALLOW_HEADERS,
        "expose_headers": EXPOSE_HEADERS,
        "allow_credentials": True,
        "max_age": MAX_AGE,
    }
    if regexes:
        policy["allow_origin_regexes"] = regexes
    return {"policies": [policy]}


def bench_native_policy(size: str) -> dict:
    """The same policy for envoy.filters.http.cors: one StringMatcher per entry, in order."""
    exact, wildcards, regexes = policy_origins(size)
    matchers = [{"exact": o} for o in exact]
    for w in wildcards:
        # https://*.tenantN.example.org = one or more labels under tenantN.example.org.
        suffix = w.removeprefix("https://*").replace(".", "\\.")
        matchers.append({"safe_regex": {"regex": f"https://[a-z0-9-]+(\\.[a-z0-9-]+)*{suffix}"}})
    for r in regexes:
        matchers.append({"safe_regex": {"regex": r.removeprefix("^").removesuffix("$")}})
    return native_cors_policy(
        allow_origin_string_match=matchers,
        allow_methods=",".join(ALLOW_METHODS),
        allow_headers=",".join(ALLOW_HEADERS),
        expose_headers=",".join(EXPOSE_HEADERS),
        max_age=str(MAX_AGE),
        allow_credentials=True,
    )


def _listener(port: int, filters: list, vhost: dict) -> dict:
    # The path and host normalization of every shipped config (http_listener's default): a
    # gateway's figures include what it costs.
    return http_listener("main", port, "bench", route_config([vhost]), filters,
                         codec_type="HTTP1", generate_request_id=False)


def _bootstrap(admin_port: int, listener: dict, clusters: list) -> dict:
    # The stats flush (every 5 s by default) walks every stat: under callgrind a measurement
    # window spans several seconds, and a flush landing in it would add thousands of
    # instructions to the per-request figure of whichever variant it hit.
    return bootstrap(admin_port, [listener], clusters, node="edge-cors-bench", stats_flush_interval="299s")


def fixed_response_route() -> dict:
    """A small fixed 200, as an API would answer."""
    return direct_response_route("/", '{"ok":true}', headers=[
        ("content-type", "application/json"), ("etag", '"v1"'), ("vary", "accept-encoding")])


def upstream_config(port: int, admin_port: int) -> dict:
    """The upstream: an Envoy answering every request with a fixed 200 (fast and steady,
    unlike a Python server, so the load generator measures the Envoy under test)."""
    return _bootstrap(admin_port, _listener(port, [ROUTER], virtual_host([fixed_response_route()])), [])


def variant_config(variant: str, size: str | None, port: int, admin_port: int, upstream_port: int,
                   edge_wasm: str, floor_wasm: str, direct: bool = False, edge_module: str | None = None,
                   floor_module: str | None = None) -> dict:
    """The Envoy under test for one variant (and policy size for `native`, `edge` and `module`).
    `direct`: answer from the route itself (direct_response) instead of proxying to the upstream;
    a cheaper request, so every filter's share of it is larger (native CORS skips such routes)."""
    route = fixed_response_route() if direct else route_to()
    vhost = virtual_host([route])
    if variant == "none":
        filters = [ROUTER]
    elif variant == "native":
        filters = [native_cors_filter(), ROUTER]
        vhost["typed_per_filter_config"] = {NATIVE_CORS: bench_native_policy(size)}
    elif variant == "floor":
        filters = [wasm_filter("{}", name="bench-floor", wasm=floor_wasm), ROUTER]
    elif variant == "edge":
        filters = [wasm_filter(edge_cors_policy(size), wasm=edge_wasm), ROUTER]
    elif variant == "module":
        filters = [dynamic_module_filter(edge_cors_policy(size), module=edge_module), ROUTER]
    elif variant == "module-floor":
        floor = dynamic_module_filter("{}", name="bench-floor-native", module=floor_module)
        filters = [floor, ROUTER]
    else:
        raise ValueError(variant)
    return _bootstrap(admin_port, _listener(port, filters, vhost), [static_cluster("upstream", upstream_port)])


# Workloads: (name, method, headers). `wildcard` runs only with the large policy.
WORKLOADS = {
    "get_allowed": ("GET", [("origin", HIT_ORIGIN)]),
    "get_wildcard": ("GET", [("origin", WILDCARD_HIT_ORIGIN)]),
    "get_rejected": ("GET", [("origin", REJECTED_ORIGIN)]),
    "get_no_origin": ("GET", []),
    "preflight_allowed": ("OPTIONS", [("origin", HIT_ORIGIN), ("access-control-request-method", "PUT"),
                                      ("access-control-request-headers", "authorization,content-type")]),
    "preflight_rejected": ("OPTIONS", [("origin", REJECTED_ORIGIN), ("access-control-request-method", "PUT")]),
}


def workloads_for(size: str | None) -> list[str]:
    """The large policy adds the wildcard hit; variants without a policy (size None) run every
    workload, so each ratio has its baseline."""
    return [w for w in WORKLOADS if w != "get_wildcard" or size in ("large", None)]
