"""Helpers for the hostile-input tests: raw HTTP/1.1 requests with arbitrary bytes, and the
wasm VM's health as Envoy reports it (a VM that panicked is replaced or gone: `created` grows,
`active` drops, or FAIL_CLOSED turns every later request into a 503)."""
from __future__ import annotations

import re

from harness import raw_request


def send_raw(port: int, method: bytes, path: bytes, host: bytes, headers: list, timeout: float = 20):
    """One request on a fresh connection, header lines exactly as given (bytes, duplicates
    kept). Returns (status, [(lower-case name, value)])."""
    lines = [method + b" " + path + b" HTTP/1.1", b"host: " + host]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"connection: close", b"", b""]
    head = raw_request(port, b"\r\n".join(lines), timeout=timeout)
    return parse_head(head)


def parse_head(head: bytes):
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status_line, *rest = text.split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3})", status_line)
    if not m:
        raise AssertionError(f"no HTTP response: {head[:200]!r}")
    headers = []
    for line in rest:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return int(m.group(1)), headers


def cors_of(headers) -> list:
    return [(n, v) for n, v in headers if n.startswith("access-control-")]


class VmHealth:
    """Snapshot of Envoy's wasm runtime stats; `assert_unchanged` after hostile input."""

    KEYS = ("wasm.envoy.wasm.runtime.v8.created", "wasm.envoy.wasm.runtime.v8.active")

    def __init__(self, envoy, name: str = "edge-cors"):
        self.envoy = envoy
        self.name = name
        self.before = self.read()

    def read(self) -> dict:
        stats = self.envoy.stats()
        out = {k: stats.get(k) for k in self.KEYS}
        out.update({k: v for k, v in stats.items() if k.startswith(f"wasm.{self.name}.vm_reload")})
        return out

    def assert_unchanged(self, what: str = ""):
        now = self.read()
        assert now == self.before, f"wasm VM changed after {what}: before {self.before}, after {now}"
        log = self.envoy.log()
        for marker in ("panicked", "Function: proxy_on_", "wasm log: panic", "Plugin configured to fail closed"):
            assert marker not in log, f"Envoy log shows a VM failure ({marker!r}) after {what}"
