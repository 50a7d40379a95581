"""Hot reload through ECDS from a watched file (envoy/ecds/): the shipped bootstrap and resource,
with ports and paths substituted, in one Envoy process that is never restarted. The shipped
files configure the wasm filter; the native module's ECDS reload is tested in
tests/native/test_config.py."""
import pytest

from harness import HOST
from harness.client import request
from harness.ecds import install, shipped_bootstrap_text, shipped_resource_text
from harness.processes import Envoy, edge_cors_stats, free_port, poll, prometheus_samples, sample

pytestmark = pytest.mark.skipif(HOST != "wasm", reason="envoy/ecds/ configures the wasm filter")

STAT = "extension_config_discovery.http_filter.edge-cors."


def policy(*origins, credentials=True):
    return {"policies": [{"name": "app", "match": {"path_prefixes": ["/api/"]}, "allow_origins": list(origins),
                          "allow_methods": ["PUT"], "allow_credentials": credentials}]}


def preflight_status(envoy, origin):
    return request(envoy.port, "OPTIONS", "/api/items",
                   [("origin", origin), ("access-control-request-method", "PUT")]).status


@pytest.fixture
def ecds_envoy(upstream, tmp_path, request):
    watched = tmp_path / "ecds"
    watched.mkdir()
    if getattr(request, "param", None) == "shipped":
        (watched / "edge-cors.resource.yaml").write_text(shipped_resource_text())
    else:
        install(watched, policy("https://app.example.com"))
    port, admin = free_port(), free_port()
    text = shipped_bootstrap_text(port, admin, free_port(), upstream.port, watched)
    envoy = Envoy(text, tmp_path, admin_port=admin, port=port)
    envoy.start()
    yield envoy, watched
    envoy.stop()


def test_a_policy_change_is_picked_up_without_restart_and_an_invalid_one_is_refused_while_the_old_keeps_serving(ecds_envoy):
    envoy, watched = ecds_envoy
    pid = envoy.proc.pid
    assert envoy.stats()[STAT + "update_success"] == 1
    assert preflight_status(envoy, "https://app.example.com") == 204
    assert preflight_status(envoy, "https://new.example.com") == 403

    install(watched, policy("https://app.example.com", "https://new.example.com"))
    polled = []  # every status seen while waiting: 403 until the reload, then 204
    poll(lambda: polled.append(preflight_status(envoy, "https://new.example.com")) or polled[-1] == 204, 30,
         "the new policy to serve")
    assert set(polled[:-1]) <= {403} and polled[-1] == 204
    stats = envoy.stats()
    assert stats[STAT + "update_success"] == 2
    assert stats[STAT + "update_rejected"] == 0
    assert envoy.proc.pid == pid and envoy.proc.poll() is None  # the same process, never restarted

    # `*` with credentials is refused by edge-cors's on_configure: Envoy rejects the update.
    install(watched, policy("*"))
    poll(lambda: envoy.stats()[STAT + "update_rejected"] == 1, 30, "the update to be rejected")
    assert "`*` cannot be combined with allow_credentials" in envoy.log()
    # The previous policy keeps serving, in the same process.
    assert preflight_status(envoy, "https://new.example.com") == 204
    assert preflight_status(envoy, "https://other.example.com") == 403
    assert envoy.stats()[STAT + "update_success"] == 2
    assert envoy.proc.pid == pid and envoy.proc.poll() is None
    # Counters survive reloads: one name, one counter, whichever policy version counted.
    counters = edge_cors_stats(envoy)
    assert counters["requests/app/enforce/preflight/allowed/none"] == 3
    assert counters["requests/app/enforce/preflight/rejected/origin"] == 2 + len(polled) - 1


@pytest.mark.parametrize("ecds_envoy", ["shipped"], indirect=True)
def test_the_shipped_bootstrap_and_policy_serve_as_documented(ecds_envoy):
    envoy, _ = ecds_envoy
    assert envoy.stats()[STAT + "update_success"] == 1
    assert preflight_status(envoy, "https://app.example.com") == 204
    assert preflight_status(envoy, "https://evil.example") == 403
    # reject_disallowed is on in the shipped policy: an unsafe request from a rejected origin
    # never reaches the upstream; a safe one does, without CORS headers.
    assert request(envoy.port, "POST", "/api/items", [("origin", "https://evil.example")]).status == 403
    r = request(envoy.port, "GET", "/api/items", [("origin", "https://evil.example")])
    assert r.status == 200 and r.cors() == {}
    # The shipped tag rules make every label a Prometheus label.
    prom = prometheus_samples(envoy.admin("/stats/prometheus"))
    assert sample(prom, "edge_cors_requests_total", edge_cors_policy="app", edge_cors_mode="enforce",
                  edge_cors_kind="actual", edge_cors_outcome="blocked", edge_cors_reason="unsafe_method") == 1
    assert sample(prom, "edge_cors_requests_total", edge_cors_policy="app", edge_cors_mode="enforce",
                  edge_cors_kind="preflight", edge_cors_outcome="rejected", edge_cors_reason="origin") == 1
