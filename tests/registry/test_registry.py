"""Registry sources (`allow_origins_from`) through Envoy, with a real HTTP registry on 127.0.0.1
(scripts/registry_server.py, its own process): the initial load, changes within one refresh, 304s, one fetch per
Envoy, and each failure leaving the last good list serving with its metric moved; then an Envoy
started while the registry is down, as docs/registry.md says it behaves.

Every wait is a readiness poll on a metric or an answer; the refresh is 1 s and the timeout
500 ms, so the module runs in about a minute.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from harness import ROOT
from harness.client import request
from harness.envoy_config import add_cluster, edge_cors_chain, proxy_bootstrap
from harness.processes import Envoy, Upstream, free_port, parse_edge_cors_metric, poll, stop_process

STATIC = "https://static.example"
FIRST = ["https://a.example", "https://*.b.example"]
MAX_BYTES = 4096
WORKERS = 2


def policy(registry_port_cluster: str = "registry", before_first_load: str = "static_only") -> dict:
    return {"policies": [{
        "name": "app",
        "allow_origins": [STATIC],
        "allow_credentials": True,
        "allow_origins_from": {"cluster": registry_port_cluster, "authority": "registry.internal",
                               "path": "/v1/origins", "refresh_seconds": 1, "timeout_ms": 500,
                               "max_bytes": MAX_BYTES, "before_first_load": before_first_load},
    }]}


class Registry:
    """scripts/registry_server.py as its own process (stopping it closes its connections, as a
    registry that goes down does), restartable on its port."""

    def __init__(self, port: int | None = None, origins=FIRST, version="v1"):
        self.port = port or free_port()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "registry_server.py"),
                                      "--port", str(self.port), "--version", version],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        poll(self._up, 10, "the registry to listen")
        self.set(origins=origins)

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"registry exited with {self.proc.returncode}")
        try:
            return self.stats() is not None
        except OSError:
            return False

    def set(self, **change):
        data = json.dumps(change).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/__control", data=data, method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__stats", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        stop_process(self.proc, 5)


def metric(envoy: Envoy, name: str) -> int:
    """Policy app's registry metric `name`: `applied`, `unchanged`, `failed.<reason>` (the
    updates counter's outcome and reason) or a gauge (`entries`, `age_seconds`, ...)."""
    outcome, _, reason = name.partition(".")
    if outcome in ("applied", "unchanged", "failed"):
        family = "edge_cors_registry_updates_total"
        labels = {"edge_cors_policy": "app", "edge_cors_outcome": outcome, "edge_cors_reason": reason or "none"}
    else:
        family, labels = f"edge_cors_registry_{name}", {"edge_cors_policy": "app"}
    for stat, value in envoy.stats().items():
        if parse_edge_cors_metric(stat) == (family, labels):
            return value
    return 0


def wait_metric_above(envoy: Envoy, name: str, before: int, timeout: float = 15) -> int:
    return poll(lambda: metric(envoy, name) > before and metric(envoy, name), timeout, f"registry.{name} > {before}")


def allowed(envoy: Envoy, origin: str) -> bool:
    return request(envoy.port, "GET", "/", {"origin": origin}).get("access-control-allow-origin") == origin


def settled(envoy: Envoy, origin: str, expected: bool, timeout: float = 10) -> None:
    """Poll until 8 requests in a row (spread over the workers' connections) answer `origin`
    as `expected`: every worker serves the same list."""
    def all_agree():
        return all(allowed(envoy, origin) == expected for _ in range(8))
    poll(all_agree, timeout, f"{origin} {'allowed' if expected else 'rejected'} on every worker", interval=0.1)


@pytest.fixture(scope="module")
def upstream():
    u = Upstream()
    yield u
    u.stop()


@pytest.fixture(scope="module")
def registry():
    r = Registry()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def envoy(upstream, registry):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain(policy()))
    add_cluster(config, "registry", registry.port)
    e = Envoy(config, concurrency=WORKERS).start()
    yield e
    e.stop()


@pytest.fixture
def recovered(envoy, registry):
    """After a failure test: the registry serves again and a fetch succeeded since."""
    yield
    registry.set(mode="ok")
    done = metric(envoy, "applied") + metric(envoy, "unchanged")
    poll(lambda: metric(envoy, "applied") + metric(envoy, "unchanged") > done, 20, "a successful fetch")


def test_the_initial_list_serves_next_to_the_configured_origins_on_every_worker(envoy):
    wait_metric_above(envoy, "applied", 0)
    settled(envoy, "https://a.example", True)
    assert allowed(envoy, "https://x.b.example"), "a wildcard entry of the registry"
    assert allowed(envoy, STATIC), "the configured origin serves next to the registry's"
    assert not allowed(envoy, "https://evil.example")
    assert not allowed(envoy, "https://b.example"), "a wildcard never covers its apex"
    assert metric(envoy, "entries") == 2
    assert metric(envoy, "loaded") == 1
    assert metric(envoy, "version") > 0


def test_one_fetch_per_refresh_serves_every_worker_of_the_envoy(envoy, registry):
    # 3 VMs (the main thread's and 2 workers') would each poll every 0.5-1 s on their own: 15 or
    # more requests in 5 s. One fetcher for the Envoy makes at most 5 / 0.5 + 1.
    before = registry.stats()["requests"]
    time.sleep(5)  # the measured window itself, not a wait for readiness
    made = registry.stats()["requests"] - before
    assert 4 <= made <= 11, f"{made} registry requests in 5 s"


def test_an_unchanged_list_is_confirmed_by_a_304_without_recompiling(envoy, registry):
    applied = metric(envoy, "applied")
    not_modified = registry.stats()["not_modified"]
    unchanged = metric(envoy, "unchanged")
    wait_metric_above(envoy, "unchanged", unchanged)
    poll(lambda: registry.stats()["not_modified"] > not_modified, 10, "a 304 from the registry")
    assert metric(envoy, "applied") == applied
    assert metric(envoy, "age_seconds") <= 2


def test_an_added_origin_is_allowed_and_a_removed_one_rejected_within_one_refresh(envoy, registry):
    applied = metric(envoy, "applied")
    version = metric(envoy, "version")
    registry.set(origins=["https://*.b.example", "https://new.example"], version="v2")
    started = time.monotonic()
    settled(envoy, "https://new.example", True, timeout=5)
    settled(envoy, "https://a.example", False, timeout=5)
    # One refresh (1 s) plus one tick (0.5 s) on the workers, and the time of the polls.
    assert time.monotonic() - started < 4
    assert metric(envoy, "applied") == applied + 1
    assert metric(envoy, "version") != version
    assert metric(envoy, "entries") == 2
    assert "applied version \"v2\": 2 entries (0 skipped)" in envoy.log()


@pytest.mark.parametrize("mode, reason", [
    ("status_500", "status"),
    ("hang", "timeout"),
    ("invalid_json", "invalid"),
    ("oversized", "too_large"),
    ("star", "dangerous"),
])
def test_a_failed_update_leaves_the_last_good_list_serving_and_counts_its_reason(envoy, registry, recovered,
                                                                                  mode, reason):
    settled(envoy, "https://new.example", True)
    version = metric(envoy, "version")
    failed = metric(envoy, f"failed.{reason}")
    registry.set(mode=mode, oversized_bytes=2 * MAX_BYTES, origins=["https://*.b.example", "https://new.example",
                                                                     "https://other.example"], version="v3")
    wait_metric_above(envoy, f"failed.{reason}", failed)
    assert allowed(envoy, "https://new.example"), "the last good list still serves"
    assert not allowed(envoy, "https://other.example"), "nothing of the refused update serves"
    assert metric(envoy, "version") == version
    assert metric(envoy, "loaded") == 1
    assert f"update failed ({reason})" in envoy.log()
    # Back to the list of the test before, so the next case starts from it.
    registry.set(origins=["https://*.b.example", "https://new.example"], version="v2")


def test_a_stopped_registry_leaves_the_last_good_list_serving_until_it_answers_again(envoy, registry, upstream):
    settled(envoy, "https://new.example", True)
    unreachable = metric(envoy, "failed.unreachable")
    port = registry.port
    registry.stop()
    try:
        wait_metric_above(envoy, "failed.unreachable", unreachable)
        assert allowed(envoy, "https://new.example")
        assert "update failed (unreachable)" in envoy.log()
    finally:
        registry.__init__(port, ["https://back.example"], "v4")
    settled(envoy, "https://back.example", True, timeout=20)
    settled(envoy, "https://new.example", False)


@pytest.mark.parametrize("before_first_load", ["static_only", "reject_all"])
def test_an_envoy_started_while_the_registry_is_down_serves_as_before_first_load_says(upstream, before_first_load):
    port = free_port()
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain(policy(before_first_load=before_first_load)))
    add_cluster(config, "registry", port)
    envoy = Envoy(config, concurrency=1).start()
    registry = None
    try:
        wait_metric_above(envoy, "failed.unreachable", 0)
        assert not allowed(envoy, "https://a.example")
        assert allowed(envoy, STATIC) == (before_first_load == "static_only")
        assert metric(envoy, "loaded") == 0
        assert "no list loaded yet" in envoy.log()
        registry = Registry(port)
        # After one or two failures the next attempt comes within 2-4 s.
        settled(envoy, "https://a.example", True, timeout=20)
        assert allowed(envoy, STATIC)
        assert metric(envoy, "loaded") == 1
    finally:
        envoy.stop()
        if registry:
            registry.stop()
