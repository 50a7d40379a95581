"""The one table of browser cases: what each browser must do, step by step, through Envoy +
edge-cors. Every case runs in every browser with the same expectation unless it names a
`differs` reason and per-browser expectations (`Step.by_browser`), for the places where the
browsers legitimately differ.

A step is one thing the page does (pages/cors-client.js: `fetch`, `xhr`, `font`, `image`,
`socketio`, `websocket`); `Expect` is what a script on the page must see, and for a blocked
step the reason the browser names: Chromium's DevTools `corsErrorStatus.corsError`, and for
Firefox the console message FIREFOX_REASONS maps that name to.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from servers import FONT_ADVANCE, GRPC_MESSAGE, GRPC_STATUS, RED

HERE = Path(__file__).resolve().parent
BROWSERS = ("chromium", "firefox")

# What Firefox's console says (its "(Reason: ...)") where Chromium's DevTools name the error.
# Firefox puts typographic quotes around header names.
FIREFOX_REASONS = {
    "MissingAllowOriginHeader": "CORS header ‘Access-Control-Allow-Origin’ missing",
    "PreflightMissingAllowOriginHeader": "CORS header ‘Access-Control-Allow-Origin’ missing",
    "WildcardOriginNotAllowed": "Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’",
    "HeaderDisallowedByPreflightResponse": "is not allowed according to header ‘Access-Control-Allow-Headers’",
}


@dataclass
class Expect:
    """What a script on the page must see for one step."""
    readable: bool
    status: int | None = None
    cors_error: str | None = None          # Chromium's corsError when blocked (Firefox: FIREFOX_REASONS)
    reason_has: dict | None = None         # blocked without a CORS error: browser -> text its reason holds
    headers: dict = field(default_factory=dict)  # response headers as read by the script
    body_has: str | None = None            # a string the readable body must contain
    check: object = None                   # check(result) -> [problems]: fonts, images, sockets

    def reason_wanted(self, browser: str) -> str | None:
        if self.cors_error:
            return self.cors_error if browser == "chromium" else FIREFOX_REASONS[self.cors_error]
        return (self.reason_has or {}).get(browser)


@dataclass
class Step:
    kind: str
    url: str
    expect: Expect
    by_browser: dict = field(default_factory=dict)  # browser -> Expect, where they differ
    opts: dict = field(default_factory=dict)

    def expect_for(self, browser: str) -> Expect:
        return self.by_browser.get(browser, self.expect)


def fetch(url: str, expect: Expect, by_browser: dict | None = None, **opts) -> Step:
    return Step("fetch", url, expect, by_browser or {}, opts=opts)


@dataclass
class Case:
    name: str
    page: str                       # page origin (or a file:// URL: `page_url`)
    steps: list
    expected: str                   # the table's "expected" column
    preflights: tuple | dict | None = None  # (path, count): OPTIONS requests Envoy must have seen for
                                            # path; or browser -> (path, count)
    native: bool = False            # sent to the Envoy with the native CORS filter (comparison rows)
    frame: str | None = None        # run the steps in this frame of the page (a path), not the page
    origin_seen: str | None = None  # the Origin Envoy must see on the last step's path (`log_path`)
    log_path: str | None = None     # the path whose Origin is checked, when not the last step's
    page_url: str | None = None     # the page to open, when not PAGE/index.html
    differs: str | None = None      # why the browsers legitimately differ here (required with by_browser)
    server: object = None           # server(counts of the real-time server for this case) -> [problems]
    refused_at_gateway: bool = False  # Envoy must have answered this case's request with 403
    no_preflight: bool = False      # Envoy must have seen no OPTIONS request of this case
    group: str = "fetch"            # the table section


# ---------------------------------------------------------------- checks of special steps

def font_renders(used: bool):
    def check(r: dict) -> list:
        wide = r.get("width", 0) > r.get("fallback_width", 0) * 2
        if wide != used:
            return [f"text {r.get('width')} px wide, fallback {r.get('fallback_width')} px: the font was "
                    f"{'' if wide else 'not '}used (want {'used' if used else 'the fallback'})"]
        return []
    return check


def image_reads(canvas: str, webgl: str):
    """`canvas`/`webgl`: "red" (pixels readable, the image's colour) or "SecurityError";
    `webgl` may also be "unavailable" (no WebGL in that headless browser)."""
    def check(r: dict) -> list:
        problems = []
        got_canvas = "red" if r.get("canvas_pixel") == list(RED) else r.get("canvas_error") or r.get("canvas_pixel")
        if got_canvas != canvas:
            problems.append(f"canvas {got_canvas} (want {canvas})")
        gl = r.get("webgl") or {}
        got_gl = ("unavailable" if not gl.get("available") else
                  "red" if gl.get("pixel") == list(RED) else gl.get("error") or gl.get("pixel"))
        if got_gl != webgl:
            problems.append(f"WebGL {got_gl} (want {webgl})")
        return problems
    return check


def socketio_works(cookie: str | None):
    def check(r: dict) -> list:
        problems = []
        if r.get("transports") != ["polling", "websocket"]:
            problems.append(f"transports {r.get('transports')} (want: connected over polling, then websocket)")
        pong = r.get("pong") or {}
        if pong.get("transport") != "websocket" or pong.get("echo") != "hello from the page":
            problems.append(f"pong {pong} (want the echo over websocket)")
        welcome = r.get("welcome") or {}
        if cookie and cookie not in (welcome.get("cookie") or ""):
            problems.append(f"the server's welcome shows cookie {welcome.get('cookie')!r} (want {cookie})")
        return problems
    return check


def server_saw(connects: int, requests: int | None = None, upgrades: int | None = None, cookie: str | None = None,
               transports: set | None = None):
    """What the real-time server must have recorded for the case (servers.RealtimeServer):
    Socket.IO connections, HTTP requests, raw WebSocket upgrades, a cookie on a connection, the
    Engine.IO transports its requests asked for."""
    def check(counts: dict) -> list:
        problems = []
        got = {"connects": len(counts.get("connects", [])), "requests": len(counts.get("requests", [])),
               "upgrades": counts.get("upgrades", 0)}
        if got["connects"] != connects:
            problems.append(f"server accepted {got['connects']} Socket.IO connection(s) (want {connects})")
        if requests is not None and got["requests"] != requests:
            problems.append(f"server received {got['requests']} request(s) (want {requests})")
        if upgrades is not None and got["upgrades"] != upgrades:
            problems.append(f"server completed {got['upgrades']} WebSocket upgrade(s) (want {upgrades})")
        if cookie and not any(cookie in (c.get("cookie") or "") for c in counts.get("connects", [])):
            problems.append(f"no connection carried the cookie {cookie}")
        seen = {r["transport"] for r in counts.get("requests", [])}
        if transports is not None and seen != transports:
            problems.append(f"the server's requests asked for {sorted(seen)} (want {sorted(transports)})")
        return problems
    return check


def server_note(counts: dict) -> str:
    """What reached the real-time server, in words that do not vary from run to run (the number
    of polling requests does)."""
    kinds = sorted({r["transport"] if r["transport"] != "-" else "handshake" for r in counts.get("requests", [])})
    return (f"server: requests {'+'.join(kinds) or 'none'}, {len(counts.get('connects', []))} Socket.IO "
            f"connection(s), {counts.get('upgrades', 0)} raw upgrade(s)")


# ---------------------------------------------------------------- the policy

def grpc_web(origin: str) -> dict:
    """The gRPC-web policy example of docs/request-handling.md (the json block of its "gRPC-web"
    section), for this page's origin, without its name, match and expose_headers: the suite runs
    what the documentation recommends."""
    section = (HERE.parents[1] / "docs" / "request-handling.md").read_text().split("\n## gRPC-web\n", 1)[1]
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    assert example["expose_headers"] == ["grpc-status", "grpc-message"], example
    rest = {k: v for k, v in example.items() if k not in ("name", "match", "expose_headers")}
    return dict(rest, allow_origins=[origin])


def socketio_policy(page_origin: str) -> dict:
    """The Socket.IO policy of docs/realtime.md (its first json block), for this page's origin:
    the suite runs what the guide recommends."""
    text = (HERE.parents[1] / "docs" / "realtime.md").read_text()
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    return dict(example, allow_origins=[page_origin])


def policy(page: int) -> dict:
    """One edge-cors configuration, one policy per path prefix; `page` is the page server's port."""
    app = f"http://app.example.com:{page}"
    local = f"http://localhost:{page}"
    return {"policies": [
        # Credentials need a trustworthy origin: plain http is accepted only for loopback names.
        # Page and API are both on `localhost` (different ports): cross-origin, but same-site,
        # so a SameSite=Lax cookie set by the API is sent with credentials: 'include'.
        {"name": "cred", "match": {"path_prefixes": ["/cred/"]},
         "allow_origins": [local],
         "allow_methods": ["GET", "POST", "PUT"], "allow_headers": ["authorization", "content-type"],
         "expose_headers": ["x-request-id"], "allow_credentials": True, "max_age": 600},
        {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"]},
        {"name": "app", "match": {"path_prefixes": ["/app/"]},
         "allow_origins": [app], "allow_methods": ["GET", "PUT"],
         "allow_headers": ["authorization", "content-type"], "expose_headers": ["x-request-id"], "max_age": 600},
        {"name": "nocache", "match": {"path_prefixes": ["/nocache/"]},
         "allow_origins": [app], "allow_methods": ["PUT"], "allow_headers": ["content-type"], "max_age": 0},
        {"name": "wild", "match": {"path_prefixes": ["/wild/"]}, "allow_origins": [f"http://*.example.com:{page}"]},
        # gRPC-web (docs/request-handling.md, "gRPC-web"): the client reads the status from the response headers.
        {"name": "grpc-exposed", "match": {"path_prefixes": ["/grpc/exposed/"]}, **grpc_web(app),
         "expose_headers": ["grpc-status", "grpc-message"]},
        {"name": "grpc-hidden", "match": {"path_prefixes": ["/grpc/hidden/"]}, **grpc_web(app)},
        # Real time (docs/realtime.md): Socket.IO's polling and upgrade, and a raw WebSocket whose
        # upgrade from a rejected origin the gateway refuses; `/ws-open/` is the control without.
        {"name": "socketio", "match": {"path_prefixes": ["/socket.io/"]}, **socketio_policy(local)},
        {"name": "ws", "match": {"path_prefixes": ["/ws/"]}, "allow_origins": [app],
         "reject_disallowed": {"websocket": True}},
        {"name": "ws-open", "match": {"path_prefixes": ["/ws-open/"]}, "allow_origins": [app]},
    ]}


# ---------------------------------------------------------------- the cases

def stream(url: str, chromium: Expect) -> Step:
    """A POST whose body is a ReadableStream: what Chromium must do (`chromium`), and Firefox,
    which sends the stream's string form as an ordinary body."""
    return fetch(url, chromium, {"firefox": Expect(True, 200, body_has='"received": "[object ReadableStream]"')},
                 method="POST", body="streamed body", stream=True)


def stream_preflights(path: str) -> dict:
    """Chromium always preflights a streamed body; Firefox's string body is a simple request."""
    return {"chromium": (path, 1), "firefox": (path, 0)}


def grpc_call(url: str, status: str | None, message: str | None) -> Step:
    """A unary gRPC-web call as a gRPC-web client sends it (an empty message: one 5-byte frame
    header), and what the page must read of grpc-status and grpc-message."""
    return fetch(url, Expect(True, 200, headers={"grpc-status": status, "grpc-message": message}), method="POST",
                 headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}, body="\u0000" * 5,
                 read_headers=["grpc-status", "grpc-message"])


def cases(page: int, api: int, native_api: int, tls_api: int, file_page: str) -> list:
    app_page = f"http://app.example.com:{page}"
    evil_page = f"http://app.evil.test:{page}"
    api_host = f"http://api.example.com:{api}"
    other_api = f"http://media.example.com:{api}"
    tls_host = f"https://api.example.com:{tls_api}"
    native_host = f"http://api.example.com:{native_api}"
    local_page = f"http://localhost:{page}"
    local_api = f"http://localhost:{api}"
    cookie = secrets.token_hex(8)
    json_put = {"content-type": "application/json", "authorization": "Bearer t0ken"}
    set_cookie = fetch(f"{local_api}/cred/set-cookie?v={cookie}", Expect(True, 200), credentials="include")
    blocked = lambda error: Expect(False, cors_error=error)  # noqa: E731
    no_webgl = ("headless Firefox has no WebGL here (Chromium draws it with SwiftShader on the CPU): "
                "Firefox checks the 2D canvas only")
    out = [
        Case("simple GET, allowed origin", app_page,
             [fetch(f"{api_host}/app/simple", Expect(True, 200))], "allowed"),
        Case("simple GET, rejected origin", evil_page,
             [fetch(f"{api_host}/app/simple-rejected", blocked("MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("credentialed GET (cookie set by the API), credentials policy", local_page,
             [set_cookie, fetch(f"{local_api}/cred/echo", Expect(True, 200, body_has=f"edge_cors_browser={cookie}"),
                                credentials="include")],
             "allowed, cookie reaches the upstream"),
        Case("credentialed preflighted PUT (cookie + Authorization)", local_page,
             [set_cookie, fetch(f"{local_api}/cred/put/echo", Expect(True, 200, body_has=f"edge_cors_browser={cookie}"),
                                method="PUT", headers=json_put, body="{}", credentials="include")],
             "allowed after 1 preflight, cookie reaches the upstream", preflights=("/cred/put/echo", 1)),
        Case("credentialed GET, any-origin (*) policy", local_page,
             [set_cookie, fetch(f"{local_api}/public/echo", blocked("WildcardOriginNotAllowed"), credentials="include")],
             "blocked: WildcardOriginNotAllowed"),
        Case("credentialed GET, upstream sends its own ACAO: * (edge-cors replaces it)", local_page,
             [fetch(f"{local_api}/cred/upstream-star", Expect(True, 200), credentials="include")],
             "allowed"),
        Case("control: a path no policy covers, the upstream's ACAO: * alone", local_page,
             [fetch(f"{local_api}/none/upstream-star", blocked("WildcardOriginNotAllowed"), credentials="include")],
             "blocked: WildcardOriginNotAllowed"),
        Case("preflighted PUT, JSON + Authorization", app_page,
             [fetch(f"{api_host}/app/put", Expect(True, 200), method="PUT", headers=json_put, body="{}")],
             "allowed after 1 preflight", preflights=("/app/put", 1)),
        Case("preflighted PUT, a header not in the policy", app_page,
             [fetch(f"{api_host}/app/put-x-custom", blocked("PreflightMissingAllowOriginHeader"),
                    method="PUT", headers={**json_put, "x-custom": "1"}, body="{}")],
             "blocked at preflight", preflights=("/app/put-x-custom", 1)),
        Case("preflighted DELETE, a method not in the policy", app_page,
             [fetch(f"{api_host}/app/delete", blocked("PreflightMissingAllowOriginHeader"), method="DELETE")],
             "blocked at preflight", preflights=("/app/delete", 1)),
        Case("exposed header readable, non-exposed one null", app_page,
             [fetch(f"{api_host}/app/expose", Expect(True, 200, headers={"x-request-id": "upstream-42", "etag": None}),
                    read_headers=["x-request-id", "etag"])],
             "x-request-id readable, etag null"),
        Case("Access-Control-Max-Age 600: two identical PUTs", app_page,
             [fetch(f"{api_host}/app/max-age", Expect(True, 200), method="PUT", headers=json_put, body="{}"),
              fetch(f"{api_host}/app/max-age", Expect(True, 200), method="PUT", headers=json_put, body="{}")],
             "allowed; 1 preflight at Envoy (Chromium), 2 (Firefox)",
             preflights={"chromium": ("/app/max-age", 1), "firefox": ("/app/max-age", 2)},
             differs="Firefox ESR driven through WebDriver BiDi sends a preflight for each PUT (against a plain "
                     "test server too: not edge-cors's doing); Chromium reuses the cached preflight. edge-cors "
                     "answers both preflights alike"),
        Case("control: Access-Control-Max-Age 0: two identical PUTs, two preflights", app_page,
             [fetch(f"{api_host}/nocache/put", Expect(True, 200), method="PUT",
                    headers={"content-type": "application/json"}, body="{}"),
              fetch(f"{api_host}/nocache/put", Expect(True, 200), method="PUT",
                    headers={"content-type": "application/json"}, body="{}")],
             "allowed, 2 preflights at Envoy", preflights=("/nocache/put", 2)),
        Case("401 from the auth filter after edge-cors", app_page,
             [fetch(f"{api_host}/app/secure/profile", Expect(True, 401))], "readable, status 401"),
        Case("sandboxed iframe of an allowed page (Origin: null)", app_page,
             [fetch(f"{api_host}/app/from-sandbox", blocked("MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader", frame="/frame.html", origin_seen="null",
             page_url=f"{app_page}/sandboxed.html"),
        Case("subdomain wildcard http://*.example.com:PAGE, subdomain", f"http://shop.eu.example.com:{page}",
             [fetch(f"{api_host}/wild/sub", Expect(True, 200))], "allowed"),
        Case("subdomain wildcard, the apex example.com", f"http://example.com:{page}",
             [fetch(f"{api_host}/wild/apex", blocked("MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("subdomain wildcard, look-alike example.com.evil.test", f"http://example.com.evil.test:{page}",
             [fetch(f"{api_host}/wild/look-alike", blocked("MissingAllowOriginHeader"))],
             "blocked: MissingAllowOriginHeader"),
        Case("gRPC-web error, policy exposes grpc-status and grpc-message", app_page,
             [grpc_call(f"{api_host}/grpc/exposed/shop.v1.CartService/Add", GRPC_STATUS, GRPC_MESSAGE)],
             "grpc-status 7 and grpc-message readable", preflights=("/grpc/exposed/shop.v1.CartService/Add", 1)),
        Case("gRPC-web error, policy without them (the upstream's expose header removed)", app_page,
             [grpc_call(f"{api_host}/grpc/hidden/shop.v1.CartService/Add", None, None)],
             "grpc-status and grpc-message null", preflights=("/grpc/hidden/shop.v1.CartService/Add", 1)),
        Case("control: gRPC-web error, no policy: the upstream's own CORS headers alone", app_page,
             [grpc_call(f"{api_host}/grpc/open/shop.v1.CartService/Add", GRPC_STATUS, GRPC_MESSAGE)],
             "grpc-status 7 readable", preflights=("/grpc/open/shop.v1.CartService/Add", 1)),
        # The same requests through Envoy's own CORS filter: the browser confirms two classes of
        # the differential run (tests/differential/run.py).
        Case("native filter: simple GET, rejected origin", evil_page,
             [fetch(f"{native_host}/app/simple-rejected", Expect(True, 200))],
             "allowed: the upstream's ACAO: * passes", native=True),
        Case("native filter: preflighted PUT, a header not in the policy", app_page,
             [fetch(f"{native_host}/app/put-x-custom", blocked("HeaderDisallowedByPreflightResponse"),
                    method="PUT", headers={**json_put, "x-custom": "1"}, body="{}")],
             "blocked by the browser, not the proxy", preflights=("/app/put-x-custom", 1), native=True),
    ]

    # ------------------------------------------------------------ the uncommon triggers
    stream_differs = ("Chromium streams a ReadableStream body over HTTP/2 only (which browsers speak only over "
                      "TLS: Envoy's HTTPS listener, ALPN h2), always preflighted, and refuses to send it over "
                      "HTTP/1.1; Firefox does not implement streaming request bodies and sends the stream's "
                      "string form, `[object ReadableStream]`, as a simple text/plain POST")
    out += [Case(name, page_origin, steps, expected, group="uncommon", **kw) for name, page_origin, steps, expected, kw in [
        ("@font-face font from the API, allowed origin", app_page,
         [Step("font", f"{api_host}/app/assets/font.ttf", Expect(True, check=font_renders(True)))],
         f"renders in the font (glyph advance {FONT_ADVANCE}/1000 em)", {}),
        ("@font-face font from the API, rejected origin", evil_page,
         [Step("font", f"{api_host}/app/assets/font.ttf",
               Expect(False, cors_error="MissingAllowOriginHeader", check=font_renders(False)))],
         "falls back: blocked, MissingAllowOriginHeader", {}),
        ("<img crossorigin> drawn to a canvas and a WebGL texture, allowed origin", app_page,
         [Step("image", f"{api_host}/app/assets/red.png", Expect(True, check=image_reads("red", "red")),
               by_browser={"firefox": Expect(True, check=image_reads("red", "unavailable"))},
               opts={"crossorigin": "anonymous"})],
         "pixels readable from the canvas and through WebGL", {"differs": no_webgl}),
        ("<img crossorigin>, rejected origin: the image does not load", evil_page,
         [Step("image", f"{api_host}/app/assets/red.png", blocked("MissingAllowOriginHeader"),
               opts={"crossorigin": "anonymous"})],
         "image error: blocked, MissingAllowOriginHeader", {}),
        ("<img> without crossorigin, allowed origin: drawn, canvas tainted", app_page,
         [Step("image", f"{api_host}/app/assets/red.png",
               Expect(True, check=image_reads("SecurityError", "SecurityError")),
               by_browser={"firefox": Expect(True, check=image_reads("SecurityError", "unavailable"))})],
         "loads; getImageData and texImage2D throw SecurityError", {"differs": no_webgl}),
        ("XMLHttpRequest POST (text/plain), no upload listener", app_page,
         [Step("xhr", f"{api_host}/app/assets/upload", Expect(True, 200, body_has="upload body"),
               opts={"body": "upload body"})],
         "allowed, no preflight", {"preflights": ("/app/assets/upload", 0)}),
        ("XMLHttpRequest POST with an upload progress listener", app_page,
         [Step("xhr", f"{api_host}/app/assets/upload-listener", Expect(True, 200, body_has="upload body"),
               opts={"body": "upload body", "upload_listener": True})],
         "allowed after 1 preflight", {"preflights": ("/app/assets/upload-listener", 1)}),
        ("ReadableStream request body (fetch duplex: half) over HTTP/2 + TLS", app_page,
         [stream(f"{tls_host}/app/assets/stream",
                 Expect(True, 200, body_has='"received": "streamed body", "length": 13, "framing": "chunked"'))],
         "allowed after 1 preflight, the upstream receives the streamed (chunked) body",
         {"differs": stream_differs, "preflights": stream_preflights("/app/assets/stream")}),
        ("ReadableStream request body over HTTP/1.1", app_page,
         [stream(f"{api_host}/app/assets/stream-h1",
                 Expect(False, reason_has={"chromium": "net::ERR_ALPN_NEGOTIATION_FAILED"}))],
         "Chromium: preflighted, then not sent (no HTTP/2: ERR_ALPN_NEGOTIATION_FAILED)",
         {"differs": stream_differs, "preflights": stream_preflights("/app/assets/stream-h1")}),
        ("redirect to another origin: the follow-up carries Origin: null", app_page,
         [fetch(f"{api_host}/app/assets/redirect?to={other_api}/app/assets/target", blocked("MissingAllowOriginHeader"))],
         "blocked: null is never an allowed origin", {"origin_seen": "null", "log_path": "/app/assets/target"}),
        ("redirect to another origin, the target under an any-origin (*) policy", app_page,
         [fetch(f"{api_host}/app/assets/redirect?to={other_api}/public/assets/target",
                Expect(True, 200, body_has='"origin": "null"'))],
         "allowed: `*` answers Origin: null", {"origin_seen": "null", "log_path": "/public/assets/target"}),
        ("file:// page, a policy listing origins", "null",
         [fetch(f"{api_host}/app/assets/from-file", blocked("MissingAllowOriginHeader"))],
         "blocked: a file:// page sends Origin: null", {"page_url": file_page, "origin_seen": "null"}),
        ("file:// page, an any-origin (*) policy", "null",
         [fetch(f"{api_host}/public/assets/from-file", Expect(True, 200))],
         "allowed", {"page_url": file_page, "origin_seen": "null"}),
    ]]
    return out + realtime_cases(api, app_page, evil_page, local_page, local_api, cookie, set_cookie)


def realtime_cases(api, app_page, evil_page, local_page, local_api, cookie, set_cookie) -> list:
    """Socket.IO (credentialed polling, upgrade, messages both ways) and a raw WebSocket, from an
    allowed and a rejected origin. run.py adds `case=BROWSER-N` to every request, so the
    real-time server counts each case of each browser apart."""
    io_page = f"{local_page}/realtime.html"
    ws = f"ws://api.example.com:{api}"
    # A refused WebSocket has no CORS error: each browser names the failure in its console.
    refused = Expect(False, reason_has={"chromium": "Unexpected response code: 403",
                                        "firefox": "can’t establish a connection"})
    return [Case(name, origin, steps, expected, group="realtime", **kw) for name, origin, steps, expected, kw in [
        ("Socket.IO, allowed origin: credentialed polling, upgrade, messages both ways", local_page,
         [set_cookie, Step("socketio", local_api, Expect(True, check=socketio_works(cookie)), opts={"credentials": True})],
         "connects over polling with the cookie, upgrades to WebSocket, ping/pong",
         {"page_url": io_page, "server": server_saw(1, cookie=cookie, transports={"polling", "websocket"}),
          "no_preflight": True}),
        ("Socket.IO, rejected origin: polling blocked by the browser", evil_page,
         [Step("socketio", local_api, Expect(False, cors_error="MissingAllowOriginHeader"),
               opts={"credentials": True})],
         "blocked: MissingAllowOriginHeader; 0 connections at the server",
         {"page_url": f"{evil_page}/realtime.html", "server": server_saw(0)}),
        ("Socket.IO, rejected origin, WebSocket transport only: upgrade refused at the gateway", evil_page,
         [Step("socketio", local_api, refused, opts={"credentials": True, "transports": ["websocket"]})],
         "403 at Envoy; 0 requests reach the server",
         {"page_url": f"{evil_page}/realtime.html", "server": server_saw(0, requests=0), "refused_at_gateway": True}),
        ("raw WebSocket, allowed origin", app_page,
         [Step("websocket", f"{ws}/ws/echo", Expect(True, body_has="echo:hello"))],
         "opens, echoes", {"server": server_saw(0, upgrades=1)}),
        ("raw WebSocket, rejected origin, reject_disallowed.websocket", evil_page,
         [Step("websocket", f"{ws}/ws/echo", refused)],
         "refused at the gateway (403); 0 upgrades at the server",
         {"server": server_saw(0, requests=0, upgrades=0), "refused_at_gateway": True}),
        ("control: raw WebSocket, rejected origin, no reject_disallowed", evil_page,
         [Step("websocket", f"{ws}/ws-open/echo", Expect(True, body_has="echo:hello"))],
         "opens: CORS does not apply to WebSockets", {"server": server_saw(0, upgrades=1)}),
    ]]
