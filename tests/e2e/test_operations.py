"""Operations, end to end through Envoy + edge-cors (the wasm or the native host: EDGE_CORS_HOST):
reason-coded counters with exact values, rate-limited rejection logs, report-only mode,
enforce_percent rollout, the debug decision header, and reject_disallowed (including a real
WebSocket upgrade to a loopback upstream)."""
import re

import pytest

from harness.client import request, websocket_exchange
from harness import HOST
from harness.envoy_config import (PROMETHEUS_PREFIXES, ROUTER, add_cluster, edge_cors_chain, edge_cors_filter,
                                  proxy_bootstrap, route_to, upgrade_websockets, with_edge_cors_stats_tags)
from harness.processes import (Envoy, RecordingUpstream, WebSocketEcho, edge_cors_log_lines, edge_cors_stats, free_port,
                               nonzero, poll, prometheus_samples, sample)

APP = {
    "name": "app",
    "match": {"path_prefixes": ["/api/"]},
    "allow_origins": ["https://app.example.com"],
    "allow_methods": ["PUT"],
    "allow_headers": ["content-type"],
}
PUBLIC = {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"]}
ALL_METHODS_ROUTE = [route_to()]
TOKEN = "k3Y-0f-the-d3bug-a1d"


def preflight(envoy, origin, method="PUT", req_headers=None, path="/api/items", extra=()):
    h = [("origin", origin), ("access-control-request-method", method)]
    if req_headers is not None:
        h.append(("access-control-request-headers", req_headers))
    return request(envoy.port, "OPTIONS", path, h + list(extra))


def get(envoy, path="/api/items", origin=None, method="GET", extra=()):
    h = [("origin", origin)] if origin else []
    return request(envoy.port, method, path, h + list(extra))


def test_every_decision_is_counted_once_under_its_policy_and_reason(start_envoy, upstream):
    envoy = start_envoy({"policies": [APP, PUBLIC]})
    assert get(envoy).status == 200                                                    # not CORS
    for _ in range(2):
        assert preflight(envoy, "https://app.example.com", "PUT", "content-type").status == 204
    assert preflight(envoy, "https://evil.example.net").status == 403                  # origin
    assert preflight(envoy, "https://app.example.com", "PATCH").status == 403          # method
    assert preflight(envoy, "https://app.example.com", "PUT", "x-secret").status == 403  # headers
    assert preflight(envoy, "HTTPS://APP.EXAMPLE.COM").status == 403                   # malformed
    for _ in range(3):
        assert get(envoy, origin="https://app.example.com").status == 200
    for _ in range(2):
        assert get(envoy, origin="https://evil.example.net").status == 200
    assert get(envoy, origin="https://App.example.com").status == 200                  # malformed
    # An RBAC deny after edge-cors: counted as allowed, but it carries no upstream CORS header.
    assert get(envoy, "/api/admin/users", origin="https://app.example.com").status == 403
    assert get(envoy, "/elsewhere").status == 200                                      # no policy
    assert preflight(envoy, "https://anyone.example.org", "GET", path="/public/x").status == 204

    stats = edge_cors_stats(envoy)
    assert nonzero(stats) == {
        "requests/app/enforce/not_cors/none/none": 1,
        "requests/app/enforce/preflight/allowed/none": 2,
        "requests/app/enforce/preflight/rejected/origin": 1,
        "requests/app/enforce/preflight/rejected/method": 1,
        "requests/app/enforce/preflight/rejected/headers": 1,
        "requests/app/enforce/preflight/rejected/malformed": 1,
        "requests/app/enforce/actual/allowed/none": 4,
        "requests/app/enforce/actual/rejected/origin": 2,
        "requests/app/enforce/actual/rejected/malformed": 1,
        # The upstream sent its own `Access-Control-Allow-Origin: *` on the 6 responses it gave
        # to CORS requests; the RBAC 403 had none.
        "upstream_cors_replaced/app/enforce": 6,
        "requests/public/enforce/preflight/allowed/none": 1,
        "unmatched_requests": 1,
    }
    # Every counter is defined at start, zero included: 30 per policy plus the unmatched one.
    assert len(stats) == 2 * 30 + 1
    assert stats["requests/app/report_only/preflight/rejected/origin"] == 0
    assert stats["credentialed_requests/public/enforce/credentials_not_allowed"] == 0


def test_prometheus_output_carries_every_label_with_the_shipped_tag_rules(upstream):
    config = with_edge_cors_stats_tags(proxy_bootstrap(
        free_port(), free_port(), upstream.port, edge_cors_chain({"policies": [APP, dict(PUBLIC, mode="report_only")]})))
    envoy = Envoy(config).start()
    try:
        assert preflight(envoy, "https://evil.example.net").status == 403
        assert preflight(envoy, "https://app.example.com", "PATCH").status == 403
        assert get(envoy, "/public/x", origin="https://a.example.org").status == 200
        assert get(envoy, "/elsewhere").status == 200
        text = envoy.admin("/stats/prometheus")
        # A dynamic module's metrics carry Envoy's `envoy_<namespace>_` prefix in this output.
        prefix = PROMETHEUS_PREFIXES[HOST]
        prom = {(name.removeprefix(prefix), labels): v for (name, labels), v in prometheus_samples(text).items()}
        requests = lambda policy, mode, kind, outcome, reason: sample(  # noqa: E731
            prom, "edge_cors_requests_total", edge_cors_policy=policy, edge_cors_mode=mode, edge_cors_kind=kind,
            edge_cors_outcome=outcome, edge_cors_reason=reason)
        assert requests("app", "enforce", "preflight", "rejected", "origin") == 1
        assert requests("app", "enforce", "preflight", "rejected", "method") == 1
        assert requests("public", "report_only", "actual", "allowed", "none") == 1
        assert requests("app", "enforce", "actual", "allowed", "none") == 0
        assert sample(prom, "edge_cors_unmatched_requests_total") == 1
        assert sample(prom, "edge_cors_upstream_cors_replaced_total", edge_cors_policy="public",
                      edge_cors_mode="report_only") == 1
        # One family per signal: no other edge-cors name, and no label left inside a name.
        names = {name for name, _ in prom if name.startswith("edge_cors")}
        assert names == {"edge_cors_requests_total", "edge_cors_credentialed_requests_total",
                         "edge_cors_upstream_cors_replaced_total", "edge_cors_unmatched_requests_total",
                         "edge_cors_config_loaded_timestamp_milliseconds"} | (
                             {"edge_cors_vm_memory_bytes"} if HOST == "wasm" else set())
        assert "=.=" not in text
    finally:
        envoy.stop()


def test_rejections_are_logged_once_per_origin_escaped_and_capped_with_a_count_of_what_was_suppressed(start_envoy):
    envoy = start_envoy({"policies": [APP]})
    configured = poll(lambda: edge_cors_log_lines(envoy, "configured "), 10, "the configuration summary")
    assert "configured 1 policies: app (1 origin entries, mode=enforce, enforce_percent=100)" in configured[0]

    # Each line carries the request's x-request-id (Envoy keeps a client's from a trusted
    # address, here loopback, and generates one otherwise), to join it with access logs.
    rid = lambda n: [("x-request-id", f"rid-{n}")]  # noqa: E731
    for n in range(3):
        assert get(envoy, origin="https://evil.example.net", method="POST", extra=rid(n)).status == 200
    assert preflight(envoy, "https://evil.example.net", extra=rid(3)).status == 403
    assert preflight(envoy, 'https://quo"te.example.net', "PATCH", "x-a, x-b", extra=rid(4)).status == 403
    long_origin = "https://" + ".".join(["a" * 60] * 3) + ".example.net"  # valid, untrusted
    assert preflight(envoy, long_origin).status == 403

    lines = poll(lambda: (l := edge_cors_log_lines(envoy)) and len(l) >= 3 and l, 10, "three rejection lines")
    assert lines[0] == ('rejected: policy=app mode=enforce outcome=actual_rejected reason=origin '
                        'origin="https://evil.example.net" request_id="rid-0" suppressed=0')
    # Three more rejections from the same origin were held back and are counted here.
    assert lines[1] == ('rejected: policy=app mode=enforce outcome=preflight_rejected reason=malformed '
                        'origin="https://quo\\x22te.example.net" method="PATCH" headers="x-a, x-b" request_id="rid-4" '
                        'suppressed=3')
    capped = long_origin[:128] + f"...({len(long_origin)} bytes, {len(long_origin) - 128} more)"
    assert re.fullmatch('rejected: policy=app mode=enforce outcome=preflight_rejected reason=origin '
                        f'origin="{re.escape(capped)}" method="PUT" request_id="[0-9a-f-]{{36}}" suppressed=0',
                        lines[2]), lines[2]
    assert len(lines) == 3


def test_suppressed_rejection_lines_are_summarised_every_interval(start_envoy):
    envoy = start_envoy({"policies": [APP], "rejection_log_interval_seconds": 1})
    for _ in range(4):
        assert preflight(envoy, "https://evil.example.net").status == 403
    def summarised():
        lines = edge_cors_log_lines(envoy, "suppressed ")
        for line in lines:
            # The origin's entry may have expired by the tick (0) or not yet (1).
            assert re.fullmatch(r"suppressed [1-3] rejection log lines in the last 1s \([01] origins logged recently\)", line)
        return sum(int(line.split()[1]) for line in lines)
    # Usually one summary of 3; a tick falling between the requests splits them.
    poll(lambda: summarised() == 3, 10, "summaries of the 3 suppressed lines")
    assert len(edge_cors_log_lines(envoy)) == 1
    # The summary reported what was held back: the next line does not count it again.
    assert preflight(envoy, "https://other.example.net").status == 403
    lines = poll(lambda: (l := edge_cors_log_lines(envoy)) and len(l) == 2 and l, 10, "the second line")
    assert lines[1].startswith('rejected: policy=app mode=enforce outcome=preflight_rejected reason=origin '
                               'origin="https://other.example.net"')
    assert lines[1].endswith(" suppressed=0")


def test_report_only_mode_counts_and_logs_but_changes_no_request_or_response(start_envoy, upstream):
    envoy = start_envoy({"mode": "report_only", "policies": [APP]}, routes=ALL_METHODS_ROUTE)
    before = upstream.counts()
    rejected = preflight(envoy, "https://evil.example.net")
    allowed = preflight(envoy, "https://app.example.com", "PUT", "content-type")
    actual = get(envoy, origin="https://evil.example.net")
    # Preflights reached the upstream, whose own (wrong) CORS headers went through untouched.
    for r in (rejected, allowed, actual):
        assert r.status == 200
        assert r.cors() == {"access-control-allow-origin": "*", "access-control-allow-methods": "*"}
        assert r.values("vary") == ["accept-encoding"]
    after = upstream.counts()
    assert after.get("OPTIONS", 0) - before.get("OPTIONS", 0) == 2
    assert after["total"] - before["total"] == 3
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/app/report_only/preflight/rejected/origin": 1,
        "requests/app/report_only/preflight/allowed/none": 1,
        "requests/app/report_only/actual/rejected/origin": 1,
        "upstream_cors_replaced/app/report_only": 1,
    }
    lines = poll(lambda: edge_cors_log_lines(envoy), 10, "a rejection line")
    assert len(lines) == 1
    assert re.fullmatch(r'rejected: policy=app mode=report_only outcome=preflight_rejected reason=origin '
                        r'origin="https://evil\.example\.net" method="PUT" request_id="[0-9a-f-]{36}" suppressed=0',
                        lines[0]), lines[0]


def test_a_report_only_policy_sits_next_to_an_enforced_one(start_envoy, upstream):
    legacy = dict(PUBLIC, name="legacy", match={"path_prefixes": ["/legacy/"]}, allow_origins=["https://old.example.com"],
                  mode="report_only")
    envoy = start_envoy({"policies": [APP, legacy]}, routes=ALL_METHODS_ROUTE)
    assert preflight(envoy, "https://evil.example.net").status == 403
    r = preflight(envoy, "https://evil.example.net", path="/legacy/x")
    assert r.status == 200 and r.cors()["access-control-allow-origin"] == "*"
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/app/enforce/preflight/rejected/origin": 1,
        "requests/legacy/report_only/preflight/rejected/origin": 1,
    }


def test_enforce_percent_enforces_a_share_of_origins_and_reports_the_rest(start_envoy, upstream):
    envoy = start_envoy({"policies": [dict(APP, enforce_percent=50)]}, routes=ALL_METHODS_ROUTE)
    n = 200
    statuses = [preflight(envoy, f"https://site{i}.example.net").status for i in range(n)]
    enforced, reported = statuses.count(403), statuses.count(200)
    assert enforced + reported == n
    # The draw is a hash of each origin: 200 distinct origins at 50% give a share as a fair
    # coin would (outside [60, 140] has probability below 1e-8); a constant would give 0 or 200.
    assert 60 <= enforced <= 140, enforced
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/app/enforce/preflight/rejected/origin": enforced,
        "requests/app/report_only/preflight/rejected/origin": reported,
    }


def test_the_decision_header_explains_only_to_requests_carrying_the_secret_token(start_envoy, upstream):
    legacy = {"name": "legacy", "match": {"path_prefixes": ["/legacy/"]}, "allow_origins": ["https://old.example.com"],
              "mode": "report_only"}
    config = {"policies": [APP, legacy], "decision_header": {"token_header": "x-edge-cors-debug", "token": TOKEN}}
    envoy = start_envoy(config, routes=ALL_METHODS_ROUTE)
    token = [("x-edge-cors-debug", TOKEN)]

    r = preflight(envoy, "https://app.example.com", "PATCH", extra=token)
    assert r.status == 403
    assert r.get("x-edge-cors-decision") == "policy=app; outcome=preflight_rejected; reason=method; mode=enforce"
    r = get(envoy, origin="https://app.example.com", extra=token)
    assert r.get("x-edge-cors-decision") == "policy=app; outcome=actual_allowed; mode=enforce"
    r = get(envoy, "/legacy/x", origin="https://evil.example.net", extra=token)
    assert r.status == 200 and r.cors()["access-control-allow-origin"] == "*"
    assert r.get("x-edge-cors-decision") == "policy=legacy; outcome=actual_rejected; reason=origin; mode=report_only"
    r = get(envoy, "/elsewhere", extra=token)
    assert r.get("x-edge-cors-decision") == "policy=-; outcome=no_policy"

    # Without the token, or with a wrong one, nothing is revealed.
    for extra in ([], [("x-edge-cors-debug", TOKEN[:-1] + "X")], [("x-edge-cors-debug", TOKEN + "X")]):
        assert preflight(envoy, "https://app.example.com", "PATCH", extra=extra).get("x-edge-cors-decision") is None
        assert get(envoy, origin="https://app.example.com", extra=extra).get("x-edge-cors-decision") is None


def test_the_token_header_is_removed_before_the_request_goes_upstream(start_envoy):
    recorder = RecordingUpstream()
    try:
        config = proxy_bootstrap(free_port(), free_port(), recorder.port, [
            edge_cors_filter({"policies": [APP], "decision_header": {"token_header": "x-edge-cors-debug", "token": TOKEN}}),
            ROUTER], ALL_METHODS_ROUTE)
        envoy = start_envoy(config=config)
        for value in (TOKEN, "a wrong guess"):
            r = get(envoy, origin="https://app.example.com", extra=[("x-edge-cors-debug", value), ("x-other", "kept")])
            assert r.status == 200
        assert len(recorder.received) == 2
        for headers in recorder.received:
            names = [n for n, _ in headers]
            assert "x-edge-cors-debug" not in names
            assert ("x-other", "kept") in headers
    finally:
        recorder.stop()


REJECTING = dict(APP, reject_disallowed={"unsafe_methods": True, "websocket": True})


@pytest.fixture
def ws_upstream():
    ws = WebSocketEcho()
    yield ws
    ws.stop()


def websocket_envoy(start_envoy, upstream, ws_upstream, policy):
    routes = [route_to("ws", "/api/ws")] + ALL_METHODS_ROUTE
    config = proxy_bootstrap(free_port(), free_port(), upstream.port, [edge_cors_filter({"policies": [policy]}), ROUTER], routes)
    return start_envoy(config=add_cluster(upgrade_websockets(config), "ws", ws_upstream.port))


def test_reject_disallowed_refuses_unsafe_methods_and_websockets_from_rejected_origins(start_envoy, upstream, ws_upstream):
    envoy = websocket_envoy(start_envoy, upstream, ws_upstream, REJECTING)
    before = upstream.total()
    for method in ("POST", "DELETE", "PUT"):
        r = get(envoy, origin="https://evil.example.net", method=method)
        assert r.status == 403, method
        assert r.cors() == {} and r.values("vary") == ["origin"]
    assert upstream.total() == before  # refused before reaching the upstream

    # Safe methods from a rejected origin, and anything from a trusted one, go through.
    assert get(envoy, origin="https://evil.example.net").status == 200
    assert get(envoy, origin="https://evil.example.net", method="HEAD").status == 200
    assert get(envoy, origin="https://app.example.com", method="POST").status == 200
    assert get(envoy, method="POST").status == 200  # no Origin: not a browser cross-origin request
    assert upstream.total() == before + 4

    status, head, _ = websocket_exchange(envoy.port, "/api/ws", "https://evil.example.net", b"hi")
    assert status == 403, head
    assert ws_upstream.upgrades == 0
    status, head, echoed = websocket_exchange(envoy.port, "/api/ws", "https://app.example.com", b"hello")
    assert status == 101, head
    assert echoed == b"echo:hello"
    assert ws_upstream.upgrades == 1

    stats = nonzero(edge_cors_stats(envoy))
    assert stats == {
        "requests/app/enforce/actual/blocked/unsafe_method": 3,
        "requests/app/enforce/actual/blocked/websocket": 1,
        "requests/app/enforce/actual/rejected/origin": 2,
        "requests/app/enforce/actual/allowed/none": 2,
        "requests/app/enforce/not_cors/none/none": 1,
        # GET and HEAD from evil and the POST from app reached the upstream with its ACAO.
        "upstream_cors_replaced/app/enforce": 3,
    }


def test_without_reject_disallowed_cors_stays_browser_enforced(start_envoy, upstream, ws_upstream):
    envoy = websocket_envoy(start_envoy, upstream, ws_upstream, APP)
    r = get(envoy, origin="https://evil.example.net", method="POST")
    assert r.status == 200 and r.cors() == {}
    status, head, echoed = websocket_exchange(envoy.port, "/api/ws", "https://evil.example.net", b"x")
    assert status == 101, head
    assert echoed == b"echo:x"


def test_reject_disallowed_in_report_only_mode_counts_what_it_would_block(start_envoy, upstream, ws_upstream):
    envoy = websocket_envoy(start_envoy, upstream, ws_upstream, dict(REJECTING, mode="report_only"))
    assert get(envoy, origin="https://evil.example.net", method="POST").status == 200
    status, head, echoed = websocket_exchange(envoy.port, "/api/ws", "https://evil.example.net", b"y")
    assert status == 101 and echoed == b"echo:y"
    assert nonzero(edge_cors_stats(envoy)) == {
        "requests/app/report_only/actual/blocked/unsafe_method": 1,
        "requests/app/report_only/actual/blocked/websocket": 1,
        "upstream_cors_replaced/app/report_only": 1,
    }
