"""Cold start through ECDS with a policy edge-cors refuses: Envoy goes LIVE anyway and, without a
default configuration, answers every request 500. The shipped envoy/ecds/envoy.yaml instead serves
a strict default policy and keeps its readiness listener failing until a valid policy arrives.
For an xDS server (what a control plane uses), `initial_fetch_timeout` bounds the wait for the
first configuration."""
from __future__ import annotations

import json
import time
import urllib.error

import pytest

from harness.client import request
from harness.ecds import install, shipped_bootstrap_text
from harness.envoy_config import ROUTER, bootstrap, http_listener, route_config, route_to, static_cluster, \
    virtual_host, wasm_filter
from harness.processes import Envoy, edge_cors_log_lines, free_port, poll, port_in_use

STAT = "extension_config_discovery.http_filter.edge-cors."
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
APP = "https://app.example.com"
GOOD = {"policies": [{"name": "app", "allow_origins": [APP], "allow_methods": ["PUT"]}]}
REFUSED = {"policies": [{"name": "app", "allow_origins": ["*"], "allow_credentials": True}]}
STRICT_DEFAULT = {"policies": [{"name": "cold-start-default", "allow_origins": ["https://www.example.com"],
                                "reject_disallowed": {"unsafe_methods": True, "websocket": True}}]}


def preflight(envoy_port: int):
    return request(envoy_port, "OPTIONS", "/api/items", [("origin", APP), ("access-control-request-method", "PUT")])


def server_state(envoy: Envoy) -> str:
    return json.loads(envoy.admin("/server_info"))["state"]


def readiness(port: int) -> int:
    return request(port, "GET", "/edge-cors-ready").status


@pytest.fixture
def shipped(start_envoy, backend, tmp_path):
    """shipped(policy) -> (Envoy running envoy/ecds/envoy.yaml with `policy` in its watched file,
    the readiness port, the watched directory). Every Envoy it starts is stopped afterwards."""
    started = []

    def start(policy):
        watched = tmp_path / "ecds"
        watched.mkdir()
        install(watched, policy)
        port, admin, ready = free_port(), free_port(), free_port()
        envoy = Envoy(shipped_bootstrap_text(port, admin, ready, backend.port, watched), tmp_path,
                      admin_port=admin, port=port)
        started.append(envoy)
        envoy.start(120)
        return envoy, ready, watched
    yield start
    for envoy in started:
        envoy.stop()


def test_without_a_default_config_a_refused_policy_at_startup_leaves_envoy_live_answering_500(start_envoy, backend, tmp_path):
    watched = tmp_path / "ecds"
    watched.mkdir()
    install(watched, REFUSED)
    source = {"resource_api_version": "V3", "path_config_source": {
        "path": str(watched / "edge-cors.resource.yaml"), "watched_directory": {"path": str(watched)}}}
    ecds = {"name": "edge-cors", "config_discovery": {"config_source": source, "type_urls": [WASM_TYPE]}}
    listener = http_listener("main", free_port(), "main", route_config([virtual_host([route_to("backend")])]), [ecds, ROUTER])
    envoy = start_envoy(bootstrap(free_port(), [listener], [static_cluster("backend", backend.port)]))
    assert server_state(envoy) == "LIVE"  # /ready answered 200: the failure is invisible to probes
    assert preflight(envoy.port).status == 500
    assert request(envoy.port, "GET", "/api/items", [("origin", APP)]).status == 500
    assert backend.requests == []
    stats = envoy.stats()
    assert (stats[STAT + "update_rejected"], stats[STAT + "update_success"]) == (1, 0)
    assert "`*` cannot be combined with allow_credentials" in envoy.log()


def test_with_the_shipped_settings_a_refused_policy_serves_the_strict_default_and_readiness_fails_until_fixed(
        shipped, backend):
    envoy, ready, watched = shipped(REFUSED)
    assert server_state(envoy) == "LIVE"
    # The gateway listener: the default policy, no 500. No cross-origin access for anyone...
    r = preflight(envoy.port)
    assert (r.status, r.cors()) == (403, {})
    # ...unsafe requests from other origins refused, the rest forwarded without CORS headers.
    assert request(envoy.port, "PUT", "/api/items", [("origin", APP)]).status == 403
    r = request(envoy.port, "GET", "/api/items", [("origin", APP)])
    assert (r.status, r.cors()) == (200, {}) and len(backend.requests) == 1
    # The readiness listener fails: the probe keeps this instance out of rotation.
    assert readiness(ready) == 500
    stats = envoy.stats()
    assert (stats[STAT + "update_rejected"], stats[STAT + "update_success"]) == (1, 0)
    assert any("cold-start-default" in line for line in edge_cors_log_lines(envoy, "configured "))

    # The fix, installed atomically: both listeners switch, in the same process.
    install(watched, GOOD)
    poll(lambda: readiness(ready) == 200, 30, "the readiness listener to pass")
    r = preflight(envoy.port)
    assert (r.status, r.get("access-control-allow-origin")) == (204, APP)
    assert envoy.stats()[STAT + "update_success"] == 1

    # A refused update later keeps the last accepted policy, and readiness stays up.
    install(watched, REFUSED)
    poll(lambda: envoy.stats()[STAT + "update_rejected"] == 2, 30, "the update to be refused")
    assert readiness(ready) == 200 and preflight(envoy.port).status == 204


def test_with_the_shipped_settings_a_valid_policy_at_startup_is_ready_at_once(shipped):
    envoy, ready, _ = shipped(GOOD)
    assert readiness(ready) == 200 and preflight(envoy.port).status == 204


def xds_bootstrap(ift: str, default: dict | None, dead_port: int, backend_port: int) -> dict:
    """edge-cors from an xDS (gRPC) server at `dead_port`, where nothing answers."""
    source = {"resource_api_version": "V3", "initial_fetch_timeout": ift, "api_config_source": {
        "api_type": "GRPC", "transport_api_version": "V3", "grpc_services": [{"envoy_grpc": {"cluster_name": "xds"}}]}}
    ecds = {"name": "edge-cors", "config_discovery": {"config_source": source, "type_urls": [WASM_TYPE]}}
    if default:
        ecds["config_discovery"]["default_config"] = wasm_filter(default)["typed_config"]
    xds = static_cluster("xds", dead_port)
    xds["typed_extension_protocol_options"] = {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http2_protocol_options": {}}}}
    listener = http_listener("main", free_port(), "main", route_config([virtual_host([route_to("backend")])]), [ecds, ROUTER])
    return bootstrap(free_port(), [listener], [static_cluster("backend", backend_port), xds])


@pytest.mark.parametrize("default,status", [(None, 500), (STRICT_DEFAULT, 403)], ids=["no-default", "strict-default"])
def test_from_an_xds_server_that_never_answers_the_listener_waits_initial_fetch_timeout_then_uses_the_default(
        start_envoy, backend, default, status):
    started = time.monotonic()
    envoy = start_envoy(xds_bootstrap("2s", default, free_port(), backend.port))
    assert time.monotonic() - started >= 2  # warming held the listener for the timeout
    assert envoy.stats()[STAT + "init_fetch_timeout"] == 1
    assert preflight(envoy.port).status == status


def test_with_initial_fetch_timeout_zero_envoy_stays_unready_until_the_xds_server_answers(backend):
    envoy = Envoy(xds_bootstrap("0s", None, free_port(), backend.port)).launch()
    try:
        def admin_state():
            try:
                return server_state(envoy)
            except OSError:  # the admin listener is not up yet
                return None

        assert poll(admin_state, 60, "the admin interface") == "INITIALIZING"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with pytest.raises(urllib.error.HTTPError) as refused:
                envoy.admin("/ready")
            assert refused.value.code == 503
            time.sleep(0.5)
        assert server_state(envoy) == "INITIALIZING" and not port_in_use(envoy.port)
    finally:
        envoy.stop()
