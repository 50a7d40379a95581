"""The one builder of Envoy configurations for tests, benchmark and soak.

Every generated bootstrap comes from `bootstrap()` (most through `proxy_bootstrap()`, the shape
of the end-to-end tests), every listener from `http_listener()`, which sets the path and host
normalization of every shipped config unless a test asks for Envoy's defaults. The pieces are
plain dicts (Envoy's JSON form of the v3 API), so a test can still edit what it needs.
Shipped YAML files are not rebuilt here: `substitute()` edits their text (ports, paths), so the
file a user reads is the file that runs.
"""
from __future__ import annotations

import json
import re

from . import HOST, NATIVE, WASM

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
NATIVE_CORS = "envoy.filters.http.cors"
DYNAMIC_MODULE_FILTER = "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter"
# Where each host puts edge-cors's counters: proxy-wasm's custom metrics, and a dynamic module's
# default `metrics_namespace`.
METRIC_NAMESPACES = {"wasm": "wasmcustom", "native": "dynamicmodulescustom"}
# What Envoy's /stats/prometheus puts before `edge_cors_`: nothing for proxy-wasm's custom
# namespace, `envoy_<namespace>_` for a dynamic module's.
PROMETHEUS_PREFIXES = {"wasm": "", "native": "envoy_dynamicmodulescustom_"}

ROUTER = {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}

# The connection-manager options every shipped config and every generated bootstrap sets, so that
# edge-cors and the router see the same `:path` and `:authority` (docs/deployment-envoy.md, "Path and host
# normalization"). Envoy applies them before the first HTTP filter runs.
PATH_AND_HOST_NORMALIZATION = {
    "normalize_path": True,
    "merge_slashes": True,
    "path_with_escaped_slashes_action": "REJECT_REQUEST",
    "strip_trailing_host_dot": True,
    "strip_any_host_port": True,
}

# The labels of edge-cors's metrics (crates/edge-cors-core/src/ops/metrics.rs, LABELS). The
# proxy-wasm filter writes each into the metric name as `label=.=value;.;` (the form of Istio's
# own metrics), and one tag rule per label turns it back into a Prometheus label: the rule
# Istio's bootstrap generates for every name in `meshConfig.defaultConfig.extraStatTags`
# (istio/istio tools/packaging/common/envoy_bootstrap.json), which the shipped bootstraps carry
# too (envoy/envoy.yaml, envoy/ecds/envoy.yaml, docs/operations.md).
EDGE_CORS_LABELS = ("edge_cors_policy", "edge_cors_mode", "edge_cors_kind", "edge_cors_outcome", "edge_cors_reason",
                    "edge_cors_config_sha256", "edge_cors_config_version")


def tag_rule(label: str) -> dict:
    """The tag rule of one label, as Istio writes it for an `extraStatTags` entry."""
    return {"tag_name": label, "regex": f"({label}=\\.=(.*?);\\.;)"}


EDGE_CORS_STATS_TAGS = [tag_rule(label) for label in EDGE_CORS_LABELS]

# A Lua stand-in for an auth filter placed after edge-cors: 401 on /secure/ without
# Authorization. RBAC after it denies /api/admin/. Both produce local replies edge-cors decorates.
AUTH_LUA = """
function envoy_on_request(handle)
  local path = handle:headers():get(":path") or ""
  if string.find(path, "/secure/", 1, true) and handle:headers():get("authorization") == nil then
    handle:respond({[":status"] = "401", ["www-authenticate"] = "Bearer"}, "unauthorized")
  end
end
"""

# The access log line `with_access_log` writes: method, path, status, Origin.
ACCESS_LOG_FORMAT = "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %REQ(ORIGIN)%\n"

# Envoy buffers access log files and flushes them every 10 s by default: start an Envoy whose
# log a test reads with these extra arguments (Envoy(config, extra_args=ACCESS_LOG_FLUSH_ARGS)).
ACCESS_LOG_FLUSH_ARGS = ["--file-flush-interval-msec", "20"]


# ---------------------------------------------------------------- HTTP filters

def wasm_filter(config, name: str = "edge-cors", failure_policy: str = "FAIL_CLOSED", wasm: str | None = None) -> dict:
    """The edge-cors HTTP filter (or another proxy-wasm module: `wasm`); `config` is a dict
    (serialized to JSON) or a raw string, carried as a google.protobuf.StringValue as Istio does."""
    value = config if isinstance(config, str) else json.dumps(config)
    return {
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": name,
                "failure_policy": failure_policy,
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": wasm or WASM}},
                },
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value},
            },
        },
    }


def dynamic_module_filter(config, name: str = "edge-cors", module: str | None = None,
                          metrics_namespace: str | None = None) -> dict:
    """edge-cors as an Envoy dynamic module (the native host): `config` as for `wasm_filter`,
    the module loaded from the file `module` (default: the one scripts/build.sh --native builds)."""
    value = config if isinstance(config, str) else json.dumps(config)
    module_config = {"module": {"local": {"filename": module or NATIVE}}}
    if metrics_namespace:
        module_config["metrics_namespace"] = metrics_namespace
    return {
        "name": name,
        "typed_config": {
            "@type": DYNAMIC_MODULE_FILTER,
            "dynamic_module_config": module_config,
            "filter_name": "edge-cors",
            "filter_config": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value},
        },
    }


def edge_cors_filter(config, name: str = "edge-cors", host: str | None = None, failure_policy: str = "FAIL_CLOSED",
                     wasm: str | None = None, module: str | None = None) -> dict:
    """The edge-cors filter on `host` (default: harness.HOST, from EDGE_CORS_HOST): the wasm
    module (`failure_policy`, `wasm`) or the native dynamic module (`module`). A native module
    has no failure policy: every hook answers fail-closed itself."""
    if (host or HOST) == "native":
        return dynamic_module_filter(config, name, module)
    return wasm_filter(config, name, failure_policy, wasm)


def native_cors_filter() -> dict:
    """Envoy's own CORS filter; it acts only where a route or virtual host carries a
    `native_cors_policy()` in typed_per_filter_config under NATIVE_CORS."""
    return {"name": NATIVE_CORS, "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}


def native_cors_policy(**fields) -> dict:
    """A CorsPolicy for `native_cors_filter()` (fields as in the v3 API)."""
    return {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy", **fields}


def lua_auth_filter() -> dict:
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": AUTH_LUA},
        },
    }


def rbac_deny_filter(prefix: str = "/api/admin/") -> dict:
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "DENY",
                "policies": {"deny": {"permissions": [{"url_path": {"path": {"prefix": prefix}}}], "principals": [{"any": True}]}},
            },
        },
    }


def edge_cors_chain(policy, **kw) -> list:
    """edge-cors (on harness.HOST) first, then the auth stand-in, RBAC, router."""
    return [edge_cors_filter(policy, **kw), lua_auth_filter(), rbac_deny_filter(), ROUTER]


# ---------------------------------------------------------------- routes and clusters

def route_to(cluster: str = "upstream", prefix: str = "/", **fields) -> dict:
    """A route forwarding every request under `prefix` to `cluster`; `fields` are added to it
    (typed_per_filter_config, ...)."""
    return {"match": {"prefix": prefix}, "route": {"cluster": cluster}, **fields}


def get_only_route(cluster: str = "upstream") -> dict:
    """A route that matches every method but OPTIONS: a preflight reaching it would 404."""
    return {
        "match": {"prefix": "/", "headers": [{"name": ":method", "string_match": {"exact": "OPTIONS"}, "invert_match": True}]},
        "route": {"cluster": cluster},
    }


def direct_response_route(prefix: str = "/", body: str | None = None, status: int = 200,
                          headers: list | None = None) -> dict:
    """A route Envoy answers itself: `status`, `body`, and `headers` [(name, value)] added."""
    route = {"match": {"prefix": prefix}, "direct_response": {"status": status}}
    if body is not None:
        route["direct_response"]["body"] = {"inline_string": body}
    if headers:
        route["response_headers_to_add"] = [{"header": {"key": k, "value": v}} for k, v in headers]
    return route


def virtual_host(routes: list, name: str = "all", domains: list | None = None, **fields) -> dict:
    return {"name": name, "domains": domains or ["*"], "routes": routes, **fields}


def route_config(virtual_hosts: list, name: str | None = "local") -> dict:
    return ({"name": name} if name else {}) | {"virtual_hosts": virtual_hosts}


def static_cluster(name: str, port: int) -> dict:
    """A cluster of one endpoint, 127.0.0.1:`port`."""
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    }


# ---------------------------------------------------------------- listeners and bootstraps

def http_listener(name: str, port: int, stat_prefix: str, route_config: dict, http_filters: list,
                  normalize: bool = True, **hcm_fields) -> dict:
    """A listener on 127.0.0.1:`port` whose one network filter is an HttpConnectionManager with
    PATH_AND_HOST_NORMALIZATION (unless `normalize=False`) and `hcm_fields`."""
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": HCM_TYPE,
                "stat_prefix": stat_prefix,
                **(PATH_AND_HOST_NORMALIZATION if normalize else {}),
                **hcm_fields,
                "route_config": route_config,
                "http_filters": http_filters,
            },
        }]}],
    }


def bootstrap(admin_port: int, listeners: list, clusters: list | None = None, node: str = "edge-cors-test",
              **fields) -> dict:
    """An Envoy bootstrap: admin on 127.0.0.1:`admin_port`, static `listeners` and `clusters`
    (left out when None), `fields` at the top level (stats_config, stats_flush_interval, ...)."""
    static = {"listeners": listeners} | ({"clusters": clusters} if clusters is not None else {})
    return {
        "node": {"id": node, "cluster": node},
        **fields,
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": static,
    }


def proxy_bootstrap(listener_port: int, admin_port: int, upstream_port: int, http_filters: list,
                    routes: list | None = None, route_typed_per_filter_config: dict | None = None,
                    normalize: bool = True, virtual_hosts: list | None = None) -> dict:
    """One listener (`http_filters`), one virtual host for every domain with `routes` (default:
    every method but OPTIONS to the upstream) or the given `virtual_hosts`, one cluster
    `upstream`. `normalize=False` leaves out PATH_AND_HOST_NORMALIZATION: Envoy's defaults, under
    which filters see `:path` and `:authority` exactly as the client sent them."""
    if virtual_hosts is None:
        vhost = virtual_host(routes or [get_only_route()])
        if route_typed_per_filter_config:
            vhost["typed_per_filter_config"] = route_typed_per_filter_config
        virtual_hosts = [vhost]
    listener = http_listener("main", listener_port, "main", route_config(virtual_hosts), http_filters, normalize,
                             codec_type="AUTO")
    return bootstrap(admin_port, [listener], [static_cluster("upstream", upstream_port)])


# ---------------------------------------------------------------- edits of a built bootstrap

def http_connection_managers(config: dict) -> list:
    """The typed_config of every HttpConnectionManager of a bootstrap's static listeners."""
    return [f["typed_config"]
            for listener in config.get("static_resources", {}).get("listeners", [])
            for chain in listener.get("filter_chains", [])
            for f in chain.get("filters", [])
            if f.get("typed_config", {}).get("@type") == HCM_TYPE]


def find_cluster(config: dict, name: str) -> dict:
    return next(c for c in config["static_resources"]["clusters"] if c["name"] == name)


def add_cluster(config: dict, name: str, port: int) -> dict:
    config["static_resources"]["clusters"].append(static_cluster(name, port))
    return config


def upgrade_websockets(config: dict) -> dict:
    """Let the listener's connection manager accept WebSocket upgrades."""
    for hcm in http_connection_managers(config):
        hcm["upgrade_configs"] = [{"upgrade_type": "websocket"}]
    return config


def with_edge_cors_stats_tags(config: dict) -> dict:
    config["stats_config"] = {"stats_tags": EDGE_CORS_STATS_TAGS}
    return config


def with_access_log(config: dict, path: str) -> dict:
    """Add a file access log (ACCESS_LOG_FORMAT) to every HTTP connection manager of `config`.

    Local replies (edge-cors's preflight answers) are logged too, so this is how a test counts
    requests that never reach the upstream. The file is flushed asynchronously: readers poll for
    the line they expect (see `processes.access_log_lines`, ACCESS_LOG_FLUSH_ARGS).
    """
    return with_access_logger(config, file_access_log(path, {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}}))


def file_access_log(path: str, log_format: dict) -> dict:
    """A file access logger writing `log_format` lines to `path`."""
    return {
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path,
            "log_format": log_format,
        },
    }


def with_access_logger(config: dict, logger: dict) -> dict:
    """Add the access logger `logger` (a copy of it) to every HTTP connection manager of `config`."""
    for hcm in http_connection_managers(config):
        hcm.setdefault("access_log", []).append(json.loads(json.dumps(logger)))
    return config


# The access log of the SRE kit (docs/operations.md, "Access logs"): one JSON object per
# request with what edge-cors left: the details of its own replies (`edge_cors.<kind>_<outcome>
# [.<reason>]`, other filters' details otherwise), its decision (filter state `wasm.edge_cors`),
# the request id its rejection lines carry, and Envoy's own timing in microseconds.
SRE_ACCESS_LOG_FIELDS = {
    "method": "%REQ(:METHOD)%",
    "path": "%REQ(:PATH)%",
    "status": "%RESPONSE_CODE%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "edge_cors": "%FILTER_STATE(wasm.edge_cors:PLAIN)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "duration_us": "%COMMON_DURATION(DS_RX_BEG:DS_TX_END:us)%",
}
# Preflight latency as a histogram (docs/operations.md, "Preflight latency"): Envoy's stats
# access logger records the duration of every request edge-cors answered as a preflight, by
# decision. Prometheus shows it as `envoy_edge_cors_preflight_duration_us`.
PREFLIGHT_LATENCY_LOGGER = {
    "name": "envoy.access_loggers.stats",
    "filter": {"extension_filter": {"name": "envoy.access_loggers.extension_filters.cel", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
        "expression": "response.code_details.startsWith('edge_cors.preflight')"}}},
    "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.stats.v3.Config",
        "stats_scope": {"prefix": "edge_cors"},
        "histograms": [{
            "stat": {"name": "preflight_duration_us",
                     "tags": [{"name": "edge_cors_decision", "value_format": "%FILTER_STATE(wasm.edge_cors:PLAIN)%"}]},
            "unit": "Microseconds",
            "value_format": "%COMMON_DURATION(DS_RX_BEG:DS_TX_END:us)%",
        }],
    },
}


def with_sre_access_log(config: dict, path: str) -> dict:
    """Add the SRE kit's JSON access log (SRE_ACCESS_LOG_FIELDS) to every connection manager;
    read it with processes.json_access_log (flushed asynchronously: ACCESS_LOG_FLUSH_ARGS)."""
    return with_access_logger(config, file_access_log(path, {"json_format": SRE_ACCESS_LOG_FIELDS}))


def with_preflight_latency_histogram(config: dict) -> dict:
    """Add PREFLIGHT_LATENCY_LOGGER to every connection manager."""
    return with_access_logger(config, PREFLIGHT_LATENCY_LOGGER)


def substitute(text: str, replacements: dict) -> str:
    """Replace each key of a shipped file's text, which must hold it exactly once (a file that
    changed shape fails loudly instead of running with a stale value). All keys are replaced in
    one pass, so a new value may equal another key (port 10000 -> 10001, 10001 -> 10002)."""
    for old in replacements:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"expected {old!r} exactly once in the template, found {count}")
    keys = sorted(replacements, key=len, reverse=True)
    return re.sub("|".join(map(re.escape, keys)), lambda m: replacements[m.group(0)], text)
