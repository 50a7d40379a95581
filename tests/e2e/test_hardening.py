"""Hardening (issue 11), end to end through Envoy + edge-cors (the wasm or the native host:
EDGE_CORS_HOST) with the connection manager's DEFAULT path and host options (no normalize_path,
merge_slashes, host port or dot stripping), so the filter's own rules are what is tested:
any-origin answers on every response, `*` in Access-Control-Request-Headers, contradictory
settings refused by `envoy --mode validate`, PATCH case, whole-segment path prefixes, unnormalized
paths, hosts with port and trailing dot, the sticky rollout, the uncacheable decision header and
shadowed-policy warnings."""
import json

import pytest

from harness.client import request
from harness.envoy_config import ROUTER, edge_cors_filter, http_connection_managers, proxy_bootstrap, route_to
from harness.processes import Envoy, RecordingUpstream, edge_cors_log_lines, edge_cors_stats, free_port, nonzero

ALL_METHODS_ROUTE = [route_to()]
PARTNER = "https://partner.example.com"
TOKEN = "k3Y-0f-the-d3bug-a1d"


def cacheable_reflecting(request_headers):
    """What a careless upstream answers: cacheable, and its own CORS headers reflecting any
    Origin with credentials."""
    out = [("cache-control", "public, max-age=600"), ("vary", "accept-encoding")]
    origin = dict(request_headers).get("origin")
    if origin:
        out += [("access-control-allow-origin", origin), ("access-control-allow-credentials", "true")]
    return out


@pytest.fixture
def careless_upstream():
    u = RecordingUpstream(cacheable_reflecting)
    yield u
    u.stop()


def envoy_with(start_envoy, upstream_port, config, hcm_options=None):
    """edge-cors then the router, every method routed to `upstream_port`, under Envoy's default
    connection-manager options (no normalization) plus `hcm_options`."""
    bootstrap_config = proxy_bootstrap(free_port(), free_port(), upstream_port, [edge_cors_filter(config), ROUTER],
                                       ALL_METHODS_ROUTE, normalize=False)
    for hcm in http_connection_managers(bootstrap_config):
        hcm.update(hcm_options or {})
    return start_envoy(config=bootstrap_config)


def get(envoy, path="/", origin=None, method="GET", host="api.example.com", extra=()):
    headers = ([("origin", origin)] if origin is not None else []) + list(extra)
    return request(envoy.port, method, path, headers, host=host)


def preflight(envoy, origin, method="GET", req_headers=None, path="/", host="api.example.com", extra=()):
    h = [("origin", origin), ("access-control-request-method", method)]
    if req_headers is not None:
        h.append(("access-control-request-headers", req_headers))
    return request(envoy.port, "OPTIONS", path, h + list(extra), host=host)


# ---- 2: an any-origin policy answers `*` on every response it covers ----

def test_an_any_origin_policy_answers_star_without_an_origin_and_to_an_oversized_one(start_envoy, careless_upstream):
    envoy = envoy_with(start_envoy, careless_upstream.port, {"policies": [
        {"name": "public", "allow_origins": ["*"], "expose_headers": ["etag"]}]})
    oversized = "https://" + "a" * (1031 - len("https://.example")) + ".example"
    assert len(oversized) == 1031
    for origin in (None, oversized, "null", "https://a.example/", "HTTPS://A.EXAMPLE"):
        r = get(envoy, "/img.png", origin)
        assert r.status == 200
        # Exactly one `*`, the upstream's reflected origin and credentials gone, no Vary:
        # a cache may serve this response to any later fetch() from any page.
        assert r.cors() == {"access-control-allow-origin": "*", "access-control-expose-headers": "etag"}, origin
        assert r.values("access-control-allow-origin") == ["*"]
        assert r.values("vary") == ["accept-encoding"], origin
        assert r.get("cache-control") == "public, max-age=600"
    # Preflights are unchanged: an oversized Origin is still refused, nothing is forwarded.
    before = len(careless_upstream.received)
    r = preflight(envoy, oversized)
    assert r.status == 403 and r.cors() == {}
    assert len(careless_upstream.received) == before
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/public/enforce/not_cors/none/none": 1,
        "requests/public/enforce/actual/allowed/none": 4,
        "requests/public/enforce/preflight/rejected/malformed": 1,
        # The upstream reflected the four Origins it saw; edge-cors replaced each with `*`.
        "upstream_cors_replaced/public/enforce": 4,
    }


# ---- 3: `*` requested in Access-Control-Request-Headers ----

def test_a_requested_star_header_is_refused_and_never_echoed(start_envoy, upstream):
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [
        {"name": "public", "allow_origins": ["*"], "allow_headers": ["*"]}]})
    for acrh in ("*", "x-a,*", "*, x-a"):
        r = preflight(envoy, "https://whoever.example", "POST", acrh)
        assert r.status == 403, acrh
        assert r.cors() == {}, acrh
    r = preflight(envoy, "https://whoever.example", "POST", "x-a, X-B")
    assert r.status == 204
    assert r.get("access-control-allow-headers") == "x-a,x-b"
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/public/enforce/preflight/rejected/malformed": 3,
        "requests/public/enforce/preflight/allowed/none": 1,
    }


# ---- 4 and 5: settings refused at load, warnings logged ----

def test_contradictory_settings_make_envoy_validate_exit_1_with_every_error_line(tmp_path):
    config = {"mode": "report_only", "policies": [
        {"name": "public", "allow_origins": ["*"], "mode": "enforce",
         "reject_disallowed": {"unsafe_methods": True, "websocket": True}},
        {"name": "zero", "match": {"path_prefixes": ["/zero"]}, "allow_origins": ["https://a.example.com"],
         "mode": "enforce", "enforce_percent": 0},
        {"name": "inherited", "allow_origins": ["https://a.example.com"], "enforce_percent": 30},
        {"name": "patch", "allow_origins": ["https://a.example.com"], "allow_methods": ["patch"],
         "match": {"hosts": []}},
    ]}
    envoy = Envoy(proxy_bootstrap(free_port(), free_port(), free_port(), [edge_cors_filter(config), ROUTER]), tmp_path,
                  extra_args=["--mode", "validate"])
    assert envoy.run_to_exit() == 1
    log = envoy.log()
    for line in (
        'policies[0].reject_disallowed.unsafe_methods: true: never blocks anything: no origin is rejected under '
        'allow_origins ["*"]',
        "policies[0].reject_disallowed.websocket: true: never blocks anything",
        'policies[1].enforce_percent: 0: enforces nothing; write "mode": "report_only" instead',
        'policies[2].enforce_percent: 30: has no effect: the top-level mode is "report_only"',
        "policies[3].allow_methods[0]: \"patch\": write \"PATCH\": browsers send it exactly as the page writes it",
        "policies[3].match.hosts: []: empty: it would match every request",
    ):
        assert line in log, line
    assert "invalid configuration (6 errors)" in log


def test_a_custom_method_in_lower_case_loads_with_a_warning_and_matches_only_that_case(start_envoy, upstream):
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [
        {"name": "dav", "allow_origins": ["https://app.example.com"], "allow_methods": ["purge", "PATCH"]}]})
    warnings = edge_cors_log_lines(envoy, "warning: ")
    assert warnings and set(warnings) == {
        'warning: policies[0].allow_methods[0]: "purge": not upper-case: browsers send custom methods exactly as '
        'the page writes them (Fetch §2.2.1), so this allows only a page that writes it in exactly this case'}
    assert preflight(envoy, "https://app.example.com", "purge").status == 204
    assert preflight(envoy, "https://app.example.com", "PURGE").status == 403
    assert preflight(envoy, "https://app.example.com", "PATCH").status == 204


# ---- 6: path prefixes match whole segments ----

def test_a_path_prefix_never_covers_a_longer_word(start_envoy, upstream):
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [
        {"name": "status", "match": {"path_prefixes": ["/status"]}, "allow_origins": ["*"]},
        {"name": "strict", "allow_origins": ["https://www.example.com"]}]})
    r = get(envoy, "/status-internal/secrets", "https://evil.example")
    assert r.status == 200
    assert r.cors() == {}, "neither the public `*` nor the upstream's own `*`"
    for path in ("/status", "/status/", "/status/health", "/status?verbose=1"):
        assert get(envoy, path, "https://evil.example").cors() == {"access-control-allow-origin": "*"}, path
    assert get(envoy, "/Status", "https://evil.example").cors() == {}
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/status/enforce/actual/allowed/none": 4,
        "requests/strict/enforce/actual/rejected/origin": 2,
        "upstream_cors_replaced/status/enforce": 4,
        "upstream_cors_replaced/strict/enforce": 2,
    }


# ---- 7(b): a path the router or upstream may read differently ----

def test_an_unnormalized_path_gets_no_path_scoped_policys_headers_and_no_broader_policys(start_envoy, upstream):
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [
        {"name": "partner", "match": {"path_prefixes": ["/partner/"]}, "allow_origins": [PARTNER],
         "allow_credentials": True},
        {"name": "public", "allow_origins": ["*"]}]})
    # (path, what the upstream may have served): Envoy forwards each as sent under its default
    # options; Python's http.server itself reduces leading slashes, a normalizing upstream
    # serving /api/users, which is the case this rule exists for.
    for path, served in (("/partner/..%2fapi/users", {"/partner/..%2fapi/users"}),
                         ("/partner/../api/users", {"/partner/../api/users"}),
                         ("//api/users", {"//api/users", "/api/users"})):
        r = get(envoy, path, PARTNER)
        assert r.status == 200, path
        assert json.loads(r.body)["path"] in served, r.body
        # The answer carries no CORS header at all.
        assert r.cors() == {}, path
        assert r.get("vary").replace(" ", "") == "accept-encoding,origin", path
    r = preflight(envoy, PARTNER, path="/partner/..%2fapi/users")
    assert r.status == 403 and r.cors() == {}
    # Normalized paths are answered as configured.
    assert get(envoy, "/partner/users", PARTNER).cors() == {
        "access-control-allow-origin": PARTNER, "access-control-allow-credentials": "true"}
    assert get(envoy, "/api/users", PARTNER).cors() == {"access-control-allow-origin": "*"}
    stats = nonzero(edge_cors_stats(envoy))
    assert stats["requests/partner/enforce/actual/rejected/malformed"] == 3
    assert stats["requests/partner/enforce/preflight/rejected/malformed"] == 1
    assert stats["requests/partner/enforce/actual/allowed/none"] == 1
    assert stats["requests/public/enforce/actual/allowed/none"] == 1


# ---- 7(c): hosts as the router sees them ----

HOSTS_POLICY = {"policies": [
    {"name": "partner", "match": {"hosts": ["partner.example.com"]}, "allow_origins": [PARTNER],
     "allow_credentials": True},
    {"name": "ported", "match": {"hosts": ["api.example.com:8443", "[::1]:10000"]}, "allow_origins": [PARTNER]},
    {"name": "strict", "allow_origins": ["https://www.example.com"]}]}


def test_hosts_match_with_their_port_and_trailing_dot_under_the_default_options(start_envoy, careless_upstream):
    envoy = envoy_with(start_envoy, careless_upstream.port, HOSTS_POLICY)
    allowed = {"access-control-allow-origin": PARTNER, "access-control-allow-credentials": "true"}
    for host in ("partner.example.com", "PARTNER.Example.com"):
        assert get(envoy, "/x", PARTNER, host=host).cors() == allowed, host
    for host in ("api.example.com:8443", "[::1]:10000"):
        assert get(envoy, "/x", PARTNER, host=host).cors() == {"access-control-allow-origin": PARTNER}, host
    # The router would route these elsewhere: the strict catch-all answers, and the upstream's
    # reflected origin and credentials are removed.
    for host in ("partner.example.com.", "partner.example.com:8443", "api.example.com", "[::1]"):
        r = get(envoy, "/x", PARTNER, host=host)
        assert r.status == 200 and r.cors() == {}, host
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/partner/enforce/actual/allowed/none": 2,
        "requests/ported/enforce/actual/allowed/none": 2,
        "requests/strict/enforce/actual/rejected/origin": 4,
        "upstream_cors_replaced/partner/enforce": 2,
        "upstream_cors_replaced/ported/enforce": 2,
        "upstream_cors_replaced/strict/enforce": 4,
    }


def test_with_the_host_strip_options_the_filter_sees_the_bare_host_as_the_router_does(start_envoy, careless_upstream):
    envoy = envoy_with(start_envoy, careless_upstream.port, HOSTS_POLICY,
                       {"strip_any_host_port": True, "strip_trailing_host_dot": True})
    allowed = {"access-control-allow-origin": PARTNER, "access-control-allow-credentials": "true"}
    for host in ("partner.example.com.", "partner.example.com:8443", "partner.example.com.:443"):
        assert get(envoy, "/x", PARTNER, host=host).cors() == allowed, host
    # A policy that names a port never matches once the port is stripped.
    assert get(envoy, "/x", PARTNER, host="api.example.com:8443").cors() == {}


# ---- 8: the rollout is sticky per origin ----

M64 = (1 << 64) - 1


def rollout_bucket(policy: str, origin: str) -> int:
    """An independent implementation of the documented draw: FNV-1a 64 over the policy name, a
    NUL and the Origin's first 1024 bytes, the splitmix64 finalizer, modulo 100."""
    h = 0xcbf29ce484222325
    for b in policy.encode() + b"\0" + origin.encode()[:1024]:
        h = ((h ^ b) * 0x100000001b3) & M64
    h = ((h ^ (h >> 30)) * 0xbf58476d1ce4e5b9) & M64
    h = ((h ^ (h >> 27)) * 0x94d049bb133111eb) & M64
    return (h ^ (h >> 31)) % 100


def test_the_rollout_enforces_an_origin_on_every_request_or_on_none(start_envoy, upstream):
    app = {"name": "app", "allow_origins": ["https://app.example.com"], "enforce_percent": 50,
           "reject_disallowed": {"unsafe_methods": True}}
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [app]})
    statuses = {get(envoy, "/api/items", "https://evil.example", method="POST").status for _ in range(40)}
    assert len(statuses) == 1, f"40 retries from one origin got {statuses}"
    expected = {403: 0, 200: 0}
    origins = [f"https://site{i}.example.net" for i in range(200)]
    for origin in origins:
        enforced = rollout_bucket("app", origin) < 50
        expected[403 if enforced else 200] += 1
        for _ in range(2):
            assert get(envoy, "/api/items", origin, method="POST").status == (403 if enforced else 200), origin
    # Binomial(200, 0.5): outside [60, 140] has probability below 1e-8.
    assert 60 <= expected[403] <= 140, expected
    stats = nonzero(edge_cors_stats(envoy))
    blocked = stats.get("requests/app/enforce/actual/blocked/unsafe_method", 0)
    assert blocked == 2 * expected[403] + (40 if statuses == {403} else 0)
    assert (rollout_bucket("app", "https://evil.example") < 50) == (statuses == {403})


# ---- 9: the decision header is never cached ----

def test_a_response_carrying_the_decision_header_is_marked_no_store(start_envoy, careless_upstream):
    config = {"policies": [{"name": "app", "allow_origins": ["https://app.example.com"], "allow_methods": ["PUT"]}],
              "decision_header": {"token_header": "x-edge-cors-debug", "token": TOKEN}}
    envoy = envoy_with(start_envoy, careless_upstream.port, config)
    token = [("x-edge-cors-debug", TOKEN)]
    r = get(envoy, "/x", "https://app.example.com", extra=token)
    assert r.get("x-edge-cors-decision") == "policy=app; outcome=actual_allowed; mode=enforce"
    assert r.values("cache-control") == ["no-store"]
    r = preflight(envoy, "https://app.example.com", "PUT", extra=token)
    assert r.status == 204 and r.values("cache-control") == ["no-store"]
    r = preflight(envoy, "https://app.example.com", "DELETE", extra=token)
    assert r.status == 403 and r.values("cache-control") == ["no-store"]
    # Without the token the upstream's caching stands.
    r = get(envoy, "/x", "https://app.example.com")
    assert r.get("x-edge-cors-decision") is None
    assert r.values("cache-control") == ["public, max-age=600"]


# ---- 11: a policy that can never be selected ----

def test_a_shadowed_policy_is_a_warning_in_envoys_log(start_envoy, upstream):
    envoy = envoy_with(start_envoy, upstream.port, {"policies": [
        {"name": "all", "allow_origins": ["https://app.example.com"]},
        {"name": "api", "match": {"hosts": ["api.example.com"]}, "allow_origins": ["https://other.example.com"]}]})
    warnings = edge_cors_log_lines(envoy, "warning: ")
    assert warnings and set(warnings) == {
        'warning: policies[1]: never selected: policies[0] ("all") matches every request it matches'}
    # It loads, and the first policy answers.
    assert get(envoy, "/x", "https://app.example.com").cors() == {"access-control-allow-origin": "https://app.example.com"}
