"""The `stats_config` Istio's bootstrap gives every proxy, written out for an Envoy test.

Read from istio/istio: tools/packaging/common/envoy_bootstrap.json (the tag rules, one per
`meshConfig.defaultConfig.extraStatTags` entry in the form `(TAG=\\.=(.*?);\\.;)`, and the
inclusion list) and pkg/bootstrap/config.go (the inclusion prefixes, suffixes and regex every
proxy gets). `use_all_default_tags` is false there: Envoy's own default tag rules do not run.
"""
from __future__ import annotations

# The tag rules of the template before and after the extraStatTags ones, in its order.
_BEFORE = [
    ("cluster_name", r"^cluster\.((.+?(\..+?\.svc\.cluster\.local)?)\.)"),
    ("tcp_prefix", r"^tcp\.((.*?)\.)\w+?$"),
    ("response_code", r"_rq(_(\d{3}))$"),
    ("response_code_class", r"_rq(_(\dxx))$"),
    ("http_conn_manager_listener_prefix",
     r"^listener(?=\.).*?\.http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"),
    ("http_conn_manager_prefix", r"^http\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"),
    ("listener_address", r"^listener\.(((?:[_.[:digit:]]*|[_\[\]aAbBcCdDeEfF[:digit:]]*))\.)"),
    ("mongo_prefix", r"^mongo\.(.+?)\.(collection|cmd|cx_|op_|delays_|decoding_)(.*?)$"),
]
_AFTER = [
    ("cache", r"(cache\.(.+?)\.)"),
    ("component", r"(component\.(.+?)\.)"),
    ("tag", r"(tag\.(.+?);\.)"),
    ("wasm_filter", r"(wasm_filter\.(.+?)\.)"),
    ("authz_enforce_result", r"rbac(\.(allowed|denied))"),
    ("authz_dry_run_action", r"(\.istio_dry_run_(allow|deny)_)"),
    ("authz_dry_run_result", r"(\.shadow_(allowed|denied))"),
]
# pkg/bootstrap/config.go: requiredEnvoyStatsMatcherInclusionPrefixes (readiness checks) and the
# template's own `reporter=`, `component` and `istio`; the RBAC suffixes; the route regex.
REQUIRED_PREFIXES = ["cluster_manager", "listener_manager", "server", "cluster.xds-grpc", "wasm"]
_SUFFIXES = ["rbac.allowed", "rbac.denied", "shadow_allowed", "shadow_denied"]
_REGEXES = [r"vhost\..*\.route\..*"]


def extra_stat_tag_rule(tag: str) -> dict:
    return {"tag_name": tag, "regex": f"({tag}=\\.=(.*?);\\.;)"}


def stats_config(extra_stat_tags, inclusion_prefixes=(), required_prefixes=tuple(REQUIRED_PREFIXES)) -> dict:
    """Istio's stats_config for a proxy with these `extraStatTags` and `proxyStatsMatcher`
    inclusion prefixes; `required_prefixes` are the ones Istio always adds (older releases did
    not add `wasm`)."""
    rules = [{"tag_name": n, "regex": r} for n, r in _BEFORE]
    rules += [extra_stat_tag_rule(t) for t in extra_stat_tags]
    rules += [{"tag_name": n, "regex": r} for n, r in _AFTER]
    prefixes = ["reporter=", *inclusion_prefixes, *required_prefixes, "component", "istio"]
    patterns = [{"prefix": p} for p in prefixes] + [{"suffix": s} for s in _SUFFIXES]
    patterns += [{"safe_regex": {"regex": r}} for r in _REGEXES]
    return {"use_all_default_tags": False, "stats_tags": rules, "stats_matcher": {"inclusion_list": {"patterns": patterns}}}
