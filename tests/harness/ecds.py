"""The shipped ECDS files (envoy/ecds/) for tests: the bootstrap and the resource with ports,
paths and the wasm path substituted, and the atomic install of a new policy into a watched
directory, as docs/operations.md describes it."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from . import ROOT, WASM
from .envoy_config import substitute

ECDS_DIR = ROOT / "envoy" / "ecds"
RESOURCE = "edge-cors.resource.yaml"
WASM_PATH = "filename: target/wasm32-wasip1/release/edge_cors.wasm"


def shipped_resource_text() -> str:
    """The shipped resource exactly, but for the wasm path."""
    return substitute((ECDS_DIR / RESOURCE).read_text(), {WASM_PATH: f"filename: {WASM}"})


def resource_text(config: dict | str) -> str:
    """The shipped resource with its policy replaced (a dict, or raw text) and the wasm path made
    absolute."""
    shipped = shipped_resource_text()
    head = shipped[: shipped.index("value: |\n") + len("value: |\n")]
    text = config if isinstance(config, str) else json.dumps(config, indent=2)
    return head + "".join(" " * 10 + line + "\n" for line in text.splitlines())


def install(directory: Path, config: dict | str):
    """Write the new resource beside the watched file, then rename it over it (atomic)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".next-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(resource_text(config))
    os.replace(tmp, directory / RESOURCE)


def shipped_bootstrap_text(port: int, admin: int, readiness: int, upstream: int, watched: Path) -> str:
    """envoy/ecds/envoy.yaml with its ports, its watched file and directory (both listeners) and
    the default configuration's wasm path substituted."""
    text = (ECDS_DIR / "envoy.yaml").read_text()
    resource, directory = f"path: envoy/ecds/{RESOURCE}", "watched_directory: { path: envoy/ecds }"
    assert text.count(resource) == 2 and text.count(directory) == 2
    text = text.replace(resource, f"path: {watched / RESOURCE}")
    text = text.replace(directory, f"watched_directory: {{ path: {watched} }}")
    return substitute(text, {
        "port_value: 10100": f"port_value: {port}",
        "port_value: 9911": f"port_value: {admin}",
        "port_value: 10102": f"port_value: {readiness}",
        "port_value: 10001": f"port_value: {upstream}",
        WASM_PATH: f"filename: {WASM}",
    })
