"""The signals the SRE kit is built on, through a real Envoy and edge_cors.wasm: labels under
the shipped tag rules and under Istio's, the access-log details of edge-cors's own replies, the
decision in the filter state, preflight latency from Envoy's timing, credentialed requests,
and the configuration's identity."""
import hashlib
import json
import re

from harness.client import request
import time

from harness.envoy_config import (ACCESS_LOG_FLUSH_ARGS, EDGE_CORS_LABELS, ROUTER, edge_cors_chain, proxy_bootstrap,
                                  route_to, wasm_filter, with_edge_cors_stats_tags, with_preflight_latency_histogram,
                                  with_sre_access_log)
from harness.processes import (Envoy, edge_cors_gauges, edge_cors_log_lines, edge_cors_stats, free_port,
                               json_access_log, nonzero, poll, prometheus_samples, sample)

from sre import istio

PREFLIGHT_LATENCY_HISTOGRAM = "envoy_edge_cors_preflight_duration_us"

APP = {"name": "app", "match": {"path_prefixes": ["/api/"]}, "allow_origins": ["https://app.example.com"],
       "allow_methods": ["PUT"], "allow_credentials": True,
       "reject_disallowed": {"unsafe_methods": True}}
PUBLIC = {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"]}
ALL_METHODS = [route_to()]


def preflight(envoy, origin, path="/api/items", method="PUT"):
    return request(envoy.port, "OPTIONS", path, [("origin", origin), ("access-control-request-method", method)])


def requests_sample(prom, policy, mode, kind, outcome, reason):
    return sample(prom, "edge_cors_requests_total", edge_cors_policy=policy, edge_cors_mode=mode, edge_cors_kind=kind,
                  edge_cors_outcome=outcome, edge_cors_reason=reason)


def drive_the_small_mix(envoy):
    """An allowed preflight, a rejected one, a credentialed GET and a request no policy matches."""
    assert preflight(envoy, "https://app.example.com").status == 204
    assert preflight(envoy, "https://evil.example").status == 403
    assert request(envoy.port, "GET", "/api/items", [("origin", "https://app.example.com"), ("cookie", "s=1")]).status == 200
    assert request(envoy.port, "GET", "/elsewhere").status == 200


def test_istios_tag_rules_for_the_extra_stat_tags_turn_every_name_into_labels(start_envoy, upstream):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain({"policies": [APP]}))
    config["stats_config"] = istio.stats_config(EDGE_CORS_LABELS)
    envoy = start_envoy(config=config)
    drive_the_small_mix(envoy)
    prom = prometheus_samples(envoy.admin("/stats/prometheus"))
    assert requests_sample(prom, "app", "enforce", "preflight", "allowed", "none") == 1
    assert requests_sample(prom, "app", "enforce", "preflight", "rejected", "origin") == 1
    assert requests_sample(prom, "app", "enforce", "actual", "allowed", "none") == 1
    assert sample(prom, "edge_cors_credentialed_requests_total", edge_cors_policy="app", edge_cors_mode="enforce",
                  edge_cors_outcome="allowed") == 1
    assert sample(prom, "edge_cors_unmatched_requests_total") == 1
    # Istio's inclusion list keeps them through its `wasm` prefix (which `wasmcustom.` starts with).
    names = {name for name, _ in prom if name.startswith("edge_cors")}
    assert {"edge_cors_requests_total", "edge_cors_config_loaded_timestamp_milliseconds",
            "edge_cors_vm_memory_bytes"} <= names
    # Envoy's wasm runtime stats, which the VM alert reads, pass Istio's inclusion list too.
    assert any(name.startswith("envoy_wasm_") for name, _ in prom), sorted(n for n, _ in prom)[:20]


def test_without_the_extra_stat_tags_istio_shows_flat_names_and_an_older_inclusion_list_hides_them(start_envoy, upstream):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain({"policies": [APP]}))
    config["stats_config"] = istio.stats_config([])
    envoy = start_envoy(config=config)
    drive_the_small_mix(envoy)
    text = envoy.admin("/stats/prometheus")
    flat = [line for line in text.splitlines() if line.startswith("edge_cors_policy")]
    assert flat and all("{}" in line for line in flat), flat[:3]
    # An Istio whose required prefixes lack `wasm` drops the metrics, unless the proxy's
    # proxyStatsMatcher includes them (docs/operations.md, "Labels in Istio").
    required = [p for p in istio.REQUIRED_PREFIXES if p != "wasm"]
    for extra, present in (([], False), (["wasmcustom.edge_cors_"], True)):
        config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain({"policies": [APP]}))
        config["stats_config"] = istio.stats_config(EDGE_CORS_LABELS, extra, required)
        other = start_envoy(config=config)
        drive_the_small_mix(other)
        prom = prometheus_samples(other.admin("/stats/prometheus"))
        assert (requests_sample(prom, "app", "enforce", "preflight", "allowed", "none") == 1) == present, extra


def test_edge_cors_replies_name_it_and_the_reason_in_the_access_log_and_every_decision_is_in_the_filter_state(
        start_envoy, upstream, tmp_path):
    log = tmp_path / "access.log"
    config = with_sre_access_log(proxy_bootstrap(free_port(), free_port(), upstream.port,
                                                 edge_cors_chain({"policies": [APP, PUBLIC]}), ALL_METHODS), str(log))
    envoy = start_envoy(config=config, extra_args=ACCESS_LOG_FLUSH_ARGS)
    app = [("origin", "https://app.example.com")]
    assert preflight(envoy, "https://app.example.com").status == 204
    assert preflight(envoy, "https://evil.example").status == 403
    assert request(envoy.port, "POST", "/api/items", [("origin", "https://evil.example")]).status == 403
    # An RBAC deny after edge-cors: a 403 too, told apart by its details.
    assert request(envoy.port, "GET", "/api/admin/users", app).status == 403
    assert request(envoy.port, "GET", "/api/items", app).status == 200
    assert request(envoy.port, "GET", "/elsewhere").status == 200
    entries = poll(lambda: (e := json_access_log(str(log))) and len(e) == 6 and e, 10, "six access log entries")
    assert [(e["status"], e["details"]) for e in entries] == [
        (204, "edge_cors.preflight_allowed"),
        (403, "edge_cors.preflight_rejected.origin"),
        (403, "edge_cors.actual_blocked.unsafe_method"),
        (403, "rbac_access_denied_matched_policy[deny]"),
        (200, "via_upstream"),
        (200, "via_upstream"),
    ]
    assert [e["edge_cors"] for e in entries] == [
        "policy=app; mode=enforce; kind=preflight; outcome=allowed; reason=none",
        "policy=app; mode=enforce; kind=preflight; outcome=rejected; reason=origin",
        "policy=app; mode=enforce; kind=actual; outcome=blocked; reason=unsafe_method",
        "policy=app; mode=enforce; kind=actual; outcome=allowed; reason=none",
        "policy=app; mode=enforce; kind=actual; outcome=allowed; reason=none",
        None,  # no policy matched: nothing set
    ]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", e["request_id"]) for e in entries)


def test_preflight_latency_comes_from_envoys_timing_in_the_access_log_and_a_histogram(start_envoy, upstream, tmp_path):
    log = tmp_path / "access.log"
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain({"policies": [APP]}))
    config = with_preflight_latency_histogram(with_sre_access_log(config, str(log)))
    config["stats_flush_interval"] = "1s"
    envoy = start_envoy(config=config, extra_args=ACCESS_LOG_FLUSH_ARGS)
    for _ in range(3):
        assert preflight(envoy, "https://app.example.com").status == 204
    assert preflight(envoy, "https://app.example.com", method="PATCH").status == 403
    assert request(envoy.port, "GET", "/api/items", [("origin", "https://app.example.com")]).status == 200
    # The access log's duration field, in microseconds, for the requests edge-cors answered.
    entries = poll(lambda: (e := json_access_log(str(log))) and len(e) == 5 and e, 10, "five access log entries")
    answered = [e for e in entries if e["details"].startswith("edge_cors.preflight")]
    assert len(answered) == 4
    for e in answered:
        assert isinstance(e["duration_us"], int) and 0 < e["duration_us"] < 5_000_000, e
    # The histogram (envoy.access_loggers.stats), one series per decision, only preflights.
    def counts():
        prom = prometheus_samples(envoy.admin("/stats/prometheus"))
        return {dict(labels)["edge_cors_decision"]: v for (name, labels), v in prom.items()
                if name == PREFLIGHT_LATENCY_HISTOGRAM + "_count"}
    poll(lambda: sum(counts().values()) == 4, 20, "the histogram to count the 4 preflights")
    assert counts() == {
        "policy=app; mode=enforce; kind=preflight; outcome=allowed; reason=none": 3,
        "policy=app; mode=enforce; kind=preflight; outcome=rejected; reason=method": 1,
    }


def test_credentialed_requests_count_apart_by_whether_the_browser_will_accept_them(start_envoy, upstream):
    no_credentials = dict(PUBLIC, name="nocred", match={"path_prefixes": ["/nocred/"]},
                          allow_origins=["https://app.example.com"])
    envoy = start_envoy({"policies": [APP, dict(PUBLIC), no_credentials]}, routes=ALL_METHODS)
    cookie = ("cookie", "session=1")
    for path, origin in (("/api/items", "https://app.example.com"), ("/api/items", "https://evil.example"),
                         ("/public/x", "https://anyone.example"), ("/nocred/x", "https://app.example.com")):
        assert request(envoy.port, "GET", path, [("origin", origin), cookie]).status == 200
    assert request(envoy.port, "GET", "/api/items", [("origin", "https://app.example.com")]).status == 200
    assert request(envoy.port, "GET", "/api/items", [cookie]).status == 200  # no Origin: not CORS
    credentialed = {k: v for k, v in nonzero(edge_cors_stats(envoy)).items() if k.startswith("credentialed")}
    assert credentialed == {
        "credentialed_requests/app/enforce/allowed": 1,
        "credentialed_requests/app/enforce/rejected": 1,
        # `*` and a policy without allow_credentials: the browser refuses a credentialed answer.
        "credentialed_requests/public/enforce/credentials_not_allowed": 1,
        "credentialed_requests/nocred/enforce/credentials_not_allowed": 1,
    }


def test_the_configuration_identity_is_the_sha256_of_the_bytes_envoy_hands_over_and_its_version(start_envoy):
    text = json.dumps({"version": "2026-12-01.2", "policies": [PUBLIC]}, indent=1)
    envoy = start_envoy(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    line = poll(lambda: edge_cors_log_lines(envoy, "configured "), 10, "the load line")[0]
    assert line.endswith(f", config sha256={digest} version=2026-12-01.2"), line
    gauges = edge_cors_gauges(envoy)
    key = ("edge_cors_config_loaded_timestamp_milliseconds",
           (("edge_cors_config_sha256", digest), ("edge_cors_config_version", "2026-12-01.2")))
    loaded_ms = gauges[key]
    assert abs(loaded_ms / 1000 - time.time()) < 120


def test_policies_named_like_label_values_are_counted_under_their_own_label(upstream):
    names = ["report_only", "no_policy", "enforce", "none"]
    policies = [dict(PUBLIC, name=n, match={"path_prefixes": [f"/{n}/"]}) for n in names]
    config = with_edge_cors_stats_tags(proxy_bootstrap(
        free_port(), free_port(), upstream.port, [wasm_filter({"policies": policies}), ROUTER]))
    envoy = Envoy(config).start()
    try:
        for i, n in enumerate(names):
            for _ in range(i + 1):
                assert request(envoy.port, "GET", f"/{n}/x", [("origin", "https://a.example")]).status == 200
        prom = prometheus_samples(envoy.admin("/stats/prometheus"))
        for i, n in enumerate(names):
            assert requests_sample(prom, n, "enforce", "actual", "allowed", "none") == i + 1, n
            assert requests_sample(prom, n, "report_only", "actual", "allowed", "none") == 0, n
        assert sample(prom, "edge_cors_unmatched_requests_total") == 0
    finally:
        envoy.stop()
