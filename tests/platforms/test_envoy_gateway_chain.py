"""Envoy Gateway 1.9's filter chain and routes (tests/platforms/eg_chain.py) with a real ext_authz
service, JWT, the native CORS filter and edge-cors where an EnvoyExtensionPolicy puts it, built
from the shipped manifests in envoy/envoy-gateway/: what the default filter order and per-route
enabling do to preflights, and the EnvoyProxy filterOrder patch plus OPTIONS-matching routes that
fix it."""
from __future__ import annotations

import copy

import pytest

import crd
import eg_chain as eg
from harness import ROOT
from harness.client import request
from harness.processes import edge_cors_stats, free_port, nonzero
from services import DENY_BODY

EG_DIR = ROOT / "envoy" / "envoy-gateway"
APP = "https://app.example.com"
LEGACY = "https://legacy.example.com"
AUTH_FILTERS = ["envoy.filters.http.ext_authz", "envoy.filters.http.api_key_auth", "envoy.filters.http.basic_auth",
                "envoy.filters.http.oauth2", "envoy.filters.http.jwt_authn"]
NATIVE_CORS = {"allowOrigins": [LEGACY], "allowMethods": ["GET", "POST"], "allowHeaders": ["x-legacy"],
               "exposeHeaders": ["x-native"], "maxAge": "86400s"}


def manifest(name: str) -> dict:
    (doc,) = crd.documents(EG_DIR / name)
    return doc


def filter_order() -> list:
    return manifest("envoyproxy-filter-order.yaml")["spec"]["filterOrder"]


def preflight(origin: str = APP, method: str = "PUT") -> list:
    return [("origin", origin), ("access-control-request-method", method)]


@pytest.mark.parametrize("path", sorted(EG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_manifest_is_accepted_by_the_envoy_gateway_and_gateway_api_crds(path):
    for doc in crd.documents(path):
        assert crd.validate(doc) == []


@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["spec"]["filterOrder"][0].update(after="envoy.filters.http.cors"), "only one of before or after"),
    (lambda d: d["spec"]["filterOrder"][0].update(before="envoy.filters.http.wasm_typo"), "is not one of"),
    (lambda d: d["spec"].update(filterorder=[]), "Additional properties are not allowed"),
], ids=["before-and-after", "unknown-filter", "misspelt-field"])
def test_the_validator_refuses_a_broken_filter_order(mutate, expected):
    doc = copy.deepcopy(manifest("envoyproxy-filter-order.yaml"))
    mutate(doc)
    assert any(expected in e for e in crd.validate(doc)), crd.validate(doc)


def names(filters: list) -> list:
    return [eg.filter_type(f["name"]) for f in filters]


@pytest.mark.parametrize("present", [AUTH_FILTERS, ["envoy.filters.http.jwt_authn"],
                                     ["envoy.filters.http.basic_auth", "envoy.filters.http.oauth2"], []],
                         ids=["all-auth", "jwt-only", "basic-and-oauth2", "none"])
def test_wasm_sorts_after_every_auth_filter_by_default_and_the_patch_moves_it_before_the_first_present(present):
    filters = [{"name": n} for n in [*present, eg.CORS, eg.wasm_filter_name("edge", "edge-cors"), eg.ROUTER]]
    default = names(eg.sort_filters(filters))
    assert default.index(eg.WASM) > max([default.index(a) for a in present], default=-1)
    patched = names(eg.sort_filters(filters, filter_order()))
    assert patched.index(eg.WASM) < min([patched.index(a) for a in present], default=len(patched))
    assert patched[0] == eg.CORS and patched[-1] == eg.ROUTER


@pytest.fixture
def eg_gateway(start_envoy, backend, authz, issuer, module_server):
    """eg_gateway(filter_order=None, options_route=True, vhost_enable=False, native_cors=False):
    an Envoy Gateway listener with the shipped HTTP-source EnvoyExtensionPolicy on the Gateway, the
    shipped HTTPRoute `items` (/items GET + OPTIONS, /orders) with a SecurityPolicy extAuth on
    /orders, a route /profile with a SecurityPolicy jwt, and /legacy (with the native CORS filter
    when `native_cors`)."""
    def start(filter_order=None, options_route=True, vhost_enable=False, native_cors=False):
        policy = manifest("edge-cors-http.yaml")
        wasm = eg.extension_policy_wasm(policy, 0, module_server.url, module_server.sha256)
        ext_authz = eg.ext_authz_filter_name("edge", "orders-auth")
        filters = [wasm, eg.ext_authz_filter(ext_authz, "authz", "authz.edge:80"),
                   eg.jwt_filter("profile/jwt", issuer.issuer, issuer.jwks(), "profile")]
        if native_cors:
            filters.append(eg.cors_filter())
        httproute = manifest("httproute-preflights.yaml")
        if not options_route:
            httproute["spec"]["rules"][0]["matches"].pop()
        routes = eg.httproute_routes(httproute, [wasm["name"]])
        for r in routes:
            if r["match"]["path_separated_prefix"] == "/orders":
                r["typed_per_filter_config"][ext_authz] = eg.ENABLE
        routes.append(eg.route("httproute/edge/profile/rule/0/match/0/api_example_com", "/profile",
                               enable=[wasm["name"]], jwt_requirement="profile"))
        routes.append(eg.route("httproute/edge/legacy/rule/0/match/0/api_example_com", "/legacy",
                               enable=[wasm["name"]], cors=NATIVE_CORS if native_cors else None))
        vhost = {"typed_per_filter_config": {wasm["name"]: eg.ENABLE}} if vhost_enable else None
        config = eg.gateway_bootstrap(free_port(), free_port(), backend.port,
                                      {"authz": authz.port, "wasm_cluster": module_server.port}, filters, routes,
                                      filter_order, vhost)
        return start_envoy(config)
    return start


def exchange(envoy, authz, backend, method, path, headers):
    checks, received = len(authz.checks), len(backend.requests)
    r = request(envoy.port, method, path, headers)
    return r, len(authz.checks) - checks, len(backend.requests) - received


@pytest.mark.parametrize("vhost_enable", [False, True], ids=["route-enabled", "also-virtual-host-enabled"])
def test_by_default_preflights_get_undecorated_401s_from_the_auth_filters_and_404_where_no_route_matches(
        eg_gateway, authz, backend, vhost_enable):
    envoy = eg_gateway(options_route=False, vhost_enable=vhost_enable)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/orders", preflight())
    assert (r.status, r.body, r.cors(), checks, received) == (401, DENY_BODY, {}, 1, 0)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/profile", preflight())
    assert (r.status, r.body, r.cors(), checks, received) == (401, b"Jwt is missing", {}, 0, 0)
    # /items matches GET only: the preflight matches no route, so the Wasm filter, enabled per
    # route (or on the virtual host), never runs.
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/items", preflight())
    assert (r.status, r.cors(), r.get("vary"), checks, received) == (404, {}, None, 0, 0)
    assert not any("preflight" in k for k in nonzero(edge_cors_stats(envoy)))
    # Actual requests refused by the auth filters carry no CORS header either.
    r, _, _ = exchange(envoy, authz, backend, "GET", "/orders", [("origin", APP)])
    assert (r.status, r.cors()) == (401, {})


def test_with_the_filter_order_patch_and_options_matching_routes_edge_cors_answers_every_preflight(
        eg_gateway, authz, backend, issuer):
    envoy = eg_gateway(filter_order=filter_order())
    allowed = {"access-control-allow-origin": APP, "access-control-allow-credentials": "true",
               "access-control-allow-methods": "GET, POST, PUT, DELETE", "access-control-max-age": "600"}
    for path in ("/orders", "/profile", "/items", "/legacy"):
        r, checks, received = exchange(envoy, authz, backend, "OPTIONS", path, preflight())
        assert (r.status, r.cors(), checks, received) == (204, allowed, 0, 0), path
        r, checks, received = exchange(envoy, authz, backend, "OPTIONS", path, preflight("https://evil.example"))
        assert (r.status, r.cors(), checks, received) == (403, {}, 0, 0), path
    assert nonzero(edge_cors_stats(envoy)) == {"requests/api/enforce/preflight/allowed/none": 4,
                                               "requests/api/enforce/preflight/rejected/origin": 4}
    # Actual requests are still authenticated, and the refusals are now decorated.
    cors = {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}
    r, checks, received = exchange(envoy, authz, backend, "GET", "/orders", [("origin", APP)])
    assert (r.status, r.body, r.cors(), checks, received) == (401, DENY_BODY, cors, 1, 0)
    r, checks, received = exchange(envoy, authz, backend, "GET", "/profile", [("origin", APP)])
    assert (r.status, r.body, r.cors(), received) == (401, b"Jwt is missing", cors, 0)
    r, _, received = exchange(envoy, authz, backend, "GET", "/profile",
                              [("origin", APP), ("authorization", f"Bearer {issuer.token()}")])
    assert (r.status, r.cors(), received) == (200, cors, 1)
    # Other OPTIONS requests: authenticated where the route requires it, else forwarded.
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/orders", [])
    assert (r.status, checks, received) == (401, 1, 0)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/items", [("origin", APP)])
    assert (r.status, checks, received) == (200, 0, 1)
    # A path no route matches still never reaches edge-cors (no backend there either).
    r, _, received = exchange(envoy, authz, backend, "OPTIONS", "/nowhere", preflight())
    assert (r.status, r.cors(), received) == (404, {}, 0)


def test_the_filter_order_patch_alone_leaves_the_preflight_of_a_get_only_route_unanswered(eg_gateway, authz, backend):
    envoy = eg_gateway(filter_order=filter_order(), options_route=False)
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/orders", preflight())
    assert r.status == 204
    r, _, received = exchange(envoy, authz, backend, "OPTIONS", "/items", preflight())
    assert (r.status, r.cors(), received) == (404, {}, 0)


# ---- one owner per route: the native CORS filter (SecurityPolicy.cors / HTTPRoute CORS filter) --

def test_with_a_native_cors_policy_on_the_route_the_native_filter_answers_preflights_and_rewrites_responses(
        eg_gateway, authz, backend):
    envoy = eg_gateway(filter_order=filter_order(), native_cors=True)
    # Preflights: the native filter (order 3, before the Wasm filter even after the patch) answers
    # every one, with forward_not_matching_preflights: false; edge-cors never sees them.
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/legacy", preflight(APP, "PUT"))
    assert (r.status, r.cors()) == (200, {"access-control-allow-methods": "GET, POST",
                                          "access-control-allow-headers": "x-legacy",
                                          "access-control-max-age": "86400"})  # edge-cors would allow APP
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/legacy", preflight(LEGACY, "POST"))
    assert r.status == 200 and r.get("access-control-allow-origin") == LEGACY  # edge-cors would refuse
    assert not any("preflight" in k for k in nonzero(edge_cors_stats(envoy)))
    # Actual requests: edge-cors writes its headers first, then the native filter (earlier in the
    # chain, so later on the response) adds its own: each origin gets whichever allows it.
    r, _, _ = exchange(envoy, authz, backend, "GET", "/legacy", [("origin", APP)])
    assert r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}
    r, _, _ = exchange(envoy, authz, backend, "GET", "/legacy", [("origin", LEGACY)])
    assert r.cors() == {"access-control-allow-origin": LEGACY, "access-control-expose-headers": "x-native"}
    # Where no native policy is configured, edge-cors answers (same listener, /orders).
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/orders", preflight(APP, "PUT"))
    assert r.status == 204
