"""One filter configuration, several worker threads: Envoy creates the native module's
configuration once, on its main thread, and every worker makes its streams from it. The compiled
policy and the counters are shared; the rejection-log limiter is kept per worker."""
import re
import threading

from harness.client import request
from harness.envoy_config import ROUTER, dynamic_module_filter, proxy_bootstrap, route_to
from harness.processes import Envoy, edge_cors_log_lines, edge_cors_stats, free_port

WORKERS = 4
POLICY = {"policies": [{"name": "app", "allow_origins": ["https://app.example.com"], "allow_methods": ["PUT"]}],
          "rejection_log_interval_seconds": 300}


def test_every_worker_decides_with_the_one_configuration_and_counts_into_the_same_counters(upstream):
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, [dynamic_module_filter(POLICY), ROUTER],
                             [route_to()])
    envoy = Envoy(config, concurrency=WORKERS).start()
    try:
        wrong = []

        def client(n):
            # One connection per request: Envoy spreads connections over its workers.
            for i in range(25):
                allowed = (n + i) % 2 == 0
                origin = "https://app.example.com" if allowed else "https://evil.example"
                r = request(envoy.port, "GET", "/", [("origin", origin)])
                if r.get("access-control-allow-origin") != ("https://app.example.com" if allowed else None):
                    wrong.append((origin, r.status, r.headers))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wrong == []
        stats = edge_cors_stats(envoy)
        assert stats["requests/app/enforce/actual/allowed/none"] == 100
        assert stats["requests/app/enforce/actual/rejected/origin"] == 100
        log = envoy.log()
        assert len(re.findall(r"edge-cors: configured 1 policies", log)) == 1, "one configuration for every worker"
        # One rejection line per worker that saw the origin (the window is 300 s), each from
        # that worker's thread: never more lines than workers.
        lines = edge_cors_log_lines(envoy)
        threads_logging = set(re.findall(r"\]\[(\d+)\]\[warning\]\[dynamic_modules\] \[:\] rejected: ", log))
        assert 1 <= len(lines) <= WORKERS and len(threads_logging) == len(lines), (lines, threads_logging)
        print(f"\n200 requests over {WORKERS} workers: {len(lines)} workers logged the rejected origin once each")
    finally:
        envoy.stop()
