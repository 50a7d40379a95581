"""The real services around a platform chain: an ext_authz HTTP authorization service and a JWT
issuer whose key is generated at test time.

`ExtAuthzService` speaks Envoy's ext_authz HTTP-service protocol (Envoy's
`envoy.filters.http.ext_authz` with `http_service`): Envoy sends it the request's method, path
(after `path_prefix`) and headers (Host, Method, Path, Content-Length and Authorization always, plus
`allowed_headers`); a 200 lets the request through, any other answer is sent to the client as it
is. It allows a request that carries `Authorization: Bearer ...` and refuses everything else with
401, as an authentication gateway (oauth2-proxy, an API-key service) does, and records every check
it was asked for. (`Basic` credentials are accepted too: a JWT filter after it ignores them, so
a test can reach the filters behind it without a token.)
"""
from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from harness.processes import free_port

DENY_BODY = b"denied by ext_authz"


class ExtAuthzService:
    def __init__(self):
        self.checks = []  # (method, path, {lower-case header: value})
        checks = self.checks

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _check(self):
                headers = {k.lower(): v for k, v in self.headers.items()}
                checks.append((self.command, self.path, headers))
                if headers.get("authorization", "").startswith(("Bearer ", "Basic ")):
                    self.send_response(200)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                self.send_response(401)
                self.send_header("www-authenticate", 'Bearer realm="edge"')
                self.send_header("content-type", "text/plain")
                self.send_header("content-length", str(len(DENY_BODY)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(DENY_BODY)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _check

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class JwtIssuer:
    """An RS256 issuer: a fresh 2048-bit key, its JWKS (the `local_jwks` Istio and Envoy Gateway
    inline), and signed tokens."""

    def __init__(self, issuer: str = "https://issuer.example.com", kid: str = "test-key"):
        self.issuer, self.kid = issuer, kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> str:
        numbers = self.key.public_key().public_numbers()
        return json.dumps({"keys": [{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                                     "n": _uint(numbers.n), "e": _uint(numbers.e)}]})

    def token(self, subject: str = "user-1", **claims) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        payload = {"iss": self.issuer, "sub": subject, "iat": now, "exp": now + 600, **claims}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"
