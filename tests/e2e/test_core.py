"""The core request-handling contract, end to end through Envoy + edge-cors (either host, EDGE_CORS_HOST)."""
import pytest

from harness.client import raw_request, request
from harness.envoy_config import ROUTER, edge_cors_filter, proxy_bootstrap
from harness.processes import Envoy, VmHealth, free_port

APP = {
    "name": "app",
    "allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:*"],
    "allow_origin_regexes": ["^https://pr-[0-9]+\\.preview\\.example\\.com$"],
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["authorization", "content-type"],
    "expose_headers": ["etag", "x-request-id"],
    "allow_credentials": True,
    "max_age": 600,
}
POLICY = {"policies": [dict(APP, match={"path_prefixes": ["/api/"]}),
                       {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"],
                        "allow_headers": ["*"], "expose_headers": ["*"], "allow_private_network_access": True}]}

PREFLIGHT_VARY = "origin, access-control-request-method, access-control-request-headers"


@pytest.fixture
def envoy(start_envoy):
    return start_envoy(POLICY)


def preflight(envoy, origin, method="PUT", req_headers=None, path="/api/items", extra=()):
    h = [("origin", origin), ("access-control-request-method", method)]
    if req_headers is not None:
        h.append(("access-control-request-headers", req_headers))
    return request(envoy.port, "OPTIONS", path, h + list(extra))


def test_an_allowed_preflight_is_answered_by_edge_cors_and_never_reaches_the_upstream(envoy, upstream):
    before = upstream.total()
    r = preflight(envoy, "https://app.example.com", "PUT", "Content-Type, Authorization")
    assert r.status == 204
    assert r.cors() == {
        "access-control-allow-origin": "https://app.example.com",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, POST, PUT, DELETE",
        "access-control-allow-headers": "content-type,authorization",
        "access-control-max-age": "600",
    }
    assert r.get("vary") == PREFLIGHT_VARY
    # The route excludes OPTIONS: had the preflight gone on, Envoy would have answered 404.
    assert upstream.total() == before


@pytest.mark.parametrize("origin,method,req_headers,reason", [
    ("https://evil.com", "PUT", None, "origin"),
    ("https://app.example.com.evil.net", "PUT", None, "origin"),
    ("null", "PUT", None, "origin"),
    ("https://app.example.com", "PATCH", None, "method"),
    ("https://app.example.com", "PUT", "x-secret", "headers"),
    ("https://app.example.com", "PUT", "content-type, bad header", "malformed"),
    ("HTTPS://APP.EXAMPLE.COM", "PUT", None, "malformed"),
])
def test_a_rejected_preflight_gets_403_with_no_cors_header_and_never_reaches_the_upstream(envoy, upstream, origin, method, req_headers, reason):
    before = upstream.total()
    r = preflight(envoy, origin, method, req_headers)
    assert r.status == 403, reason
    assert r.cors() == {}
    assert upstream.total() == before


def test_an_allowed_actual_request_replaces_the_upstreams_cors_headers(envoy, upstream):
    r = request(envoy.port, "GET", "/api/items", [("origin", "https://a.b.example.com")])
    assert r.status == 200
    # The upstream sent `*` for both; edge-cors owns them now, with no duplicate line.
    assert r.cors() == {
        "access-control-allow-origin": "https://a.b.example.com",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "etag, x-request-id",
    }
    assert r.values("access-control-allow-origin") == ["https://a.b.example.com"]
    # Vary is appended to the upstream's, never replacing it.
    assert [v.strip() for v in ",".join(r.values("vary")).split(",")] == ["accept-encoding", "origin"]


def test_an_actual_request_from_a_rejected_origin_gets_no_cors_header_at_all(envoy):
    r = request(envoy.port, "GET", "/api/items", [("origin", "https://evilexample.com")])
    assert r.status == 200
    assert r.cors() == {}
    assert "origin" in r.get("vary")


def test_a_request_without_origin_is_forwarded_untouched_but_varies_by_origin(envoy, upstream):
    before = upstream.total()
    r = request(envoy.port, "GET", "/api/items")
    assert r.status == 200
    assert upstream.total() == before + 1
    # Not CORS: the upstream's own headers are left alone.
    assert r.get("access-control-allow-origin") == "*"
    assert [v.strip() for v in ",".join(r.values("vary")).split(",")] == ["accept-encoding", "origin"]


def test_an_options_request_without_request_method_is_an_actual_request(envoy, start_envoy, upstream):
    r = request(envoy.port, "OPTIONS", "/api/items", [("origin", "https://app.example.com")])
    # Not a preflight, so it is routed on: the OPTIONS-less route answers 404 locally, and
    # that local reply is decorated like any response.
    assert r.status == 404
    assert r.get("access-control-allow-origin") == "https://app.example.com"


def test_local_replies_of_filters_after_edge_cors_carry_cors_headers(envoy):
    unauthorized = request(envoy.port, "GET", "/api/secure/me", [("origin", "https://app.example.com")])
    assert unauthorized.status == 401
    assert unauthorized.get("access-control-allow-origin") == "https://app.example.com"
    assert unauthorized.get("access-control-allow-credentials") == "true"
    denied = request(envoy.port, "GET", "/api/admin/x", [("origin", "https://app.example.com")])
    assert denied.status == 403  # RBAC's local reply
    assert denied.get("access-control-allow-origin") == "https://app.example.com"
    rejected = request(envoy.port, "GET", "/api/admin/x", [("origin", "https://evil.com")])
    assert rejected.status == 403 and rejected.cors() == {}


def test_a_preflight_for_a_secured_path_is_answered_before_the_auth_filter(envoy, upstream):
    r = preflight(envoy, "https://app.example.com", "DELETE", "authorization", path="/api/secure/me")
    assert r.status == 204
    assert r.get("access-control-allow-headers") == "authorization"


def test_requests_no_policy_matches_are_left_entirely_alone(envoy):
    r = request(envoy.port, "GET", "/other", [("origin", "https://evil.com")])
    assert r.status == 200
    assert r.cors() == {"access-control-allow-origin": "*", "access-control-allow-methods": "*"}
    assert r.values("vary") == ["accept-encoding"]
    p = preflight(envoy, "https://app.example.com", path="/other")
    assert p.status == 404  # not answered by edge-cors; the route excludes OPTIONS


def test_an_any_origin_policy_sends_a_literal_star_and_no_vary(envoy):
    r = request(envoy.port, "GET", "/public/x", [("origin", "https://anyone.net")])
    assert r.cors() == {"access-control-allow-origin": "*", "access-control-expose-headers": "*"}
    assert r.values("vary") == ["accept-encoding"]
    p = preflight(envoy, "https://anyone.net", "GET", "x-anything", path="/public/x",
                  extra=[("access-control-request-private-network", "true")])
    assert p.status == 204
    assert p.cors() == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD, POST",
        "access-control-allow-headers": "x-anything",
        "access-control-allow-private-network": "true",
    }


def test_two_origin_headers_are_refused(envoy):
    r = request(envoy.port, "GET", "/api/items", [("origin", "https://app.example.com"), ("origin", "https://evil.com")])
    assert r.cors() == {}


def test_several_request_headers_lines_are_read_as_one_list(envoy):
    r = preflight(envoy, "https://app.example.com", "PUT", "content-type",
                  extra=[("access-control-request-headers", "authorization")])
    assert r.status == 204
    assert r.get("access-control-allow-headers") == "content-type,authorization"


def test_hostile_bytes_in_origin_do_not_crash_the_filter(envoy):
    health = VmHealth(envoy)
    head = raw_request(envoy.port, b"GET /api/items HTTP/1.1\r\nhost: a\r\norigin: https://app.example.com\xff\xfe\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"access-control-allow-origin" not in head.lower()
    huge = request(envoy.port, "OPTIONS", "/api/items", [("origin", "https://" + "a" * 8000 + ".example.com"),
                                                          ("access-control-request-method", "PUT")])
    assert huge.status == 403 and huge.cors() == {}
    # The VM is alive and still right.
    ok = request(envoy.port, "GET", "/api/items", [("origin", "https://app.example.com")])
    assert ok.get("access-control-allow-origin") == "https://app.example.com"
    stats = envoy.stats()
    assert not any(v for k, v in stats.items() if k.startswith("wasm.") and ("fail" in k or "crash" in k)), stats
    health.assert_unchanged("hostile bytes in Origin")


def test_preflight_success_status_200_is_honoured(start_envoy):
    envoy = start_envoy({"policies": [APP], "preflight_success_status": 200})
    r = preflight(envoy, "https://app.example.com", "PUT")
    assert r.status == 200
    assert r.get("access-control-allow-origin") == "https://app.example.com"


def test_a_bad_config_makes_envoy_refuse_to_start_and_names_every_error(start_envoy):
    bad = {"policies": [{"name": "app", "allow_origins": ["*"], "allow_credentials": True, "max_age": -1,
                         "allow_methods": ["TRACE"], "colour": "red"}]}
    envoy = start_envoy(bad, expect_exit=True)
    assert envoy.proc.returncode != 0
    log = envoy.log()
    assert "policies[0].allow_origins[0]" in log and "allow_credentials" in log
    assert "policies[0].max_age" in log and "negative" in log
    assert "policies[0].allow_methods[0]" in log and "TRACE" in log
    assert "policies[0].colour" in log and "unknown field" in log


def test_envoy_validate_mode_fails_on_a_bad_policy(tmp_path):
    config = proxy_bootstrap(free_port(), free_port(), free_port(),
                             [edge_cors_filter({"policies": [{"name": "x", "allow_origins": ["https://*.com"]}]}), ROUTER])
    envoy = Envoy(config, tmp_path, extra_args=["--mode", "validate"])
    assert envoy.run_to_exit() != 0
    assert "public suffix" in envoy.log()
    assert "policies[0].allow_origins[0]" in envoy.log()


def test_invalid_json_is_refused(start_envoy):
    envoy = start_envoy("{not json", expect_exit=True)
    assert envoy.proc.returncode != 0
    assert "invalid JSON" in envoy.log()
