"""Bodies and trailers through Envoy + edge-cors (either host: EDGE_CORS_HOST). The shipped wasm
module has no body, trailer, gRPC, HTTP-call or network callbacks (scripts/lib.sh prune_callbacks
drops those exports to save 9 KB), and the native module's body and trailer hooks return
Continue: Envoy must then stream both bodies untouched, pass trailers on, and still get the CORS
headers the filter adds on the header callbacks."""
import hashlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.client import parse_head, request
from harness.envoy_config import edge_cors_chain, find_cluster, http_connection_managers, proxy_bootstrap
from harness.processes import Envoy, VmHealth, free_port

POLICY = {"policies": [{
    "name": "app",
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["content-type"],
    "expose_headers": ["x-body-sha256"],
}]}
ORIGIN = "https://app.example.com"
# Larger than Envoy's default 1 MiB per-stream buffer would hold, so a filter that buffered
# instead of streaming would fail the request.
REQUEST_BODY = bytes(range(256)) * 6000
RESPONSE_BODY = hashlib.sha512(b"edge-cors").digest() * 40000


class BodyUpstream:
    """Answers every request with the sha256 and length of the body it received (chunked
    bodies included, with the trailer names it saw), then RESPONSE_BODY."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def read_body(self):
                if self.headers.get("transfer-encoding", "").lower() != "chunked":
                    return self.rfile.read(int(self.headers.get("content-length") or 0)), []
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        break
                    body += self.rfile.read(size)
                    self.rfile.readline()
                trailers = []
                while (line := self.rfile.readline().strip()):
                    trailers.append(line.split(b":")[0].decode().lower())
                return body, trailers

            def do_POST(self):
                body, trailers = self.read_body()
                self.send_response(200)
                self.send_header("x-body-sha256", hashlib.sha256(body).hexdigest())
                self.send_header("x-body-length", str(len(body)))
                self.send_header("x-trailers", ",".join(trailers))
                self.send_header("content-length", str(len(RESPONSE_BODY)))
                self.end_headers()
                self.wfile.write(RESPONSE_BODY)

            do_PUT = do_POST

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def with_trailers(config: dict) -> dict:
    """HTTP/1 trailers are dropped unless both the listener and the upstream cluster enable
    them; with them enabled Envoy delivers request trailers to the filter chain."""
    hcm = http_connection_managers(config)[0]
    hcm["http_protocol_options"] = {"enable_trailers": True}
    find_cluster(config, "upstream")["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
            "explicit_http_config": {"http_protocol_options": {"enable_trailers": True}},
        }
    }
    return config


@pytest.fixture
def envoy(request):
    upstream = BodyUpstream()
    config = with_trailers(proxy_bootstrap(free_port(), free_port(), upstream.port, edge_cors_chain(POLICY)))
    e = Envoy(config).start()
    yield e
    e.stop()
    upstream.stop()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(f"\n===== Envoy log ({e.log_path}) =====\n{e.log()[-20000:]}")


def test_a_large_request_and_response_body_stream_through_unchanged_with_the_cors_headers(envoy):
    health = VmHealth(envoy)
    r = request(envoy.port, "POST", "/api/upload", [("origin", ORIGIN), ("content-type", "application/octet-stream")],
                body=REQUEST_BODY, timeout=30)
    assert r.status == 200
    assert r.get("x-body-sha256") == hashlib.sha256(REQUEST_BODY).hexdigest()
    assert r.get("x-body-length") == str(len(REQUEST_BODY))
    assert r.body == RESPONSE_BODY
    assert r.cors() == {
        "access-control-allow-origin": ORIGIN,
        "access-control-expose-headers": "x-body-sha256",
    }
    health.assert_unchanged("a 1.5 MB request body and a 2.5 MB response body")


def test_a_chunked_request_body_with_trailers_reaches_the_upstream_whole(envoy):
    health = VmHealth(envoy)
    chunks = [REQUEST_BODY[i:i + 70000] for i in range(0, len(REQUEST_BODY), 70000)]
    head = (f"PUT /api/upload HTTP/1.1\r\nhost: api.example.com\r\norigin: {ORIGIN}\r\n"
            "transfer-encoding: chunked\r\ntrailer: x-checksum\r\nconnection: close\r\n\r\n").encode()
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\nx-checksum: 42\r\n\r\n"
    with socket.create_connection(("127.0.0.1", envoy.port), timeout=30) as s:
        s.sendall(head + body)
        data = b""
        while chunk := s.recv(1 << 20):
            data += chunk
    status, headers = parse_head(data)
    got = dict(headers)
    assert status == 200
    assert got.get("x-body-sha256") == hashlib.sha256(REQUEST_BODY).hexdigest()
    assert got.get("access-control-allow-origin") == ORIGIN
    # The upstream reports the trailer names it read after the last chunk.
    assert "x-checksum" in got.get("x-trailers", "").split(","), json.dumps(got)
    health.assert_unchanged("a chunked request body with trailers")
