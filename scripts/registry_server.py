#!/usr/bin/env python3
"""An example origin registry for edge-cors's `allow_origins_from` (the demo and the tests):
small, standard library only, bound to 127.0.0.1. Not a product.

It answers `GET /v1/origins` (or any path but the control ones) with
`{"version": "...", "origins": [...]}`, an `ETag` (a hash of the body) and `304 Not Modified` to
an `If-None-Match` that still matches. The tests steer it through two control endpoints:

  GET  /__stats     {"requests": N, "not_modified": N, "mode": "..."}
  POST /__control   a JSON object with any of:
                      "origins": [...], "version": "..."  the list served
                      "mode": "ok" | "status_500" | "hang" | "invalid_json" | "oversized" | "star"
                      "oversized_bytes": N               the body size of "oversized"

Failure modes: `status_500` answers 500; `hang` accepts the request and never answers (until the
server stops); `invalid_json` answers a body that is not JSON; `oversized` answers a valid
document padded past N bytes; `star` serves the list with a `*` entry added.

    python3 scripts/registry_server.py [--port 8081] [--origins FILE] [--version V]

FILE is a registry document (JSON) to start from; without it the list is empty.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Registry:
    """The state of the registry: what it serves and how."""

    def __init__(self, origins: list, version: str):
        self.lock = threading.Lock()
        self.origins = list(origins)
        self.version = version
        self.mode = "ok"
        self.oversized_bytes = 1 << 20
        self.requests = 0
        self.not_modified = 0
        self.release = threading.Event()

    def document(self) -> bytes:
        origins = self.origins + (["*"] if self.mode == "star" else [])
        body = json.dumps({"version": self.version, "origins": origins}).encode()
        if self.mode == "oversized":
            body = body[:-1] + b', "padding": "' + b"x" * self.oversized_bytes + b'"}'
        return body


def handler_for(registry: Registry):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):
            if self.path == "/__stats":
                with registry.lock:
                    stats = {"requests": registry.requests, "not_modified": registry.not_modified,
                             "mode": registry.mode}
                return self._send(200, json.dumps(stats).encode(), {"content-type": "application/json"})
            with registry.lock:
                registry.requests += 1
                mode = registry.mode
                body = registry.document()
            if mode == "hang":
                # Hold the request open until the server stops; the client's timeout fires first.
                registry.release.wait()
                return
            if mode == "status_500":
                return self._send(500, b"registry failure", {"content-type": "text/plain"})
            if mode == "invalid_json":
                return self._send(200, b'{"version": "broken", "origins": [', {"content-type": "application/json"})
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("if-none-match") == etag:
                with registry.lock:
                    registry.not_modified += 1
                return self._send(304, b"", {"etag": etag})
            self._send(200, body, {"content-type": "application/json", "etag": etag})

        def do_POST(self):
            if self.path != "/__control":
                return self._send(404)
            length = int(self.headers.get("content-length") or 0)
            change = json.loads(self.rfile.read(length) or b"{}")
            with registry.lock:
                for key in ("origins", "version", "mode", "oversized_bytes"):
                    if key in change:
                        setattr(registry, key, change[key])
            self._send(204)

    return Handler


def serve(port: int, origins: list, version: str) -> tuple[ThreadingHTTPServer, Registry]:
    """Start a registry on 127.0.0.1:`port` in a background thread (the tests' way)."""
    registry = Registry(origins, version)
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(registry))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, registry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--origins", help="a registry document (JSON) to start from")
    parser.add_argument("--version", default="1")
    args = parser.parse_args()
    origins, version = [], args.version
    if args.origins:
        with open(args.origins) as f:
            doc = json.load(f)
        origins, version = doc.get("origins", []), str(doc.get("version", version))
    registry = Registry(origins, version)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(registry))
    server.daemon_threads = True
    print(f"registry on http://127.0.0.1:{args.port}/v1/origins ({len(origins)} origins)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        registry.release.set()
        server.server_close()


if __name__ == "__main__":
    main()
