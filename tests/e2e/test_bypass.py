"""The bypass corpus (tests/bypass_origins.txt) through Envoy + edge-cors (the wasm or the native
host: EDGE_CORS_HOST).

Every hostile Origin, under both policies (A: app.example.com + *.example.com with credentials
on host api.example.com; B: foo.com + bar.com on host api.foo.com), as an actual GET and as a
preflight: no Access-Control-Allow-Origin, and the preflight rejected (never 2xx, no
Access-Control-* header at all). Envoy's own codec refuses some values outright (a NUL in a
header: 400, the filter never runs); those count as refused too and are reported. Values with a
CR or LF are not sent: on the wire a CR or LF ends the header line, so Envoy (correctly) sees the
clean prefix, often a trusted origin; tests/bypass.rs checks those values through decide().
The same file runs through decide() in tests/bypass.rs.
"""
import re
from pathlib import Path

import pytest

from harness.client import cors_of, request, send_raw
from harness.envoy_config import ROUTER, edge_cors_filter, proxy_bootstrap, route_to
from harness.processes import Envoy, VmHealth, free_port

# Run by suite 70-bypass, which shows what these tests print (50-e2e leaves them out).
pytestmark = pytest.mark.security

CORPUS = Path(__file__).resolve().parents[1] / "bypass_origins.txt"
POLICY = {"policies": [
    {"name": "a", "match": {"hosts": ["api.example.com"]},
     "allow_origins": ["https://app.example.com", "https://*.example.com"],
     "allow_methods": ["PUT"], "allow_headers": ["content-type"], "allow_credentials": True},
    {"name": "b", "match": {"hosts": ["api.foo.com"]},
     "allow_origins": ["https://foo.com", "https://bar.com"],
     "allow_methods": ["PUT"], "allow_headers": ["content-type"]},
]}
HOSTS = [b"api.example.com", b"api.foo.com"]
ANY_ROUTE = [route_to()]


def decode_value(s: str) -> bytes:
    s = re.sub(r"\{repeat:(\d+):([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), s)
    out, i, raw = bytearray(), 0, s.encode()
    simple = {ord("r"): b"\r", ord("n"): b"\n", ord("t"): b"\t", ord("0"): b"\0", ord("\\"): b"\\"}
    while i < len(raw):
        if raw[i] == ord("\\") and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in simple:
                out += simple[nxt]
                i += 2
                continue
            if nxt == ord("x"):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
        out.append(raw[i])
        i += 1
    return bytes(out)


def corpus() -> list:
    """[(line, [origin header values as bytes])] in file order."""
    return [(line, [decode_value(v) for v in line.split(" ||| ")])
            for line in CORPUS.read_text().splitlines() if line and not line.startswith("#")]


def test_the_corpus_decoder_matches_the_rust_one():
    assert decode_value(r"a\r\n\0\x7f\\b") == b"a\r\n\0\x7f\\b"
    assert decode_value(r"a\.b") == rb"a\.b"
    assert decode_value("x{repeat:3:ab}y") == b"xabababy"
    assert max(len(v[0]) for _, v in corpus()) >= 8192


@pytest.fixture(scope="module")
def envoy(upstream, tmp_path_factory):
    e = Envoy(proxy_bootstrap(free_port(), free_port(), upstream.port, [edge_cors_filter(POLICY), ROUTER], ANY_ROUTE),
              workdir=tmp_path_factory.mktemp("bypass")).start()
    yield e
    e.stop()


def test_no_origin_of_the_bypass_corpus_is_allowed_through_envoy(envoy, upstream):
    health = VmHealth(envoy)
    cases = corpus()
    assert len(cases) >= 60
    bypasses, refused_by_envoy, requests = [], 0, 0
    wire_cases = [(line, origins) for line, origins in cases if not any(b"\r" in o or b"\n" in o for o in origins)]
    for line, origins in wire_cases:
        for host in HOSTS:
            origin_lines = [(b"origin", o) for o in origins]
            status, headers = send_raw(envoy.port, b"GET", b"/items", host, origin_lines)
            requests += 1
            refused_by_envoy += status == 400
            if cors_of(headers):
                bypasses.append(f"GET {host.decode()} {line!r}: {status} {cors_of(headers)}")
            status, headers = send_raw(envoy.port, b"OPTIONS", b"/items", host, origin_lines + [
                (b"access-control-request-method", b"PUT"), (b"access-control-request-headers", b"content-type")])
            requests += 1
            refused_by_envoy += status == 400
            if 200 <= status < 300 or cors_of(headers):
                bypasses.append(f"OPTIONS {host.decode()} {line!r}: {status} {cors_of(headers)}")
    print(f"\nbypass corpus through Envoy: {len(wire_cases)} hostile origins x 2 policies x (GET, preflight) = "
          f"{requests} requests; {len(bypasses)} allowed; {refused_by_envoy} refused by Envoy's codec before the filter; "
          f"{len(cases) - len(wire_cases)} with CR/LF left to tests/bypass.rs")
    assert not bypasses, "\n".join(bypasses)
    # The filter is still alive and still answers trusted origins.
    r = request(envoy.port, "GET", "/items", [("origin", "https://app.example.com")], host="api.example.com")
    assert r.status == 200 and r.cors()["access-control-allow-origin"] == "https://app.example.com"
    r = request(envoy.port, "OPTIONS", "/items", [("origin", "https://bar.com"), ("access-control-request-method", "PUT")],
                host="api.foo.com")
    assert r.status == 204 and r.cors()["access-control-allow-origin"] == "https://bar.com"
    health.assert_unchanged("the bypass corpus")
