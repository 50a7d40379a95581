"""Harness for end-to-end tests: a real Envoy, the real edge_cors.wasm, a loopback upstream.

Every process binds 127.0.0.1 on a free port, readiness is polled on Envoy's admin `/ready`
(never a fixed sleep), logs are kept for failure reports, and every process is stopped.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENVOY_BIN = os.environ.get("ENVOY_BIN") or str(ROOT / ".venv" / "bin" / "envoy")
WASM = os.environ.get("EDGE_CORS_WASM") or str(ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm")
UPSTREAM_SCRIPT = ROOT / "scripts" / "upstream.py"

# A Lua stand-in for an auth filter placed after edge-cors: 401 on /secure/ without
# Authorization. RBAC after it denies /api/admin/. Both produce local replies edge-cors decorates.
AUTH_LUA = """
function envoy_on_request(handle)
  local path = handle:headers():get(":path") or ""
  if string.find(path, "/secure/", 1, true) and handle:headers():get("authorization") == nil then
    handle:respond({[":status"] = "401", ["www-authenticate"] = "Bearer"}, "unauthorized")
  end
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns a truthy value; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Upstream:
    """scripts/upstream.py: counts requests by method, sets its own wrong CORS headers."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(UPSTREAM_SCRIPT), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        poll(self._up, 10, "the upstream to listen")

    def _up(self) -> bool:
        try:
            self.counts()
            return True
        except OSError:
            if self.proc.poll() is not None:
                raise RuntimeError(f"upstream exited: {self.proc.stdout.read()}")
            return False

    def counts(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__counts", timeout=2) as r:
            return json.loads(r.read())

    def total(self) -> int:
        return self.counts().get("total", 0)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wasm_filter(config, name: str = "edge-cors", failure_policy: str = "FAIL_CLOSED", wasm: str | None = None) -> dict:
    """The edge-cors HTTP filter; `config` is a dict (serialized to JSON) or a raw string."""
    value = config if isinstance(config, str) else json.dumps(config)
    return {
        "name": name,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": name,
                "root_id": name,
                "failure_policy": failure_policy,
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": wasm or WASM}},
                },
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value},
            },
        },
    }


def lua_auth_filter() -> dict:
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": AUTH_LUA},
        },
    }


def rbac_deny_filter(prefix: str = "/api/admin/") -> dict:
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "DENY",
                "policies": {"deny": {"permissions": [{"url_path": {"path": {"prefix": prefix}}}], "principals": [{"any": True}]}},
            },
        },
    }


ROUTER = {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

# The connection-manager options every shipped config and every generated bootstrap sets, so that
# edge-cors and the router see the same `:path` and `:authority` (README, "Path and host
# normalization"). Envoy applies them before the first HTTP filter runs.
PATH_AND_HOST_NORMALIZATION = {
    "normalize_path": True,
    "merge_slashes": True,
    "path_with_escaped_slashes_action": "REJECT_REQUEST",
    "strip_trailing_host_dot": True,
    "strip_any_host_port": True,
}


def get_only_route(cluster: str = "upstream") -> dict:
    """A route that matches every method but OPTIONS: a preflight reaching it would 404."""
    return {
        "match": {"prefix": "/", "headers": [{"name": ":method", "string_match": {"exact": "OPTIONS"}, "invert_match": True}]},
        "route": {"cluster": cluster},
    }


def http_listener(name: str, port: int, stat_prefix: str, route_config: dict, http_filters: list,
                  normalize: bool = True, **hcm_fields) -> dict:
    """A listener on 127.0.0.1:`port` whose one network filter is an HttpConnectionManager with
    PATH_AND_HOST_NORMALIZATION (unless `normalize=False`) and `hcm_fields`."""
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": HCM_TYPE,
                "stat_prefix": stat_prefix,
                **(PATH_AND_HOST_NORMALIZATION if normalize else {}),
                **hcm_fields,
                "route_config": route_config,
                "http_filters": http_filters,
            },
        }]}],
    }


def bootstrap(listener_port: int, admin_port: int, upstream_port: int, http_filters: list, routes: list | None = None,
              route_typed_per_filter_config: dict | None = None, normalize: bool = True) -> dict:
    """A bootstrap with one listener, one virtual host for every domain, one upstream cluster.
    `normalize=False` leaves out PATH_AND_HOST_NORMALIZATION: Envoy's defaults, under which
    filters see `:path` and `:authority` exactly as the client sent them."""
    vhost = {"name": "all", "domains": ["*"], "routes": routes or [get_only_route()]}
    if route_typed_per_filter_config:
        vhost["typed_per_filter_config"] = route_typed_per_filter_config
    listener = http_listener("main", listener_port, "main", {"name": "local", "virtual_hosts": [vhost]}, http_filters,
                             normalize, codec_type="AUTO")
    return {
        "node": {"id": "edge-cors-test", "cluster": "edge-cors-test"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [listener],
            "clusters": [{
                "name": "upstream",
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [{"endpoint": {
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}}}]}]},
            }],
        },
    }


def edge_cors_chain(policy, **kw) -> list:
    """edge-cors first, then the auth stand-in, RBAC, router."""
    return [wasm_filter(policy, **kw), lua_auth_filter(), rbac_deny_filter(), ROUTER]


class EnvoyExited(RuntimeError):
    pass


def envoy_ready(proc: subprocess.Popen, admin_port: int, log) -> bool:
    """True once Envoy's admin `/ready` answers 200; raises EnvoyExited (with `log()`) if the
    process ended instead. For `poll()`: the one readiness check of every Envoy we start."""
    if proc.poll() is not None:
        raise EnvoyExited(f"Envoy exited with {proc.returncode}:\n{log()}")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/ready", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


class Envoy:
    """One Envoy process with a generated bootstrap. `start()` polls /ready."""

    def __init__(self, config: dict, workdir: Path | None = None, extra_args: list | None = None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="edge-cors-envoy-"))
        self.config = config
        self.admin_port = config["admin"]["address"]["socket_address"]["port_value"]
        listeners = config.get("static_resources", {}).get("listeners", [])
        self.port = listeners[0]["address"]["socket_address"]["port_value"] if listeners else None
        self.config_path = self.workdir / "envoy.json"
        self.config_path.write_text(json.dumps(config, indent=1))
        self.log_path = self.workdir / "envoy.log"
        self.extra_args = extra_args or []
        self.proc = None

    def command(self) -> list:
        return [ENVOY_BIN, "-c", str(self.config_path), "--concurrency", "1", "--log-level", "info",
                "--base-id", str(self.admin_port), "--disable-hot-restart", *self.extra_args]

    def start(self, timeout: float = 60) -> "Envoy":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)
        poll(self._ready, timeout, "Envoy /ready")
        return self

    def _ready(self) -> bool:
        return envoy_ready(self.proc, self.admin_port, self.log)

    def run_to_exit(self, timeout: float = 60) -> int:
        """Start Envoy expecting it to refuse the config and exit; return its exit code."""
        with open(self.log_path, "w") as log:
            self.proc = subprocess.run(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, timeout=timeout)
        return self.proc.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def admin(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}{path}", timeout=5) as r:
            return r.read().decode()

    def stats(self) -> dict:
        """All counters and gauges from /stats as a dict name -> int (histograms skipped)."""
        out = {}
        for line in self.admin("/stats").splitlines():
            name, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def stop(self):
        if isinstance(self.proc, subprocess.Popen) and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()


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


# ---- operations (issue 3): metrics, logs, WebSocket, ECDS ----

# Bootstrap `stats_config.stats_tags` that turn edge-cors metric names into Prometheus labels
# (the same regexes as envoy/ecds/envoy.yaml and the README).
EDGE_CORS_STATS_TAGS = [
    {"tag_name": "edge_cors_policy", "regex": r"^wasmcustom\.edge_cors\.((.+?)\.)"},
    {"tag_name": "edge_cors_mode", "regex": r"^wasmcustom\.edge_cors\.(?:.+?\.)?((report_only)\.)"},
    {"tag_name": "edge_cors_reason", "regex": r"^wasmcustom\.edge_cors\..*(?:_rejected|blocked)(\.(\w+))$"},
]


# The per-policy counter slots of src/core/metrics.rs (SLOT_NAMES).
EDGE_CORS_SLOTS = ("not_cors", "preflight_allowed", "preflight_rejected.origin", "preflight_rejected.method",
                   "preflight_rejected.headers", "preflight_rejected.malformed", "actual_allowed",
                   "actual_rejected.origin", "actual_rejected.malformed", "blocked.unsafe_method",
                   "blocked.websocket", "upstream_cors_replaced")
_EDGE_CORS_COUNTER = re.compile(r"edge_cors\.(no_policy|[A-Za-z0-9_-]+\.(report_only\.)?(%s))" %
                                "|".join(re.escape(s) for s in EDGE_CORS_SLOTS))


def edge_cors_stats(envoy) -> dict:
    """Every edge-cors decision counter from /stats, without Envoy's `wasmcustom.` namespace
    (other edge-cors metrics, such as gauges, are left out)."""
    out = {}
    for name, v in envoy.stats().items():
        short = name[len("wasmcustom."):]
        if name.startswith("wasmcustom.") and _EDGE_CORS_COUNTER.fullmatch(short):
            out[short] = v
    return out


def nonzero(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if v}


def edge_cors_log_lines(envoy, marker: str = "rejected: ") -> list:
    """The messages of edge-cors wasm log lines containing `marker` (Envoy's prefix removed)."""
    out = []
    for line in envoy.log().splitlines():
        if "wasm log" in line and marker in line:
            out.append(line[line.index(marker):])
    return out


def http_connection_managers(config: dict) -> list:
    """The typed_config of every HttpConnectionManager of a bootstrap's static listeners."""
    return [f["typed_config"]
            for listener in config.get("static_resources", {}).get("listeners", [])
            for chain in listener.get("filter_chains", [])
            for f in chain.get("filters", [])
            if f.get("typed_config", {}).get("@type") == HCM_TYPE]


def upgrade_websockets(config: dict) -> dict:
    """Let the listener's connection manager accept WebSocket upgrades."""
    for hcm in http_connection_managers(config):
        hcm["upgrade_configs"] = [{"upgrade_type": "websocket"}]
    return config


def add_cluster(config: dict, name: str, port: int) -> dict:
    config["static_resources"]["clusters"].append({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]},
    })
    return config


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key: str) -> str:
    import base64
    import hashlib
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


class WebSocketEcho:
    """A loopback WebSocket server (RFC 6455 handshake, echoes one text frame per message),
    counting the upgrades it accepted."""

    def __init__(self):
        import threading
        self.port = free_port()
        self.upgrades = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import threading
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(10)
            head = recv_head(conn)
            if b"\r\n\r\n" not in head:
                return
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            if headers.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in headers:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                return
            self.upgrades += 1
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
                          f"sec-websocket-accept: {ws_accept(headers['sec-websocket-key'])}\r\n\r\n").encode())
            try:
                while True:
                    conn.sendall(ws_frame(b"echo:" + ws_read_frame(conn), None))
            except (ConnectionError, OSError):
                return

    def stop(self):
        self.sock.close()


def websocket_exchange(port: int, path: str, origin: str, message: bytes, host: str = "api.example.com",
                       timeout: float = 10):
    """Open a WebSocket through `port` as a browser would (with Origin), send one message.
    Returns (status, response head text, echoed payload or None)."""
    import base64
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


def envoy_from_yaml(text: str, admin_port: int, port: int, workdir: Path) -> Envoy:
    """An Envoy started from a YAML bootstrap given as text (a shipped file with its ports and
    paths substituted)."""
    envoy = Envoy({"admin": {"address": {"socket_address": {"port_value": admin_port}}}}, workdir=workdir)
    envoy.port = port
    envoy.config_path = Path(workdir) / "envoy.yaml"
    envoy.config_path.write_text(text)
    return envoy


def substitute(text: str, replacements: dict) -> str:
    """Replace each key exactly once (a shipped file that changed shape fails loudly)."""
    for old, new in replacements.items():
        count = text.count(old)
        if count != 1:
            raise AssertionError(f"expected {old!r} exactly once in the template, found {count}")
        text = text.replace(old, new)
    return text


# The access log line `with_access_log` writes: method, path, status, Origin.
ACCESS_LOG_FORMAT = "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %REQ(ORIGIN)%\n"


# Envoy buffers access log files and flushes them every 10 s by default: start an Envoy whose
# log a test reads with these extra arguments (Envoy(config, extra_args=ACCESS_LOG_FLUSH_ARGS)).
ACCESS_LOG_FLUSH_ARGS = ["--file-flush-interval-msec", "20"]


def with_access_log(config: dict, path: str) -> dict:
    """Add a file access log (ACCESS_LOG_FORMAT) to every HTTP connection manager of `config`.

    Local replies (edge-cors's preflight answers) are logged too, so this is how a test counts
    requests that never reach the upstream. The file is flushed asynchronously: readers poll for
    the line they expect (see `access_log_lines`, ACCESS_LOG_FLUSH_ARGS).
    """
    for hcm in http_connection_managers(config):
        hcm.setdefault("access_log", []).append({
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
            },
        })
    return config


def access_log_lines(path: str) -> list:
    """The access log as a list of (method, path, status, origin) tuples."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            out.append(tuple(parts))
    return out


class RecordingUpstream:
    """A loopback HTTP upstream that records every request it receives: `requests` holds
    (request target exactly as received, i.e. the request line's before any cleanup by the server
    library; [(lower-case name, value)] headers). `answer_headers(request_headers)`, if given,
    returns the headers to add to the empty 200 it answers."""

    def __init__(self, answer_headers=None):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                headers = [(k.lower(), v) for k, v in self.headers.items()]
                requests.append((self.requestline.split(" ")[1], headers))
                self.send_response(200)
                for name, value in answer_headers(headers) if answer_headers else []:
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = do_OPTIONS = _answer

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def received(self) -> list:
        """The headers of every request received, in order."""
        return [headers for _, headers in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
