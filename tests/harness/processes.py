"""The processes of the harness: Envoy, the loopback upstreams, free ports, readiness polls, and
the readers of Envoy's stats and logs.

Every process binds 127.0.0.1 on a free port (or the port a caller chose), readiness is polled
(never a fixed sleep), logs are kept for failure reports, and every process is stopped by
`stop_process`.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import ENVOY_BIN, HOST, ROOT
from .client import recv_head, ws_accept, ws_frame, ws_read_frame

UPSTREAM_SCRIPT = ROOT / "scripts" / "upstream.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


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


def http_ready(proc: subprocess.Popen, url: str, exited) -> bool:
    """For `poll()`: True once `url` answers 200; raises `exited()` (an exception) if `proc`
    ended instead."""
    if proc.poll() is not None:
        raise exited()
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def stop_process(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds; always reaped."""
    if not isinstance(proc, subprocess.Popen) or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- upstreams

class Upstream:
    """scripts/upstream.py: counts requests by method, sets its own wrong CORS headers.

    `script` runs another upstream of the same contract instead (`script PORT`, answering
    `GET /__counts` with JSON once it listens), with `ready_timeout` seconds to start."""

    def __init__(self, port: int | None = None, script: Path = UPSTREAM_SCRIPT, ready_timeout: float = 10):
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        poll(self._up, ready_timeout, f"{Path(script).name} to listen")

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
        stop_process(self.proc, 5)


class RecordingUpstream:
    """A loopback HTTP upstream that records every request it receives: `requests` holds
    (request target exactly as received, i.e. the request line's before any cleanup by the server
    library; [(lower-case name, value)] headers). `answer_headers(request_headers)`, if given,
    returns the headers to add to the empty 200 it answers."""

    def __init__(self, answer_headers=None):
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


class WebSocketEcho:
    """A loopback WebSocket server (RFC 6455 handshake, echoes one text frame per message),
    counting the upgrades it accepted."""

    def __init__(self):
        self.port = free_port()
        self.upgrades = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
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


# ---------------------------------------------------------------- Envoy

class EnvoyExited(RuntimeError):
    pass


class Envoy:
    """One Envoy process. `config` is a bootstrap dict (from harness.envoy_config), or the text
    of a YAML bootstrap (a shipped file with its ports substituted) together with the
    `admin_port` and listener `port` it uses.

    `envoy_bin` defaults to ENVOY_BIN; `wrapper` is a command Envoy runs under (taskset,
    valgrind); `stop_timeout` is how long `stop()` waits after SIGTERM before SIGKILL;
    `concurrency` is the number of worker threads (`--concurrency`; the wasm host runs one VM per worker)."""

    def __init__(self, config: dict | str, workdir: Path | None = None, extra_args: list | None = None, *,
                 admin_port: int | None = None, port: int | None = None, envoy_bin: str | None = None,
                 wrapper: list | None = None, log_level: str = "info", stop_timeout: float = 10,
                 concurrency: int = 1):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="edge-cors-envoy-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = config
        if isinstance(config, str):
            self.admin_port, self.port = admin_port, port
            self.config_path = self.workdir / "envoy.yaml"
            self.config_path.write_text(config)
        else:
            self.admin_port = config["admin"]["address"]["socket_address"]["port_value"]
            listeners = config.get("static_resources", {}).get("listeners", [])
            self.port = listeners[0]["address"]["socket_address"]["port_value"] if listeners else None
            self.config_path = self.workdir / "envoy.json"
            self.config_path.write_text(json.dumps(config, indent=1))
        self.log_path = self.workdir / "envoy.log"
        self.extra_args = extra_args or []
        self.envoy_bin = envoy_bin or ENVOY_BIN
        self.wrapper = wrapper or []
        self.log_level = log_level
        self.stop_timeout = stop_timeout
        self.concurrency = concurrency
        self.proc = None
        self._log = None

    def command(self) -> list:
        return [*self.wrapper, self.envoy_bin, "-c", str(self.config_path), "--concurrency", str(self.concurrency),
                "--log-level", self.log_level, "--base-id", str(self.admin_port), "--disable-hot-restart",
                *self.extra_args]

    def launch(self) -> "Envoy":
        """Start the process without waiting (several Envoys start side by side; then
        `wait_ready()` each)."""
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)
        return self

    def wait_ready(self, timeout: float = 60, interval: float = 0.05) -> "Envoy":
        """Poll the admin `/ready` (the one readiness check of every Envoy started here); raises
        EnvoyExited with Envoy's log if the process ends instead."""
        exited = lambda: EnvoyExited(f"Envoy exited with {self.proc.returncode}:\n{self.log()}")  # noqa: E731
        poll(lambda: http_ready(self.proc, f"http://127.0.0.1:{self.admin_port}/ready", exited), timeout,
             "Envoy /ready", interval)
        return self

    def start(self, timeout: float = 60) -> "Envoy":
        return self.launch().wait_ready(timeout)

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

    def rss_kib(self) -> int:
        """Resident memory of the Envoy process (a `taskset` wrapper execs it in place)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def stop(self):
        stop_process(self.proc, self.stop_timeout)
        if self._log is not None:
            self._log.close()


# ---------------------------------------------------------------- Prometheus

class Prometheus:
    """Debian's Prometheus (`prometheus` on PATH, or `binary`) on 127.0.0.1 and a free port,
    scraping `targets` (host:port of Envoy admin interfaces, at /stats/prometheus) every
    `interval` seconds and evaluating `rule_files` as often; its data in `workdir`."""

    def __init__(self, targets: list, rule_files: list, workdir: Path, interval: int = 1, binary: str = "prometheus"):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = {
            "global": {"scrape_interval": f"{interval}s", "evaluation_interval": f"{interval}s"},
            "rule_files": [str(Path(f).resolve()) for f in rule_files],
            "scrape_configs": [{"job_name": "envoy", "metrics_path": "/stats/prometheus",
                                "static_configs": [{"targets": list(targets)}]}],
        }
        # JSON is YAML: no YAML writer needed.
        self.config_path = self.workdir / "prometheus.yml"
        self.config_path.write_text(json.dumps(config, indent=1))
        self.log_path = self.workdir / "prometheus.log"
        self.command = [binary, f"--config.file={self.config_path}", f"--storage.tsdb.path={self.workdir / 'data'}",
                        f"--web.listen-address=127.0.0.1:{self.port}"]
        self.proc = None
        self._log = None

    def start(self, timeout: float = 60) -> "Prometheus":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT)
        exited = lambda: RuntimeError(f"Prometheus exited with {self.proc.returncode}:\n{self.log()}")  # noqa: E731
        poll(lambda: http_ready(self.proc, f"http://127.0.0.1:{self.port}/-/ready", exited), timeout, "Prometheus /-/ready")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list:
        """An instant query: [(labels without __name__, value as float)] (NaN stays NaN)."""
        params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        data = self.api("query", **params)
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        return [({k: v for k, v in r["metric"].items() if k != "__name__"}, float(r["value"][1])) for r in data["result"]]

    def stop(self):
        stop_process(self.proc, 20)
        if self._log is not None:
            self._log.close()


# ---------------------------------------------------------------- readers of stats and logs

# A metric of edge-cors as /stats shows it: Envoy's namespace of the host's custom metrics
# (`wasmcustom.` or a dynamic module's `dynamicmodulescustom.`), each label as `name=.=value;.;`,
# then the family (crates/edge-cors-core/src/ops/metrics.rs, `tagged_name`).
_EDGE_CORS_METRIC = re.compile(r"(?:wasmcustom|dynamicmodulescustom)\.((?:edge_cors_\w+=\.=[^;]*;\.;)*)(edge_cors_\w+)")
_LABEL = re.compile(r"(edge_cors_\w+)=\.=([^;]*);\.;")


def parse_edge_cors_metric(name: str):
    """(family, {label: value}) of an edge-cors metric name from /stats, or None."""
    m = _EDGE_CORS_METRIC.fullmatch(name)
    if not m:
        return None
    return m.group(2), dict(_LABEL.findall(m.group(1)))


def metric_key(family: str, labels: dict) -> str:
    """A short key for tests: the family without `edge_cors_` and `_total`, then the label
    values in order, `/`-separated: `requests/app/enforce/preflight/rejected/origin`."""
    short = family.removeprefix("edge_cors_").removesuffix("_total")
    return "/".join([short, *labels.values()])


def edge_cors_stats(envoy: Envoy) -> dict:
    """Every edge-cors counter from /stats by its `metric_key` (the gauges are left out)."""
    out = {}
    for name, v in envoy.stats().items():
        parsed = parse_edge_cors_metric(name)
        if parsed and parsed[0].endswith("_total"):
            out[metric_key(*parsed)] = v
    return out


def edge_cors_gauges(envoy: Envoy) -> dict:
    """Every edge-cors gauge from /stats: (family, ((label, value), ...)) -> value."""
    out = {}
    for name, v in envoy.stats().items():
        parsed = parse_edge_cors_metric(name)
        if parsed and not parsed[0].endswith("_total"):
            out[(parsed[0], tuple(parsed[1].items()))] = v
    return out


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def prometheus_samples(text: str) -> dict:
    """The samples of a Prometheus text exposition (Envoy's /stats/prometheus):
    (name, frozenset of (label, value)) -> value. Labels with an empty value are left out, as
    Prometheus drops them."""
    out = {}
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset((k, v) for k, v in _PROM_LABEL.findall(m.group(2) or "") if v)
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def sample(samples: dict, name: str, **labels):
    """The value of the sample `name` with exactly these labels, or None."""
    return samples.get((name, frozenset(labels.items())))


def nonzero(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if v}


# How Envoy marks the lines a filter logs: `wasm log <plugin> <root> <vm>:` for proxy-wasm,
# the `[dynamic_modules]` logger for a dynamic module.
_FILTER_LOG_MARKERS = ("wasm log", "[dynamic_modules]")


def edge_cors_log_lines(envoy: Envoy, marker: str = "rejected: ") -> list:
    """The messages of edge-cors log lines (either host) containing `marker` (Envoy's prefix
    removed)."""
    out = []
    for line in envoy.log().splitlines():
        if marker in line and any(m in line for m in _FILTER_LOG_MARKERS):
            out.append(line[line.index(marker):])
    return out


def access_log_lines(path: str) -> list:
    """The access log of envoy_config.with_access_log as (method, path, status, origin) tuples."""
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


def json_access_log(path: str) -> list:
    """The entries of a JSON access log (envoy_config.with_sre_access_log), as dicts."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and line.endswith("}")]


class VmHealth:
    """Snapshot of the filter's health; `assert_unchanged` after hostile input. On the wasm host:
    Envoy's wasm runtime stats (a VM that panicked is replaced or gone: `created` grows,
    `active` drops, or FAIL_CLOSED turns every later request into a 503). On the native host:
    the Envoy process itself (a panic that escaped a hook would end it) and the panic guard's
    log line (a caught panic answers that request 500)."""

    KEYS = ("wasm.envoy.wasm.runtime.v8.created", "wasm.envoy.wasm.runtime.v8.active")
    LOG_MARKERS = {
        "wasm": ("panicked", "Function: proxy_on_", "wasm log: panic", "Plugin configured to fail closed"),
        "native": ("panicked", "panic caught", "Caught Aborted", "Caught Segmentation fault"),
    }

    def __init__(self, envoy: Envoy, name: str = "edge-cors", host: str | None = None):
        self.envoy = envoy
        self.name = name
        self.host = host or HOST
        self.before = self.read()

    def read(self) -> dict:
        if self.host == "native":
            return {"envoy running": self.envoy.proc.poll() is None, "pid": self.envoy.proc.pid}
        stats = self.envoy.stats()
        out = {k: stats.get(k) for k in self.KEYS}
        out.update({k: v for k, v in stats.items() if k.startswith(f"wasm.{self.name}.vm_reload")})
        return out

    def assert_unchanged(self, what: str = ""):
        now = self.read()
        assert now == self.before, f"the {self.host} filter changed after {what}: before {self.before}, after {now}"
        log = self.envoy.log()
        for marker in self.LOG_MARKERS[self.host]:
            assert marker not in log, f"Envoy log shows a filter failure ({marker!r}) after {what}"
