#!/usr/bin/env python3
"""The Envoy bootstrap of scripts/soak.sh: edge-cors first, then the router, whose routes are
direct responses naming the route (scripts/soak/mix.lua classifies every answer by them).

Usage: soak_config.py OUT.json LISTENER_PORT ADMIN_PORT WASM
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

# The listener (with the path and host normalization of every shipped config) and the filter are
# the end-to-end tests' own pieces (harness.py needs only the standard library).
from harness import ROUTER, http_listener, wasm_filter  # noqa: E402

POLICY = {"policies": [{"name": "app", "allow_origins": ["https://app.example.com", "https://*.example.com"],
                        "allow_methods": ["PUT"], "allow_headers": ["content-type"], "allow_credentials": True,
                        "max_age": 600}]}


def direct(prefix: str, body: str) -> dict:
    return {"match": {"prefix": prefix}, "direct_response": {"status": 200, "body": {"inline_string": body}}}


def soak_config(port: int, admin: int, wasm: str) -> dict:
    routes = [direct("/api/allowed", "allowed"), direct("/api/rejected", "rejected"), direct("/api/none", "none")]
    route_config = {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]}
    return {
        "node": {"id": "soak", "cluster": "soak"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {"listeners": [
            http_listener("soak", port, "soak", route_config, [wasm_filter(POLICY, wasm=wasm), ROUTER])]},
    }


if __name__ == "__main__":
    out, port, admin, wasm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    Path(out).write_text(json.dumps(soak_config(port, admin, wasm)))
