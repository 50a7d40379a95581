"""Fixtures of the platform chains: the backend, the ext_authz service, the JWT issuer, the
server Envoy Gateway's Wasm code is fetched from, and an Envoy factory that prints Envoy's log when
a test fails."""
from __future__ import annotations

import hashlib
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import WASM  # noqa: E402
from harness.processes import Envoy, RecordingUpstream, free_port  # noqa: E402
from services import ExtAuthzService, JwtIssuer  # noqa: E402


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def backend():
    """The upstream service: records every request that reaches it."""
    b = RecordingUpstream()
    yield b
    b.server.shutdown()
    b.server.server_close()


@pytest.fixture
def authz():
    a = ExtAuthzService()
    yield a
    a.stop()


@pytest.fixture(scope="session")
def issuer():
    return JwtIssuer()


class ModuleServer:
    """Serves the wasm module over HTTP, as Envoy Gateway serves the modules it pulled."""

    def __init__(self):
        wasm = Path(WASM)
        handler = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), partial(handler, directory=str(wasm.parent)))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/{wasm.name}"
        self.sha256 = hashlib.sha256(wasm.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def module_server():
    m = ModuleServer()
    yield m
    m.server.shutdown()
    m.server.server_close()


@pytest.fixture
def start_envoy(request):
    """start_envoy(bootstrap) -> a running Envoy; its log is printed if the test fails."""
    started = []

    def start(config: dict, timeout: float = 120) -> Envoy:
        envoy = Envoy(config)
        started.append(envoy)
        return envoy.start(timeout)

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for envoy in started:
        envoy.stop()
        if failed:
            print(f"\n===== Envoy log ({envoy.log_path}) =====\n{envoy.log()[-20000:]}")
