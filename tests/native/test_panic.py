"""A panic inside the native module is contained: that request gets a 500, Envoy lives on, and
the next requests are answered as before.

A dynamic module shares Envoy's process, so a panic that unwound out of a hook (or a module built
with `panic = "abort"`) would end Envoy, every connection with it. The module built with the
`test-panic` feature (scripts/lib.sh build_native_test_panic, path in EDGE_CORS_NATIVE_TEST_PANIC)
panics in its request hook when a request carries `x-edge-cors-test-panic`.
"""
import os

import pytest

from harness.client import request
from harness.envoy_config import ROUTER, dynamic_module_filter, proxy_bootstrap, route_to
from harness.processes import Envoy, edge_cors_stats, free_port

TEST_PANIC = os.environ.get("EDGE_CORS_NATIVE_TEST_PANIC")
POLICY = {"policies": [{"name": "app", "allow_origins": ["https://app.example.com"], "allow_methods": ["PUT"]}]}
APP = [("origin", "https://app.example.com")]

pytestmark = pytest.mark.skipif(not TEST_PANIC, reason="EDGE_CORS_NATIVE_TEST_PANIC is not set (scripts/suites/55-native.sh sets it)")


@pytest.fixture
def envoy(upstream):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port,
                             [dynamic_module_filter(POLICY, module=TEST_PANIC), ROUTER], [route_to()])
    e = Envoy(config).start()
    yield e
    e.stop()


def test_a_panic_answers_that_request_500_and_envoy_serves_the_next_ones(envoy, upstream):
    before = upstream.total()
    assert request(envoy.port, "GET", "/", APP).get("access-control-allow-origin") == "https://app.example.com"
    panicked = request(envoy.port, "GET", "/", APP + [("x-edge-cors-test-panic", "1")])
    assert panicked.status == 500
    assert panicked.get("access-control-allow-origin") is None
    assert upstream.total() == before + 1, "the panicking request must not reach the upstream"
    # The same process, the same filter configuration: later requests are answered as before.
    for _ in range(3):
        ok = request(envoy.port, "GET", "/", APP)
        assert ok.status == 200 and ok.get("access-control-allow-origin") == "https://app.example.com"
    preflight = request(envoy.port, "OPTIONS", "/", APP + [("access-control-request-method", "PUT")])
    assert preflight.status == 204
    assert envoy.proc.poll() is None, "Envoy exited"
    log = envoy.log()
    assert "edge-cors: panic caught in the request_headers hook, answered fail-closed: " \
           "x-edge-cors-test-panic header present" in log
    assert "Caught Aborted" not in log
    assert edge_cors_stats(envoy)["requests/app/enforce/actual/allowed/none"] == 4
    assert edge_cors_stats(envoy)["requests/app/enforce/preflight/allowed/none"] == 1


def test_panics_on_many_requests_in_a_row_leave_envoy_serving(envoy):
    for _ in range(50):
        assert request(envoy.port, "GET", "/", APP + [("x-edge-cors-test-panic", "1")]).status == 500
    assert request(envoy.port, "GET", "/", APP).get("access-control-allow-origin") == "https://app.example.com"
    assert envoy.log().count("panic caught in the request_headers hook") == 50
