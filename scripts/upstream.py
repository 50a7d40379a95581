#!/usr/bin/env python3
"""A small loopback upstream for the demo and the tests.

It deliberately sets its own (wrong) CORS headers, `Access-Control-Allow-Origin: *` and
`Access-Control-Allow-Methods: *`, so that edge-cors replacing them is visible. It counts every
request it receives by method; `GET /__counts` returns the counts as JSON (and is not counted),
which is how tests prove a preflight never reached the upstream.

Two endpoints for the browser suite, under any prefix: a path ending in `/set-cookie?v=VALUE`
also sets `edge_cors_browser=VALUE; Path=/; SameSite=Lax`, and a path ending in `/echo` answers
with the request headers it received in the JSON body (`"headers"`), which is how the browser
suite proves a credentialed fetch really carried the cookie to the upstream.

Usage: upstream.py PORT
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

COUNTS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        if self.path == "/__counts":
            body = json.dumps(COUNTS).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with LOCK:
            COUNTS[self.command] = COUNTS.get(self.command, 0) + 1
            COUNTS["total"] = COUNTS.get("total", 0) + 1
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        route = self.path.split("?", 1)[0]
        answer = {"path": self.path, "method": self.command}
        if route.endswith("/echo"):
            answer["headers"] = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        # The mistakes edge-cors must override:
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-methods", "*")
        self.send_header("vary", "accept-encoding")
        self.send_header("x-request-id", "upstream-42")
        self.send_header("etag", '"v1"')
        self.send_header("set-cookie", "session=demo; SameSite=None; Secure; Path=/")
        if route.endswith("/set-cookie"):
            value = parse_qs(self.path.partition("?")[2]).get("v", ["1"])[0]
            self.send_header("set-cookie", f"edge_cors_browser={value}; Path=/; SameSite=Lax")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _answer


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"upstream listening on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
