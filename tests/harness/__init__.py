"""The edge-cors test harness: the one place that builds Envoy configurations and runs Envoy.

- `harness.envoy_config`: bootstraps, listeners, HTTP connection managers (with the path and
  host normalization of every shipped config), the edge-cors filter on either host (the wasm
  module or the native dynamic module: `edge_cors_filter`, chosen by EDGE_CORS_HOST), Envoy's
  own CORS filter, routes, clusters, stats tags, access logs; edits of a shipped YAML file.
- `harness.processes`: Envoy (start with a readiness poll, stop, admin and stats readers),
  the loopback upstreams, free ports, polling.
- `harness.client`: HTTP/1.1 requests with exact headers, raw request heads, WebSocket frames.

Used by the end-to-end tests (tests/e2e), the browser, differential, scanner and Istio suites,
the benchmark (scripts/bench), the soak (scripts/soak) and the demo (scripts/demo.py). It needs
only the Python standard library: the demo runs it from a venv that holds Envoy alone.
Callers put tests/ on sys.path (tests/pytest.ini does it for pytest).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _shared_dir() -> Path:
    """The `shared/` folder of CRDs beside the checkout (EDGE_CORS_SHARED overrides): beside this
    clone, beside a worktree one level deeper, or beside the local repository this one was
    cloned from (a clone in a temporary folder)."""
    if os.environ.get("EDGE_CORS_SHARED"):
        return Path(os.environ["EDGE_CORS_SHARED"])
    candidates = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    try:
        import subprocess
        origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        if origin and Path(origin).is_dir():
            candidates.append(Path(origin).resolve().parent / "shared")
    except (OSError, subprocess.SubprocessError):
        pass
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED = _shared_dir()
ENVOY_BIN = os.environ.get("ENVOY_BIN") or str(ROOT / ".venv" / "bin" / "envoy")
WASM = os.environ.get("EDGE_CORS_WASM") or str(ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm")
# The native host: the Envoy dynamic module `scripts/build.sh --native` builds.
NATIVE = os.environ.get("EDGE_CORS_NATIVE") or str(ROOT / "target" / "release" / "libedge_cors_native.so")
# Which host the suites run edge-cors on: "wasm" (proxy-wasm, the default) or "native" (the
# dynamic module). The same tests run against both (scripts/suites/*-native.sh set it).
HOSTS = ("wasm", "native")
HOST = os.environ.get("EDGE_CORS_HOST", "wasm")
if HOST not in HOSTS:
    raise ValueError(f"EDGE_CORS_HOST={HOST!r}: expected one of {', '.join(HOSTS)}")
