"""Istio 1.30's gateway filter chain (tests/platforms/istio_chain.py) with a real ext_authz service,
JWT and RBAC, and edge-cors where an AUTHN-phase WasmPlugin goes: what a CUSTOM
AuthorizationPolicy does to preflights, the shipped exemption
(envoy/istio-chain/ext-authz-preflight-exemption.yaml) that fixes it, and who owns CORS when a
VirtualService corsPolicy is configured too."""
from __future__ import annotations

import copy

import pytest
import yaml

import crd
import istio_chain as ic
from harness import ROOT
from harness.client import request
from harness.envoy_config import route_to
from harness.processes import edge_cors_stats, free_port, nonzero
from services import DENY_BODY

EXEMPTION = ROOT / "envoy" / "istio-chain" / "ext-authz-preflight-exemption.yaml"
APP = "https://app.example.com"
LEGACY = "https://legacy.example.com"

POLICY = {"policies": [
    {"name": "api", "match": {"hosts": ["api.example.com"], "path_prefixes": ["/api/"]}, "allow_origins": [APP],
     "allow_methods": ["GET", "POST", "PUT", "DELETE"], "allow_headers": ["authorization", "content-type"],
     "allow_credentials": True, "max_age": 600},
    {"name": "deny-others", "allow_origins": ["https://www.example.com"]},
]}

# A CUSTOM policy as usually written: every request goes to the provider.
PLAIN_CUSTOM = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                "metadata": {"name": "ext-authz", "namespace": "istio-system"},
                "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}}, "action": "CUSTOM",
                         "provider": {"name": "ext-authz"}, "rules": [{}]}}
REQUIRE_JWT = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
               "metadata": {"name": "require-jwt", "namespace": "istio-system"},
               "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}}, "action": "ALLOW",
                        "rules": [{"from": [{"source": {"requestPrincipals": ["*"]}}]}]}}
VS_CORS = {"allowOrigins": [{"exact": LEGACY}, {"exact": APP}], "allowMethods": ["GET", "POST", "PATCH"],
           "allowHeaders": ["x-legacy"], "exposeHeaders": ["x-native"], "maxAge": "86400s"}


def exemption() -> dict:
    (doc,) = crd.documents(EXEMPTION)
    return doc


def edge_cors_plugin(policy: dict = POLICY) -> dict:
    plugin = crd.wasmplugin_schema.with_a_digest(yaml.safe_load((ROOT / "envoy" / "istio" / "ingress-gateway.yaml").read_text()))
    plugin["spec"]["pluginConfig"] = policy
    return plugin


def preflight(origin: str = APP, method: str = "PUT") -> list:
    return [("origin", origin), ("access-control-request-method", method)]


@pytest.fixture
def gateway(start_envoy, backend, authz, issuer):
    """gateway(custom, policy=POLICY, cors=None) -> the Envoy of an Istio gateway with that CUSTOM
    AuthorizationPolicy, edge-cors (AUTHN), a RequestAuthentication and an ALLOW policy requiring
    a JWT principal, and optionally a VirtualService corsPolicy on its one route."""
    def start(custom: dict | None, policy: dict = POLICY, cors: dict | None = None, allow: dict | None = REQUIRE_JWT):
        request_authn = {"spec": {"jwtRules": [{"issuer": issuer.issuer}]}}
        filters = ic.gateway_filters(edge_cors_plugin(policy), custom, request_authn, allow, jwks=issuer.jwks())
        route = route_to(name="api", **({"typed_per_filter_config": {"envoy.filters.http.cors": ic.route_cors_policy(cors)}}
                                        if cors else {}))
        return start_envoy(ic.gateway_bootstrap(free_port(), free_port(), backend.port, authz.port, filters, [route]))
    return start


def exchange(envoy, authz, backend, method, path, headers):
    """One request; (response, ext_authz checks it caused, requests the backend received)."""
    checks, received = len(authz.checks), len(backend.requests)
    r = request(envoy.port, method, path, headers)
    return r, len(authz.checks) - checks, len(backend.requests) - received


def test_the_manifests_and_policies_of_these_tests_are_accepted_by_the_istio_crds():
    for manifest in (exemption(), PLAIN_CUSTOM, REQUIRE_JWT, edge_cors_plugin()):
        assert crd.validate(manifest) == [], manifest["metadata"]
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "api", "namespace": "edge"},
          "spec": {"hosts": ["api.example.com"], "gateways": ["istio-system/public"],
                   "http": [{"name": "api", "corsPolicy": VS_CORS, "route": [{"destination": {"host": "api"}}]}]}}
    assert crd.validate(vs) == []


def test_the_chain_follows_istios_order_custom_authorization_then_authn_plugins_then_jwt_then_rbac_then_cors():
    filters = ic.gateway_filters(edge_cors_plugin(), PLAIN_CUSTOM, {"spec": {"jwtRules": [{"issuer": "i"}]}}, REQUIRE_JWT)
    assert [f["name"] for f in filters] == [
        "envoy.filters.http.rbac", "envoy.filters.http.ext_authz", "istio-system.edge-cors", "envoy.filters.http.jwt_authn",
        "envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.cors", "envoy.filters.http.router"]
    jwt = filters[3]["typed_config"]
    assert jwt["bypass_cors_preflight"] is True  # Istio's JWT filter lets preflights through itself


def test_a_plain_custom_policy_answers_preflights_with_the_authorization_services_undecorated_401(gateway, authz, backend):
    envoy = gateway(PLAIN_CUSTOM)
    for origin in (APP, LEGACY):
        r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/api/items", preflight(origin))
        assert (r.status, r.body, r.cors(), r.get("vary")) == (401, DENY_BODY, {}, None)
        assert (checks, received) == (1, 0)
    # edge-cors never saw them: no preflight was counted.
    assert not any("preflight" in k for k in nonzero(edge_cors_stats(envoy)))


def test_with_the_shipped_exemption_edge_cors_answers_preflights_and_the_authorization_service_never_sees_them(
        gateway, authz, backend):
    envoy = gateway(exemption())
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/api/items", preflight(APP))
    assert r.status == 204 and (checks, received) == (0, 0)
    assert r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true",
                        "access-control-allow-methods": "GET, POST, PUT, DELETE", "access-control-max-age": "600"}
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/api/items", preflight(LEGACY))
    assert (r.status, r.cors(), checks, received) == (403, {}, 0, 0)
    # A path only the catch-all covers: answered by edge-cors too, never forwarded.
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/other", preflight(APP))
    assert (r.status, r.cors(), checks, received) == (403, {}, 0, 0)
    assert nonzero(edge_cors_stats(envoy)) == {"requests/api/enforce/preflight/allowed/none": 1,
                                               "requests/api/enforce/preflight/rejected/origin": 1,
                                               "requests/deny-others/enforce/preflight/rejected/origin": 1}


# OPTIONS requests the exemption keeps authorized, and what happens once they are authorized:
# forwarded, or, when edge-cors reads them as preflights (a non-empty Origin and method), answered
# by edge-cors with 403 (`null` never matches; CONNECT and `put` are not allowed methods).
@pytest.mark.parametrize("headers,authorized", [
    ([], "forwarded"),
    ([("origin", APP)], "forwarded"),
    ([("access-control-request-method", "PUT")], "forwarded"),
    ([("origin", ""), ("access-control-request-method", "PUT")], "forwarded"),
    ([("origin", APP), ("access-control-request-method", "")], "forwarded"),
    ([("origin", "null"), ("access-control-request-method", "PUT")], "refused by edge-cors"),
    ([("origin", APP), ("access-control-request-method", "CONNECT")], "refused by edge-cors"),
    ([("origin", APP), ("access-control-request-method", "put")], "refused by edge-cors"),
], ids=["no-origin", "origin-only", "acrm-only", "empty-origin", "empty-acrm", "null-origin", "unlisted-method",
        "lower-case-method"])
def test_with_the_exemption_every_other_options_request_is_still_sent_to_the_authorization_service(
        gateway, authz, backend, issuer, headers, authorized):
    envoy = gateway(exemption())
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/api/items", headers)
    assert (r.status, r.body, checks, received) == (401, DENY_BODY, 1, 0)
    token = [("authorization", f"Bearer {issuer.token()}")]
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/api/items", headers + token)
    expected = (200, 1, 1) if authorized == "forwarded" else (403, 1, 0)
    assert (r.status, checks, received) == expected


def test_with_the_exemption_actual_requests_are_still_authorized_and_a_denial_stays_undecorated(
        gateway, authz, backend, issuer):
    envoy = gateway(exemption())
    # ext_authz runs before edge-cors: its 401 carries no CORS header, so the page cannot read it.
    r, checks, received = exchange(envoy, authz, backend, "GET", "/api/items", [("origin", APP)])
    assert (r.status, r.cors(), checks, received) == (401, {}, 1, 0)
    # jwt_authn runs after edge-cors: its 401 is decorated.
    r, checks, received = exchange(envoy, authz, backend, "GET", "/api/items", [("origin", APP), ("authorization", "Bearer x")])
    assert (r.status, checks, received) == (401, 1, 0) and r.body.startswith(b"Jwt is not in the form")
    assert r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}
    r, checks, received = exchange(envoy, authz, backend, "GET", "/api/items",
                                   [("origin", APP), ("authorization", f"Bearer {issuer.token()}")])
    assert (r.status, checks, received) == (200, 1, 1)
    assert r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}


def test_the_exemption_becomes_the_rbac_shadow_rules_istio_generates():
    (rbac, ext_authz) = ic.custom_filters(exemption(), "ext-authz", "ext-authz.auth.svc.cluster.local")
    not_or = lambda kind, items: {"not_id" if kind == "p" else "not_rule": {"or_ids" if kind == "p" else "or_rules": {  # noqa: E731
        "ids" if kind == "p" else "rules": items}}}
    any_principal = {"and_ids": {"ids": [{"any": True}]}}
    any_permission = {"and_rules": {"rules": [{"any": True}]}}
    prefix = "istio-ext-authz-ns[istio-system]-policy[ext-authz]-rule"
    assert rbac["typed_config"]["shadow_rules"] == {"action": "DENY", "policies": {
        f"{prefix}[0]": {"permissions": [{"and_rules": {"rules": [
            not_or("r", [{"header": {"name": ":method", "string_match": {"exact": "OPTIONS"}}}])]}}],
            "principals": [any_principal]},
        f"{prefix}[1]": {"permissions": [any_permission], "principals": [{"and_ids": {"ids": [
            not_or("p", [{"header": {"name": "origin", "string_match": {"prefix": "https://"}}},
                         {"header": {"name": "origin", "string_match": {"prefix": "http://"}}}])]}}]},
        f"{prefix}[2]": {"permissions": [any_permission], "principals": [{"and_ids": {"ids": [
            not_or("p", [{"header": {"name": "access-control-request-method", "string_match": {"exact": m}}}
                         for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")])]}}]},
    }}
    assert rbac["typed_config"]["shadow_rules_stat_prefix"] == "istio_ext_authz_"
    assert ext_authz["typed_config"]["filter_enabled_metadata"] == {
        "filter": "envoy.filters.http.rbac", "path": [{"key": "istio_ext_authz_shadow_effective_policy_id"}],
        "value": {"string_match": {"prefix": "istio-ext-authz"}}}


def test_without_a_catch_all_policy_an_exempted_preflight_no_policy_covers_reaches_the_backend_unauthorized(
        gateway, authz, backend):
    policy = copy.deepcopy(POLICY)
    policy["policies"].pop()  # no catch-all, and no ALLOW policy covering the path either
    envoy = gateway(exemption(), policy=policy, allow=None)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/other", preflight(APP))
    assert (r.status, checks, received) == (200, 0, 1)  # why the exemption requires the catch-all


def test_rbac_after_edge_cors_refuses_a_request_without_a_jwt_principal_and_edge_cors_decorates_the_403(
        gateway, authz, backend):
    # The service accepts Basic credentials, jwt_authn ignores them (a token is optional), and the
    # ALLOW policy requiring a JWT principal refuses the request.
    envoy = gateway(exemption())
    r, checks, received = exchange(envoy, authz, backend, "GET", "/api/items",
                                   [("origin", APP), ("authorization", "Basic dXNlcjpwdw==")])
    assert (r.status, r.body, checks, received) == (403, b"RBAC: access denied", 1, 0)
    assert r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}


# ---- one owner per route: a VirtualService corsPolicy and edge-cors --------------------------

def test_with_a_virtualservice_cors_policy_edge_cors_answers_preflights_and_owns_every_cors_header(
        gateway, authz, backend, issuer):
    envoy = gateway(exemption(), cors=VS_CORS)
    # Preflights: edge-cors (AUTHN phase) answers before the native CORS filter runs.
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/api/items", preflight(APP, "PUT"))
    assert r.status == 204 and r.get("access-control-allow-methods") == "GET, POST, PUT, DELETE"
    r, _, _ = exchange(envoy, authz, backend, "OPTIONS", "/api/items", preflight(LEGACY, "PATCH"))
    assert (r.status, r.cors()) == (403, {})  # the corsPolicy would have allowed it
    # Actual requests: the native filter writes its headers first (it is later in the chain, so
    # earlier on the response), then edge-cors replaces every CORS header.
    token = [("authorization", f"Bearer {issuer.token()}")]
    r, _, received = exchange(envoy, authz, backend, "GET", "/api/items", [("origin", APP)] + token)
    assert received == 1 and r.cors() == {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"}
    r, _, _ = exchange(envoy, authz, backend, "GET", "/api/items", [("origin", LEGACY)] + token)
    assert r.cors() == {}
    stats = nonzero(edge_cors_stats(envoy))
    assert stats["upstream_cors_replaced/api/enforce"] == 2  # the native filter's headers, replaced


def test_where_no_edge_cors_policy_covers_a_route_the_virtualservice_cors_policy_acts_after_rbac(gateway, authz, backend):
    policy = {"policies": [POLICY["policies"][0]]}  # /api/ only, no catch-all
    envoy = gateway(exemption(), policy=policy, cors=VS_CORS, allow=None)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/legacy/items", preflight(LEGACY, "PATCH"))
    assert (r.status, checks, received) == (200, 0, 0)  # the native filter answered
    assert r.cors() == {"access-control-allow-origin": LEGACY, "access-control-allow-methods": "GET,POST,PATCH",
                        "access-control-allow-headers": "x-legacy", "access-control-max-age": "86400",
                        "access-control-expose-headers": "x-native"}
    # The native CORS filter comes after the ALLOW/DENY step: an ALLOW policy requiring a JWT
    # refuses the same preflight before the corsPolicy can answer it.
    envoy = gateway(exemption(), policy=policy, cors=VS_CORS)
    r, checks, received = exchange(envoy, authz, backend, "OPTIONS", "/legacy/items", preflight(LEGACY, "PATCH"))
    assert (r.status, r.body, r.cors(), checks, received) == (403, b"RBAC: access denied", {}, 0, 0)
