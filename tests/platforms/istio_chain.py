"""The HTTP filter chain Istio 1.30 builds for a gateway listener, as a plain Envoy config.

Read in istio/istio (commits as stored by the search index this project uses):
- `pilot/pkg/networking/core/listener_builder.go` (044be69f), `buildHTTPConnectionManager`: metadata
  exchange, the CUSTOM authorization filters, WasmPlugins of phase AUTHN, authn (JWT), phase AUTHZ,
  the ALLOW/DENY authorization filters, phases STATS and unspecified, gRPC stats, fault, CORS,
  telemetry, router;
- `pilot/pkg/security/authz/builder/builder.go` (01eb2ecb) and `extauthz.go` (a5f95858): a CUSTOM
  AuthorizationPolicy becomes an RBAC filter whose `shadow_rules` (action DENY, stat prefix
  `istio_ext_authz_`) hold one policy per rule, named `istio-ext-authz-ns[NS]-policy[NAME]-rule[i]`,
  followed by an ext_authz filter enabled only when the RBAC filter's dynamic metadata
  `istio_ext_authz_shadow_effective_policy_id` starts with `istio-ext-authz` (a rule matched);
- `pilot/pkg/security/authz/model/model.go` (48b9bce1), `generator.go` (5df61214),
  `pilot/pkg/security/authz/matcher/header.go` (046845d9) and `string.go` (01eb374d): how a rule's
  `to`/`from`/`when` become RBAC permissions and principals;
- `pilot/pkg/security/authn/policy_applier.go` (46d59cea): a RequestAuthentication becomes a
  jwt_authn filter with `bypass_cors_preflight: true`, the payload in metadata `payload`, and a
  token optional ({provider, allow_missing});
- `pilot/pkg/networking/core/route/route.go` (0098d99f), `TranslateCORSPolicy`: a VirtualService
  `corsPolicy` becomes the route's CorsPolicy for `envoy.filters.http.cors`.

Istio's own filters that upstream Envoy does not have (metadata exchange `istio.metadata_exchange`,
`istio.alpn`, `istio.stats`) are left out: none of them answers a request. The RBAC ALLOW filter
reads the JWT principal from jwt_authn's metadata, as the generated config does.
"""
from __future__ import annotations

from harness.envoy_config import NATIVE_CORS, ROUTER, bootstrap, http_listener, route_config, static_cluster, \
    virtual_host, wasm_filter

RBAC = "envoy.filters.http.rbac"
EXT_AUTHZ = "envoy.filters.http.ext_authz"
JWT_AUTHN = "envoy.filters.http.jwt_authn"
EXT_AUTHZ_PREFIX = "istio-ext-authz"
EXT_AUTHZ_STAT_PREFIX = "istio_ext_authz_"
JWT_PAYLOAD = "payload"


class Unsupported(ValueError):
    """A field of an AuthorizationPolicy this translator does not implement (never ignored)."""


# ---- matchers (matcher/string.go, matcher/header.go) ------------------------------------------

def string_matcher(v: str) -> dict:
    if v == "*":
        return {"safe_regex": {"regex": ".+"}}
    if v.startswith("*"):
        return {"suffix": v[1:]}
    if v.endswith("*"):
        return {"prefix": v[:-1]}
    return {"exact": v}


def header_matcher(name: str, v: str) -> dict:
    if v == "*":
        return {"name": name, "present_match": True}
    return {"name": name, "string_match": string_matcher(v)}


def host_matcher(v: str) -> dict:
    if v == "*":
        return {"name": ":authority", "present_match": True}
    return {"name": ":authority", "string_match": {**string_matcher(v), "ignore_case": True}}


def jwt_claim_matcher(claim: str, m: dict) -> dict:
    return {"filter": JWT_AUTHN, "path": [{"key": JWT_PAYLOAD}, {"key": claim}], "value": {"string_match": m}}


# ---- rules (model.go, generator.go) -----------------------------------------------------------

def _or(kind: str, items: list) -> dict:
    return {"or_rules": {"rules": items}} if kind == "permission" else {"or_ids": {"ids": items}}


def _not(kind: str, item: dict) -> dict:
    return {"not_rule": item} if kind == "permission" else {"not_id": item}


def _and(kind: str, items: list) -> dict:
    return {"and_rules": {"rules": items}} if kind == "permission" else {"and_ids": {"ids": items}}


def _request_principal(value: str) -> dict:
    """requestPrincipalGenerator.extendedPrincipal for one value (iss/sub from the JWT payload)."""
    iss, _, sub = value.rpartition("/") if "/" in value else (value, "", "")
    any_ = {"safe_regex": {"regex": ".+"}}
    if value == "*":
        m_iss, m_sub = any_, any_
    elif "*" in value:
        raise Unsupported(f"requestPrincipals with a partial wildcard: {value}")
    else:
        m_iss, m_sub = {"exact": iss}, {"exact": sub}
    return _and("principal", [{"metadata": jwt_claim_matcher("iss", m_iss)}, {"metadata": jwt_claim_matcher("sub", m_sub)}])


def _generated(kind: str, key: str, values: list, not_values: list, one) -> list:
    """rule.permission / rule.principal: an OR of the values, then NOT(OR) of the notValues."""
    out = []
    if values:
        out.append(_or(kind, [one(key, v) for v in values]))
    if not_values:
        out.append(_not(kind, _or(kind, [one(key, v) for v in not_values])))
    return out


def _permission_one(key: str, v: str) -> dict:
    if key == ":method":
        return {"header": header_matcher(":method", v)}
    if key == "path":
        return {"url_path": {"path": string_matcher(v)}}
    if key == ":authority":
        return {"header": host_matcher(v)}
    raise Unsupported(key)


def _principal_one(key: str, v: str) -> dict:
    header = key[len("request.headers["):-1]
    return {"header": header_matcher(header, v)}


OPERATION_FIELDS = {"hosts": ":authority", "methods": ":method", "paths": "path"}
SOURCE_FIELDS = {"requestPrincipals"}


def rule_policy(rule: dict) -> dict:
    """One AuthorizationPolicy rule -> one RBAC Policy, as authz/model.New + Generate do."""
    base_principal = []  # [(key, values, notValues)] in `when` order (appendLast)
    for cond in rule.get("when", []):
        key = cond["key"]
        if not (key.startswith("request.headers[") and key.endswith("]")):
            raise Unsupported(f"when.key {key}")
        base_principal.append((key, cond.get("values", []), cond.get("notValues", [])))

    permissions = []
    for to in rule.get("to", []) or [{}]:
        op = to.get("operation", {})
        unknown = set(op) - {"hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"}
        if unknown:
            raise Unsupported(f"operation fields {sorted(unknown)}")
        parts = []
        # insertFront of port, path, method, host leaves them in the order host, method, path.
        for field in ("hosts", "methods", "paths"):
            key = OPERATION_FIELDS[field]
            parts += _generated("permission", key, op.get(field, []),
                                op.get("not" + field[0].upper() + field[1:], []), _permission_one)
        permissions.append(_and("permission", parts or [{"any": True}]))

    principals = []
    for frm in rule.get("from", []) or [{}]:
        src = frm.get("source", {})
        unknown = set(src) - SOURCE_FIELDS
        if unknown:
            raise Unsupported(f"source fields {sorted(unknown)}")
        parts = []
        if src.get("requestPrincipals"):
            values = [_request_principal(v) for v in src["requestPrincipals"]]
            parts.append(values[0] if len(values) == 1 else _or("principal", values))
        for key, values, not_values in base_principal:
            parts += _generated("principal", key, values, not_values, _principal_one)
        principals.append(_and("principal", parts or [{"any": True}]))
    return {"permissions": permissions, "principals": principals}


def policy_name(meta: dict, index: int, custom: bool) -> str:
    prefix = f"{EXT_AUTHZ_PREFIX}-" if custom else ""
    return f"{prefix}ns[{meta['namespace']}]-policy[{meta['name']}]-rule[{index}]"


def rbac_policies(policy: dict, custom: bool) -> dict:
    spec = policy["spec"]
    rules = spec.get("rules") or []
    if not rules:  # rbacPolicyMatchNever
        return {policy_name(policy["metadata"], 0, custom): {
            "permissions": [{"not_rule": {"any": True}}], "principals": [{"not_id": {"any": True}}]}}
    return {policy_name(policy["metadata"], i, custom): rule_policy(r) for i, r in enumerate(rules)}


def custom_filters(policy: dict, authz_cluster: str, authz_host: str) -> list:
    """A CUSTOM AuthorizationPolicy with an `envoyExtAuthzHttp` provider -> [RBAC in shadow mode,
    ext_authz enabled by its metadata] (builder.go buildHTTP, extauthz.go generateHTTPConfig)."""
    assert policy["spec"]["action"] == "CUSTOM"
    rbac = {
        "name": RBAC,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "shadow_rules": {"action": "DENY", "policies": rbac_policies(policy, custom=True)},
            "shadow_rules_stat_prefix": EXT_AUTHZ_STAT_PREFIX,
        },
    }
    ext_authz = {
        "name": EXT_AUTHZ,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
            "transport_api_version": "V3",
            "http_service": {"server_uri": {"uri": f"http://{authz_host}", "cluster": authz_cluster, "timeout": "600s"}},
            "filter_enabled_metadata": {
                "filter": RBAC,
                "path": [{"key": EXT_AUTHZ_STAT_PREFIX + "shadow_effective_policy_id"}],
                "value": {"string_match": {"prefix": EXT_AUTHZ_PREFIX}},
            },
        },
    }
    return [rbac, ext_authz]


def allow_filter(policy: dict) -> dict:
    """An ALLOW AuthorizationPolicy -> the RBAC filter of the ALLOW/DENY step."""
    assert policy["spec"].get("action", "ALLOW") == "ALLOW"
    return {
        "name": RBAC,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {"action": "ALLOW", "policies": rbac_policies(policy, custom=False)},
        },
    }


def jwt_filter(request_authentication: dict, jwks: str) -> dict:
    """A RequestAuthentication with one jwtRules entry -> jwt_authn (convertToEnvoyJwtConfig;
    istiod fetches the JWKS and inlines it as local_jwks)."""
    (rule,) = request_authentication["spec"]["jwtRules"]
    provider = {
        "issuer": rule["issuer"],
        "local_jwks": {"inline_string": jwks},
        "forward": rule.get("forwardOriginalToken", False),
        "payload_in_metadata": JWT_PAYLOAD,
        "normalize_payload_in_metadata": {"space_delimited_claims": ["permission", "scope"]},
    }
    return {
        "name": JWT_AUTHN,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"origins-0": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"requires_any": {"requirements": [
                {"provider_name": "origins-0"}, {"allow_missing": {}}]}}}],
            "bypass_cors_preflight": True,
        },
    }


def route_cors_policy(cors_policy: dict) -> dict:
    """A VirtualService http[].corsPolicy -> the route's CorsPolicy (TranslateCORSPolicy)."""
    def match(m: dict) -> dict:
        if "regex" in m:
            return {"safe_regex": {"regex": m["regex"]}}
        return dict(m)

    out = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "forward_not_matching_preflights": cors_policy.get("unmatchedPreflights") != "IGNORE",
        "allow_origin_string_match": [match(m) for m in cors_policy.get("allowOrigins", [])],
        "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
        "allow_headers": ",".join(cors_policy.get("allowHeaders", [])),
        "allow_methods": ",".join(cors_policy.get("allowMethods", [])),
        "expose_headers": ",".join(cors_policy.get("exposeHeaders", [])),
    }
    if "allowCredentials" in cors_policy:
        out["allow_credentials"] = cors_policy["allowCredentials"]
    if "maxAge" in cors_policy:
        out["max_age"] = str(int(cors_policy["maxAge"].rstrip("s")))
    return out


def wasm_plugin_filter(plugin: dict) -> dict:
    """An AUTHN-phase WasmPlugin as the filter Istio inserts (named NAMESPACE.NAME; its
    pluginConfig as the JSON of a StringValue)."""
    meta = plugin["metadata"]
    f = wasm_filter(plugin["spec"]["pluginConfig"], name=f"{meta['namespace']}.{meta['name']}")
    f["typed_config"]["config"]["root_id"] = plugin["spec"]["pluginName"]
    return f


def gateway_filters(edge_cors: dict | None = None, custom: dict | None = None, request_authn: dict | None = None,
                    allow: dict | None = None, authz_cluster: str = "ext-authz", jwks: str = "") -> list:
    """The filter chain, in buildHTTPConnectionManager's order, of the given Istio objects."""
    filters = []
    if custom:
        filters += custom_filters(custom, authz_cluster, "ext-authz.auth.svc.cluster.local")
    if edge_cors:
        assert edge_cors["spec"]["phase"] == "AUTHN"
        filters.append(wasm_plugin_filter(edge_cors))
    if request_authn:
        filters.append(jwt_filter(request_authn, jwks))
    if allow:
        filters.append(allow_filter(allow))
    filters += [
        {"name": "envoy.filters.http.fault",
         "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"}},
        {"name": NATIVE_CORS, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}},
        ROUTER,
    ]
    return filters


def gateway_bootstrap(port: int, admin_port: int, upstream_port: int, authz_port: int, filters: list,
                      routes: list) -> dict:
    """One gateway listener (the connection manager options Istio sets on gateways with the default
    path normalization: normalize_path, escaped slashes kept, remote address used, websockets)."""
    listener = http_listener(
        "0.0.0.0_8080", port, "outbound_0.0.0.0_8080", route_config([virtual_host(routes, name="api.example.com:80")],
                                                                      name="http.8080"),
        filters, normalize=False, codec_type="AUTO", normalize_path=True,
        path_with_escaped_slashes_action="KEEP_UNCHANGED", use_remote_address=True,
        upgrade_configs=[{"upgrade_type": "websocket"}])
    return bootstrap(admin_port, [listener], [static_cluster("upstream", upstream_port),
                                              static_cluster("ext-authz", authz_port)])
