"""The client side of the harness: HTTP/1.1 requests with exactly the given headers, raw request
heads for inputs http.client refuses, and the few WebSocket frames the tests exchange."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import socket
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    headers: list = field(default_factory=list)  # [(lower-case name, value)], duplicates kept
    body: bytes = b""

    def values(self, name: str) -> list:
        return [v for n, v in self.headers if n == name.lower()]

    def get(self, name: str):
        v = self.values(name)
        return ", ".join(v) if v else None

    def cors(self) -> dict:
        """Every access-control-* header: name -> value (several lines joined)."""
        out = {}
        for n, v in self.headers:
            if n.startswith("access-control-"):
                out[n] = f"{out[n]}, {v}" if n in out else v
        return out


def request(port: int, method: str, path: str = "/", headers: list | dict | None = None, body: bytes | None = None,
            host: str = "api.example.com", timeout: float = 10) -> Response:
    """One HTTP/1.1 request with exactly the given headers (duplicates allowed)."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("host", host)
        for name, value in headers or []:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, [(n.lower(), v) for n, v in r.getheaders()], data)
    finally:
        conn.close()


def raw_request(port: int, raw: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes (for inputs http.client refuses) and return the raw response head."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        return recv_head(s)


def recv_head(sock: socket.socket) -> bytes:
    """Read until the end of an HTTP head (`\\r\\n\\r\\n`) or until the peer closes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def send_raw(port: int, method: bytes, path: bytes, host: bytes, headers: list, timeout: float = 20):
    """One request on a fresh connection, header lines exactly as given (bytes, duplicates
    kept). Returns (status, [(lower-case name, value)])."""
    lines = [method + b" " + path + b" HTTP/1.1", b"host: " + host]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"connection: close", b"", b""]
    head = raw_request(port, b"\r\n".join(lines), timeout=timeout)
    return parse_head(head)


def parse_head(head: bytes):
    """(status, [(lower-case name, value)]) of a raw HTTP/1.1 response head."""
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


# ---------------------------------------------------------------- WebSocket (RFC 6455)

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(payload: bytes, mask: bytes | None) -> bytes:
    """One final text frame (RFC 6455 §5.2); clients mask, servers do not. Payload < 126 bytes."""
    assert len(payload) < 126
    head = bytes([0x81, (0x80 if mask else 0) | len(payload)])
    if mask:
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + payload


def ws_read_frame(sock) -> bytes:
    """Read one small frame and return its (unmasked) payload."""
    def exactly(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("WebSocket closed")
            data += chunk
        return data
    b0, b1 = exactly(2)
    length = b1 & 0x7F
    mask = exactly(4) if b1 & 0x80 else None
    payload = exactly(length)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return payload


def websocket_exchange(port: int, path: str, origin: str, message: bytes, host: str = "api.example.com",
                       timeout: float = 10):
    """Open a WebSocket through `port` as a browser would (with Origin), send one message.
    Returns (status, response head text, echoed payload or None)."""
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nhost: {host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                   f"sec-websocket-key: {key}\r\nsec-websocket-version: 13\r\norigin: {origin}\r\n\r\n").encode())
        head_text, _, rest = recv_head(s).partition(b"\r\n\r\n")
        text = head_text.decode("latin-1")
        status = int(text.split(" ", 2)[1])
        if status != 101:
            return status, text, None
        assert f"sec-websocket-accept: {ws_accept(key)}".lower() in text.lower(), text
        assert rest == b"", "no frame expected before we send one"
        s.sendall(ws_frame(message, os.urandom(4)))
        return status, text, ws_read_frame(s)
