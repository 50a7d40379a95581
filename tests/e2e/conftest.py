"""Fixtures: a shared upstream, and an Envoy factory that dumps Envoy's log when a test fails."""
import pytest

from harness.envoy_config import edge_cors_chain, proxy_bootstrap
from harness.processes import Envoy, Upstream, free_port


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture
def start_envoy(request, upstream):
    """start_envoy(policy) -> running Envoy with edge-cors first; or start_envoy(config=dict); `extra_args`
    go to Envoy's command line."""
    started = []

    def start(policy=None, *, config=None, http_filters=None, routes=None, expect_exit=False, extra_args=None,
              **filter_kw):
        if config is None:
            filters = http_filters if http_filters is not None else edge_cors_chain(policy, **filter_kw)
            config = proxy_bootstrap(free_port(), free_port(), upstream.port, filters, routes)
        envoy = Envoy(config, extra_args=extra_args)
        started.append(envoy)
        if expect_exit:
            envoy.run_to_exit()
            return envoy
        return envoy.start()

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for envoy in started:
        envoy.stop()
        if failed:
            print(f"\n===== Envoy log ({envoy.log_path}) =====\n{envoy.log()[-20000:]}")
