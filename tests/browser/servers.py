"""The loopback servers of the browser suite besides Envoy and scripts/upstream.py: the page
server, the gRPC-web stand-in, the assets server (font, image, redirect, upload), the real-time
server (a subprocess: realtime_server.py) and the TLS certificate of Envoy's HTTPS listener.
Everything binds 127.0.0.1 on a free port."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import threading
import zlib
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness.processes import Upstream  # noqa: E402

# The Socket.IO browser client, served to the pages from the pinned npm package.
VENDOR = {"/vendor/socket.io.min.js": HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"}


def serve(port: int, handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class PageHandler(SimpleHTTPRequestHandler):
    """tests/browser/pages, and the Socket.IO client under /vendor/."""

    def log_message(self, *args):
        pass

    def translate_path(self, path):
        vendored = VENDOR.get(urlsplit(path).path)
        return str(vendored) if vendored else super().translate_path(path)


def start_page_server(port: int) -> ThreadingHTTPServer:
    return serve(port, partial(PageHandler, directory=str(HERE / "pages")))


# A gRPC-web error as a server sends it: a trailers-only response (HTTP 200, the trailers among
# the headers, no message; grpc/grpc doc/PROTOCOL-WEB.md), with the server's own CORS headers.
GRPC_STATUS, GRPC_MESSAGE = "7", "permission%20denied"


class GrpcWebHandler(BaseHTTPRequestHandler):
    """The gRPC-web upstream behind /grpc/: every POST fails with PERMISSION_DENIED, exposing
    grpc-status and grpc-message itself; it answers its own preflights too (where no policy
    covers the path, edge-cors leaves them to it)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_OPTIONS(self):
        self.send_response(204)
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-allow-methods", "POST")
        self.send_header("access-control-allow-headers", "content-type,x-grpc-web,x-user-agent")
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/grpc-web+proto")
        self.send_header("grpc-status", GRPC_STATUS)
        self.send_header("grpc-message", GRPC_MESSAGE)
        self.send_header("access-control-allow-origin", "*")
        self.send_header("access-control-expose-headers", "grpc-status,grpc-message")
        self.send_header("content-length", "0")
        self.end_headers()


# ---------------------------------------------------------------- assets

# The glyph advance of the test font, in font units of a 1000-unit em: "xxxx" at 40 px is
# 320 px wide in it, far from any fallback font's width.
FONT_ADVANCE = 2000
RED = (255, 0, 0, 255)


def make_font() -> bytes:
    """A TrueType font (fontTools) with one wide glyph for `x`: text set in it is measurably
    wider than in the fallback, which is how a page tells whether the font was used."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def box(width: int):
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 500))
        pen.lineTo((width - 100, 500))
        pen.lineTo((width - 100, 0))
        pen.closePath()
        return pen.glyph()

    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "x"])
    fb.setupCharacterMap({ord("x"): "x"})
    fb.setupGlyf({".notdef": box(500), "x": box(FONT_ADVANCE)})
    fb.setupHorizontalMetrics({".notdef": (500, 100), "x": (FONT_ADVANCE, 100)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "EdgeCorsWide", "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def make_png(width: int = 2, height: int = 2, rgba: tuple = RED) -> bytes:
    """A PNG of one colour (RFC 2083: signature, IHDR, one IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgba) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, with a content-length or chunked (a streamed body Envoy forwards
    over HTTP/1.1 has no length)."""
    if "chunked" in handler.headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("content-length") or 0))


class AssetsHandler(BaseHTTPRequestHandler):
    """The upstream of every path with an `/assets/` segment, without CORS headers of its own:
    `.../font.ttf`, `.../red.png`, `.../redirect?to=URL` (302 to URL), `.../target` (the Origin
    it received), and any POST (the body it received, however it was framed)."""
    protocol_version = "HTTP/1.1"
    font = b""
    png = b""

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, content_type: str, *headers):
        self.send_response(status)
        self.send_header("content-type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urlsplit(self.path).path
        if path.endswith("/font.ttf"):
            self._send(200, self.font, "font/ttf")
        elif path.endswith("/red.png"):
            self._send(200, self.png, "image/png")
        elif path.endswith("/redirect"):
            target = parse_qs(urlsplit(self.path).query)["to"][0]
            self._send(302, b"", "text/plain", ("location", target))
        else:
            body = json.dumps({"path": self.path, "origin": self.headers.get("origin")}).encode()
            self._send(200, body, "application/json")

    def do_POST(self):
        body = read_body(self)
        answer = {"received": body.decode("utf-8", "replace"), "length": len(body),
                  "framing": "chunked" if "chunked" in self.headers.get("transfer-encoding", "") else "length"}
        self._send(200, json.dumps(answer).encode(), "application/json")


def start_assets_server(port: int) -> ThreadingHTTPServer:
    handler = type("Assets", (AssetsHandler,), {"font": make_font(), "png": make_png()})
    return serve(port, handler)


# ---------------------------------------------------------------- TLS

def self_signed_cert(workdir: Path) -> tuple:
    """A self-signed certificate for Envoy's HTTPS listener, made now (openssl), valid one day;
    the browsers accept it through acceptInsecureCerts."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=api.example.com",
                    "-addext", "subjectAltName=DNS:api.example.com,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return str(cert), str(key)


# ---------------------------------------------------------------- real time

class RealtimeServer(Upstream):
    """realtime_server.py (python-socketio on aiohttp, and a raw WebSocket echo) in the venv's
    Python; `counts()` is what it recorded per case."""

    def __init__(self):
        super().__init__(script=HERE / "realtime_server.py", ready_timeout=30)
