"""The HTTP filter chain and routes Envoy Gateway 1.9 generates, as a plain Envoy config.

Read in envoyproxy/gateway (commits as stored by the search index this project uses):
- `internal/xds/translator/httpfilters.go` (0299ce2c): `newOrderedHTTPFilter` gives each filter type
  an order (cors 3, ext_authz 6, api_key_auth 7, basic_auth 8, oauth2 9, jwt_authn 10, wasm
  200 + index, rbac 301, router last) and `sortHTTPFilters` then applies
  `EnvoyProxy.spec.filterOrder`, entry by entry: all filters of type `name` move before the FIRST
  filter of type `before` (or after the LAST of type `after`); an entry whose `before`/`after`
  type is not in the chain moves nothing;
- `wasm.go` (06a1fd2e) and `extauth.go` (75c1c217): one filter per EnvoyExtensionPolicy Wasm entry
  (`envoy.filters.http.wasm/envoyextensionpolicy/NS/NAME/wasm/I`) and per SecurityPolicy extAuth
  (`envoy.filters.http.ext_authz/securitypolicy/NS/NAME`), each `disabled: true` on the listener
  and enabled by an empty `FilterConfig` in the typed_per_filter_config of every route the policy
  applies to; the Wasm code is fetched over HTTP with its sha256 (EG serves the module it pulled);
- `cors.go` (146f5d87): one `envoy.filters.http.cors` on the listener and the route's CorsPolicy,
  with `forward_not_matching_preflights: false`;
- `testdata/out/xds-ir/jwt-single-route-single-match.*.yaml`: jwt_authn with a `requirement_map`
  and a per-route `requirement_name`, without `bypass_cors_preflight`;
- `testdata/out/xds-ir/wasm.*.yaml`, `ext-auth.listeners.yaml`: the connection manager
  (normalize_path, merge_slashes, UNESCAPE_AND_REDIRECT) and the route names
  `httproute/NS/NAME/rule/R/match/M/HOST`.
"""
from __future__ import annotations

from harness.envoy_config import bootstrap, http_listener, route_config, static_cluster

WASM = "envoy.filters.http.wasm"
EXT_AUTHZ = "envoy.filters.http.ext_authz"
JWT_AUTHN = "envoy.filters.http.jwt_authn"
CORS = "envoy.filters.http.cors"
ROUTER = "envoy.filters.http.router"

# newOrderedHTTPFilter: the default position of each filter type (50 for any other type).
ORDER = {
    "envoy.filters.http.custom_response": 0, "envoy.filters.http.health_check": 1, "envoy.filters.http.fault": 2,
    CORS: 3, "envoy.filters.http.csrf": 4, "envoy.filters.http.header_mutation": 5, EXT_AUTHZ: 6,
    "envoy.filters.http.api_key_auth": 7, "envoy.filters.http.basic_auth": 8, "envoy.filters.http.oauth2": 9,
    JWT_AUTHN: 10, "envoy.filters.http.stateful_session": 11, "envoy.filters.http.buffer": 12,
    WASM: 200, "envoy.filters.http.rbac": 301, ROUTER: 310,
}


def filter_type(name: str) -> str:
    return next((t for t in sorted(ORDER, key=len, reverse=True) if name.startswith(t)), name)


def default_order(name: str) -> int:
    t = filter_type(name)
    order = ORDER.get(t, 50)
    if t == WASM:
        order += int(name.rsplit("/", 1)[-1])
    return order


def sort_filters(filters: list, filter_order: list | None = None) -> list:
    """sortHTTPFilters: the default order (ties by name), then each filterOrder entry in turn."""
    chain = sorted(filters, key=lambda f: (default_order(f["name"]), f["name"]))
    for entry in filter_order or []:
        moving = [f for f in chain if f["name"].startswith(entry["name"])]
        if not moving:
            continue
        if "before" in entry:
            anchor = next((f for f in chain if f["name"].startswith(entry["before"])), None)
            if anchor is None:
                continue
            rest = [f for f in chain if f not in moving]
            i = rest.index(anchor)
            chain = rest[:i] + moving + rest[i:]
        elif "after" in entry:
            anchors = [f for f in chain if f["name"].startswith(entry["after"])]
            if not anchors:
                continue
            rest = [f for f in chain if f not in moving]
            i = rest.index(anchors[-1]) + 1
            chain = rest[:i] + moving + rest[i:]
    return chain


def wasm_filter_name(namespace: str, policy: str, index: int = 0) -> str:
    return f"{WASM}/envoyextensionpolicy/{namespace}/{policy}/wasm/{index}"


def ext_authz_filter_name(namespace: str, policy: str) -> str:
    return f"{EXT_AUTHZ}/securitypolicy/{namespace}/{policy}"


def wasm_filter(name: str, wasm: dict, code_uri: str, sha256: str) -> dict:
    """One EnvoyExtensionPolicy `spec.wasm[]` entry (wasmConfig): its `config` as the JSON of a
    StringValue, the code fetched from EG's module server, disabled until a route enables it."""
    import json

    vm_id = name[len(WASM) + 1:]
    config = {
        "name": wasm.get("name", vm_id),
        "vm_config": {
            "vm_id": vm_id,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"remote": {"http_uri": {"uri": code_uri, "cluster": "wasm_cluster", "timeout": "10s"},
                                "sha256": sha256}},
        },
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue",
                          "value": json.dumps(wasm["config"]) if "config" in wasm else ""},
    }
    if "rootID" in wasm:
        config["root_id"] = wasm["rootID"]
    return {"name": name, "disabled": True,
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": config}}


def ext_authz_filter(name: str, cluster: str, authority: str) -> dict:
    """A SecurityPolicy `extAuth.http` (extAuthConfig + httpService)."""
    return {"name": name, "disabled": True, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        "transport_api_version": "V3",
        "http_service": {"server_uri": {"uri": f"http://{authority}", "cluster": cluster, "timeout": "10s"}},
    }}


def jwt_filter(provider_name: str, issuer: str, jwks: str, requirement: str) -> dict:
    """A SecurityPolicy `jwt` provider (the JWKS inline here; EG fetches remote JWKS)."""
    return {"name": JWT_AUTHN, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        "providers": {provider_name: {"issuer": issuer, "forward": True, "payload_in_metadata": "example",
                                      "normalize_payload_in_metadata": {"space_delimited_claims": ["scope", "scp"]},
                                      "local_jwks": {"inline_string": jwks}}},
        "requirement_map": {requirement: {"provider_name": provider_name}},
    }}


def cors_filter() -> dict:
    return {"name": CORS, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}


def cors_policy(cors: dict) -> dict:
    """A SecurityPolicy `cors` (or HTTPRoute CORS filter) -> the route's CorsPolicy (cors.go)."""
    def origin(o: str) -> dict:
        if "*" in o:  # buildXdsStringMatcher: a wildcard origin becomes a regex
            return {"safe_regex": {"regex": o.replace(".", r"\.").replace("*", ".*")}}
        return {"exact": o}

    out = {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allow_origin_string_match": [origin(o) for o in cors.get("allowOrigins", [])],
        "allow_methods": ", ".join(cors.get("allowMethods", [])),
        "allow_headers": ", ".join(cors.get("allowHeaders", [])),
        "expose_headers": ", ".join(cors.get("exposeHeaders", [])),
        "allow_credentials": bool(cors.get("allowCredentials", False)),
        "forward_not_matching_preflights": False,
    }
    if "maxAge" in cors:
        out["max_age"] = str(int(cors["maxAge"].rstrip("s")))
    return out


ENABLE = {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "config": {}}


def route(name: str, prefix: str, method: str | None = None, enable: list = (), jwt_requirement: str | None = None,
          cors: dict | None = None) -> dict:
    """One route of an HTTPRoute rule match: path_separated_prefix, an optional method header
    match, the filters its policies enable."""
    match = {"path_separated_prefix": prefix}
    if method:
        match["headers"] = [{"name": ":method", "string_match": {"exact": method}}]
    per_filter = {f: ENABLE for f in enable}
    if jwt_requirement:
        per_filter[JWT_AUTHN] = {"@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig",
                                 "requirement_name": jwt_requirement}
    if cors:
        per_filter[CORS] = cors_policy(cors)
    r = {"name": name, "match": match, "route": {"cluster": "backend", "upgrade_configs": [{"upgrade_type": "websocket"}]}}
    if per_filter:
        r["typed_per_filter_config"] = per_filter
    return r


def gateway_bootstrap(port: int, admin_port: int, backend_port: int, extra_clusters: dict, filters: list,
                      routes: list, filter_order: list | None = None, vhost_fields: dict | None = None) -> dict:
    """One Gateway listener: the filters sorted as sortHTTPFilters does, the routes in one virtual
    host `api.example.com`, the connection manager options EG sets."""
    chain = sort_filters([*filters, {"name": ROUTER, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router", "suppress_envoy_headers": True}}],
        filter_order)
    vhost = {"name": "default/eg/http/api_example_com", "domains": ["api.example.com"], "routes": routes, **(vhost_fields or {})}
    rc = route_config([vhost], name="default/eg/http")
    rc["ignore_port_in_host_matching"] = True
    listener = http_listener("default/eg/http", port, "http-10080", rc, chain, normalize=False, codec_type="AUTO",
                             normalize_path=True, merge_slashes=True,
                             path_with_escaped_slashes_action="UNESCAPE_AND_REDIRECT", use_remote_address=True,
                             server_header_transformation="PASS_THROUGH")
    clusters = [static_cluster("backend", backend_port)] + [static_cluster(n, p) for n, p in extra_clusters.items()]
    return bootstrap(admin_port, [listener], clusters)


def host_suffix(host: str) -> str:
    return host.replace(".", "_")


def httproute_routes(httproute: dict, enable: list, **fields) -> list:
    """An HTTPRoute -> one Envoy route per rule match (PathPrefix and method matches only), named
    as Envoy Gateway names them, each enabling the `enable` filters."""
    meta, spec = httproute["metadata"], httproute["spec"]
    routes = []
    for host in spec["hostnames"]:
        for r, rule in enumerate(spec["rules"]):
            for m, match in enumerate(rule["matches"]):
                path = match["path"]
                assert path["type"] == "PathPrefix", path
                name = f"httproute/{meta['namespace']}/{meta['name']}/rule/{r}/match/{m}/{host_suffix(host)}"
                routes.append(route(name, path["value"], method=match.get("method"), enable=enable, **fields))
    return routes


def extension_policy_wasm(policy: dict, index: int, code_uri: str, sha256: str) -> dict:
    """The Wasm filter of `spec.wasm[index]` of an EnvoyExtensionPolicy, its code fetched from
    `code_uri` (the placeholders of the shipped files replaced)."""
    meta = policy["metadata"]
    return wasm_filter(wasm_filter_name(meta["namespace"], meta["name"], index), policy["spec"]["wasm"][index],
                       code_uri, sha256)
