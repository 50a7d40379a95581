"""A real Prometheus (Debian's) scraping a real Envoy with edge-cors after a scripted traffic mix:
every recording rule of operations/prometheus/rules.yml and every query of the dashboard
operations/grafana/edge-cors.json returns the values the mix implies, and the one alert the
mix triggers (a rejected configuration update) fires, alone.

Envoy is the shipped ECDS bootstrap (envoy/ecds/envoy.yaml) with the preflight latency
histogram of the access-log recipe, so configuration updates and their results are real too.
Every counter exists at 0 before the first scrape, so a ratio of two rates over the same
samples is exact; a rate alone is the increase over the window with Prometheus's
extrapolation, checked within 10%.
"""
import hashlib
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import yaml

from harness import ROOT
from harness.client import request
from harness.envoy_config import with_preflight_latency_histogram
from harness.processes import Envoy, Prometheus, edge_cors_stats, free_port, poll, prometheus_samples

from harness.ecds import install, shipped_bootstrap_text

RULES = ROOT / "operations" / "prometheus" / "rules.yml"
DASHBOARD = ROOT / "operations" / "grafana" / "edge-cors.json"
# How the test stands in for Grafana's variables: every policy, a 5-minute rate window, a
# range longer than the test.
GRAFANA_VARIABLES = {"$policy": ".*", "$__rate_interval": "5m", "$__range": "10m"}

APP = {"name": "app", "match": {"path_prefixes": ["/api/"]}, "allow_origins": ["https://app.example.com"],
       "allow_methods": ["PUT"], "allow_headers": ["content-type"], "allow_credentials": True,
       "reject_disallowed": {"unsafe_methods": True}}
PUBLIC = {"name": "public", "match": {"path_prefixes": ["/public/"]}, "allow_origins": ["*"], "allow_methods": ["GET"]}
LEGACY = {"name": "legacy", "match": {"path_prefixes": ["/legacy/"]}, "allow_origins": ["https://old.example.com"],
          "mode": "report_only"}
CONFIG = {"version": "v1", "policies": [APP, PUBLIC, LEGACY]}


@dataclass
class Send:
    """`times` requests and the decision edge-cors must count for each: (policy, mode, kind,
    outcome, reason), or None when no policy matches; `cookie` marks a credentialed request and
    `credentialed` its expected outcome."""
    times: int
    method: str
    path: str
    origin: str | None
    decision: tuple | None
    acrm: str | None = None
    acrh: str | None = None
    cookie: bool = False
    credentialed: str | None = None

    def headers(self):
        h = [("origin", self.origin)] if self.origin else []
        h += [("access-control-request-method", self.acrm)] if self.acrm else []
        h += [("access-control-request-headers", self.acrh)] if self.acrh else []
        return h + ([("cookie", "session=1")] if self.cookie else [])


APP_O, EVIL_O, OLD_O = "https://app.example.com", "https://evil.example", "https://old.example.com"
E, RO = "enforce", "report_only"
# Phase 1 creates the latency histogram's series (one per decision), which Prometheus then
# sees at their first value: the latency checks use phase 2 only.
PHASE_1 = [
    Send(1, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "allowed", "none"), acrm="PUT"),
    Send(1, "OPTIONS", "/api/x", EVIL_O, ("app", E, "preflight", "rejected", "origin"), acrm="PUT"),
    Send(1, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "rejected", "headers"), acrm="PUT", acrh="x-secret"),
    Send(1, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "rejected", "method"), acrm="PATCH"),
    Send(1, "OPTIONS", "/public/x", EVIL_O, ("public", E, "preflight", "allowed", "none"), acrm="GET"),
]
PHASE_2 = [
    Send(5, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "allowed", "none"), acrm="PUT", acrh="content-type"),
    Send(2, "OPTIONS", "/api/x", EVIL_O, ("app", E, "preflight", "rejected", "origin"), acrm="PUT"),
    Send(1, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "rejected", "headers"), acrm="PUT", acrh="x-secret"),
    Send(1, "OPTIONS", "/api/x", APP_O, ("app", E, "preflight", "rejected", "method"), acrm="PATCH"),
    Send(4, "GET", "/api/x", APP_O, ("app", E, "actual", "allowed", "none"), cookie=True, credentialed="allowed"),
    Send(4, "GET", "/api/x", APP_O, ("app", E, "actual", "allowed", "none")),
    Send(1, "GET", "/api/x", EVIL_O, ("app", E, "actual", "rejected", "origin"), cookie=True, credentialed="rejected"),
    Send(1, "GET", "/api/x", EVIL_O, ("app", E, "actual", "rejected", "origin")),
    Send(1, "POST", "/api/x", EVIL_O, ("app", E, "actual", "blocked", "unsafe_method"), cookie=True,
         credentialed="rejected"),
    Send(5, "GET", "/api/x", None, ("app", E, "not_cors", "none", "none")),
    # `*` answers no credentialed request the browser accepts.
    Send(2, "GET", "/public/x", EVIL_O, ("public", E, "actual", "allowed", "none"), cookie=True,
         credentialed="credentials_not_allowed"),
    Send(1, "OPTIONS", "/public/x", EVIL_O, ("public", E, "preflight", "allowed", "none"), acrm="GET"),
    Send(3, "GET", "/legacy/x", EVIL_O, ("legacy", RO, "actual", "rejected", "origin")),
    Send(1, "GET", "/legacy/x", OLD_O, ("legacy", RO, "actual", "allowed", "none")),
    Send(1, "OPTIONS", "/legacy/x", EVIL_O, ("legacy", RO, "preflight", "rejected", "origin"), acrm="PUT"),
    Send(2, "GET", "/elsewhere", None, None),
]


class Expected:
    """What the whole mix implies for every counter."""

    def __init__(self, sends):
        self.requests, self.credentialed, self.replaced, self.unmatched = Counter(), Counter(), Counter(), 0
        for s in sends:
            if s.decision is None:
                self.unmatched += s.times
                continue
            self.requests[s.decision] += s.times
            policy, mode, kind, outcome, _ = s.decision
            if s.credentialed:
                self.credentialed[(policy, mode, s.credentialed)] += s.times
            # scripts/upstream.py sets its own ACAO on every answer: each forwarded actual
            # CORS request has it replaced (or, in report-only mode, would have).
            if kind == "actual" and outcome in ("allowed", "rejected"):
                self.replaced[(policy, mode)] += s.times

    def count(self, policy=None, mode=None, kind=None, outcome=None, reason=None):
        want = (policy, mode, kind, outcome, reason)
        return sum(n for key, n in self.requests.items()
                   if all(w is None or (k in w if isinstance(w, tuple) else k == w) for k, w in zip(key, want)))

    def ratio(self, numerator: int, denominator: int) -> float:
        return numerator / denominator if denominator else math.nan


def same(value: float, expected: float) -> bool:
    return (math.isnan(value) and math.isnan(expected)) or abs(value - expected) < 1e-9


def near_rate(value: float, increase: float, window_s: float, sampled_s: float) -> bool:
    """A rate (per `window_s`) or increase (`window_s` 1) from Prometheus for `increase` requests,
    over `sampled_s` seconds of samples 1 s apart. Prometheus extrapolates past the last sample by
    at most 1.1 intervals, and before the first by half an interval for a counter that was not
    at 0 in the first scrape (the ECDS counters: the first load came before it)."""
    if increase == 0:
        return value == 0
    factor = value * window_s / increase
    return 1 - 1e-9 <= factor <= 1 + 1.6 / sampled_s


def extrapolated_rate(points: list, at: float, range_s: float) -> float:
    """rate() of a counter's samples [(t, v)] in (at - range_s, at], computed the way Prometheus
    documents it: the increase from the first to the last sample, extrapolated towards the
    window's ends (no further than where the counter would reach 0, and by at most 1.1 average
    sample intervals), per second of the window."""
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    increase = last_v - first_v
    sampled = last_t - first_t
    average = sampled / (len(points) - 1)
    to_start, to_end = first_t - (at - range_s), at - last_t
    if increase > 0 and first_v >= 0:
        to_start = min(to_start, sampled * first_v / increase)
    threshold = average * 1.1
    interval = sampled + (to_start if to_start < threshold else average / 2) + (to_end if to_end < threshold else average / 2)
    return increase * interval / sampled / range_s


def histogram_quantile(q: float, buckets: dict) -> float:
    """The q-quantile of cumulative `buckets` {le: count}, interpolated linearly within the
    bucket that holds it, as Prometheus's histogram_quantile does."""
    bounds = sorted(buckets)
    rank = q * buckets[math.inf]
    lower, below = 0.0, 0.0
    for le in bounds:
        if buckets[le] >= rank:
            if le == math.inf:
                return lower
            return lower + (le - lower) * (rank - below) / (buckets[le] - below)
        lower, below = le, buckets[le]
    raise AssertionError(buckets)


def histogram_buckets(envoy) -> dict:
    """Envoy's preflight latency buckets by policy: {policy: {le: count}} (all decisions)."""
    out: dict = {}
    for (name, labels), v in prometheus_samples(envoy.admin("/stats/prometheus")).items():
        if name == "envoy_edge_cors_preflight_duration_us_bucket":
            labels = dict(labels)
            policy = re.match(r"policy=([^;]*);", labels["edge_cors_decision"]).group(1)
            le = math.inf if labels["le"] == "+Inf" else float(labels["le"])
            out.setdefault(policy, Counter())[le] += v
    return out


def default_config_policies(node) -> set:
    """The policies of the bootstrap's ECDS `default_config` (the cold-start configuration): loaded
    at start, their counters exist, at 0, next to the mix's."""
    if isinstance(node, dict):
        if "default_config" in node:
            value = node["default_config"]["config"]["configuration"]["value"]
            return {p["name"] for p in json.loads(value)["policies"]}
        return set().union(*(default_config_policies(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(default_config_policies(v) for v in node))
    return set()


def send_all(envoy, sends):
    for s in sends:
        for _ in range(s.times):
            request(envoy.port, s.method, s.path, s.headers())


def dashboard_queries() -> list:
    """(panel title, PromQL) of every target of the dashboard, Grafana's variables replaced."""
    dashboard = json.loads(DASHBOARD.read_text())
    out = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            out.append((panel["title"], expr))
    return out


@pytest.fixture
def stack(upstream, tmp_path):
    """Envoy (shipped ECDS bootstrap + latency histogram) and Prometheus scraping it."""
    watched = tmp_path / "ecds"
    watched.mkdir()
    install(watched, CONFIG)
    port, admin = free_port(), free_port()
    config = yaml.safe_load(shipped_bootstrap_text(port, admin, free_port(), upstream.port, watched))
    config = with_preflight_latency_histogram(config)
    config["stats_flush_interval"] = "1s"
    envoy = Envoy(config, tmp_path / "envoy")
    envoy.idle_policies = default_config_policies(config)
    prometheus = Prometheus([f"127.0.0.1:{admin}"], [RULES], tmp_path / "prometheus")
    try:
        envoy.start()
        prometheus.start()
        yield envoy, prometheus, watched
    finally:
        prometheus.stop()
        envoy.stop()
        if getattr(envoy, "failed", False):
            print(prometheus.log()[-5000:])


def scraped_after(prometheus, t: float):
    """Poll until Prometheus has a scrape of Envoy taken after `t` and a rule evaluation after
    that scrape."""
    def done():
        scrape = prometheus.query("timestamp(up)")
        rule = prometheus.query("timestamp(edge_cors:config_served:info)")
        return scrape and rule and scrape[0][1] > t and min(v for _, v in rule) > scrape[0][1] and rule[0][1]
    return poll(done, 30, "a scrape and a rule evaluation after the traffic", interval=0.2)


def test_every_recording_rule_and_dashboard_query_returns_what_the_traffic_mix_implies(stack):
    envoy, prometheus, watched = stack
    stat = "extension_config_discovery.http_filter.edge-cors."
    # Every counter at 0 in Prometheus before any traffic.
    poll(lambda: prometheus.query("edge_cors_unmatched_requests_total == 0"), 30, "a first scrape")
    scraped_after(prometheus, time.time())

    send_all(envoy, PHASE_1)
    poll(lambda: sum(c[math.inf] for c in histogram_buckets(envoy).values()) == len(PHASE_1), 20, "the histogram flush")
    scraped_after(prometheus, time.time())
    send_all(envoy, PHASE_2)
    # A new version of the configuration, then one edge-cors refuses (`*` with credentials).
    install(watched, dict(CONFIG, version="v2"))
    poll(lambda: envoy.stats()[stat + "update_success"] == 2, 30, "the v2 update")
    install(watched, {"policies": [dict(APP, allow_origins=["*"])]})
    poll(lambda: envoy.stats()[stat + "update_rejected"] == 1, 30, "the refused update")
    poll(lambda: sum(c[math.inf] for c in histogram_buckets(envoy).values()) == len(PHASE_1) + 10, 20,
         "the histogram flush of phase 2's 10 answered preflights")
    done = time.time()
    at = scraped_after(prometheus, done)

    # Envoy counted exactly the mix (the oracle the rest is checked against).
    mix = Expected(PHASE_1 + PHASE_2)
    counted = {k: v for k, v in edge_cors_stats(envoy).items() if v}
    want = {"/".join(["requests", *k]): n for k, n in mix.requests.items()}
    want |= {"/".join(["credentialed_requests", *k]): n for k, n in mix.credentialed.items()}
    want |= {"/".join(["upstream_cors_replaced", *k]): n for k, n in mix.replaced.items()}
    want |= {"unmatched_requests": mix.unmatched}
    assert counted == want

    # The v2 configuration's identity, as the filter logged it at load.
    v2_sha = hashlib.sha256((json.dumps(dict(CONFIG, version="v2"), indent=2) + "\n").encode()).hexdigest()
    assert f"config sha256={v2_sha} version=v2" in envoy.log()

    # The seconds of samples a window at `at` holds (every series was scraped from the start).
    (up,) = prometheus.api("query", query="up[10m]", time=f"{at:.3f}")["result"]
    sampled = up["values"][-1][0] - up["values"][0][0]

    def near(value, increase, window_s):
        return near_rate(value, increase, window_s, sampled)

    cors = ("preflight", "actual")
    refused = ("rejected", "blocked")
    policies = ("app", "public", "legacy")
    idle = envoy.idle_policies
    assert idle == {"cold-start-default"}
    every = set(policies) | idle
    def by_policy(expr):
        return {labels.get("edge_cors_policy"): v for labels, v in prometheus.query(expr, at)}

    def check_ratio(expr, numerator, denominator):
        got = by_policy(expr)
        expected = {p: mix.ratio(numerator(p), denominator(p)) for p in every}
        assert got.keys() == every, (expr, got)
        for p in every:
            assert same(got[p], expected[p]), (expr, p, got[p], expected[p])

    def check_latency(expr):
        """The rule's p99 per policy, recomputed from the histogram's raw samples at the time the
        rule was evaluated: its policy taken from the decision, its microseconds in seconds."""
        got = by_policy(expr)
        rule = 'edge_cors_policy:edge_cors_preflight_latency_seconds:p99_5m{edge_cors_policy="app"}'
        (_, evaluated), = prometheus.query(f"timestamp({rule})", at)
        data = prometheus.api("query", query="envoy_edge_cors_preflight_duration_us_bucket[5m]", time=f"{evaluated:.3f}")
        rates: dict = {}
        for r in data["result"]:
            policy = re.match(r"policy=([^;]*);", r["metric"]["edge_cors_decision"]).group(1)
            le = math.inf if r["metric"]["le"] == "+Inf" else float(r["metric"]["le"])
            points = [(t, float(v)) for t, v in r["values"]]
            rates.setdefault(policy, Counter())[le] += extrapolated_rate(points, evaluated, 300)
        # Report-only preflights go to the upstream: only the enforced policies answer any.
        assert sorted(rates) == ["app", "public"]
        for p, buckets in rates.items():
            want = histogram_quantile(0.99, buckets) / 1e6
            # Relative 1e-6: the rates are recomputed here from the raw samples' float timestamps,
            # which Prometheus holds in milliseconds; the last digits differ (seen: 2.5e-9).
            assert abs(got[p] - want) <= 1e-6 * want, (p, got[p], want)
            assert 0 < got[p] < 0.5
        assert set(got) == {"app", "public"}

    def check_cors_rate(expr):
        got = {(l["edge_cors_policy"], l["edge_cors_mode"]): v for l, v in prometheus.query(expr, at)}
        for (p, m), v in got.items():
            assert near(v, mix.count(p, m, cors), 300), (p, m, v)
        assert {k for k, v in got.items() if v} == {("app", E), ("public", E), ("legacy", RO)}

    served = {("v2", v2_sha): 1.0}

    def check_served(expr):
        got = {(l["edge_cors_config_version"], l["edge_cors_config_sha256"]): v for l, v in prometheus.query(expr, at)}
        assert got == served

    rules = {
        "edge_cors_policy:edge_cors_cors_requests:rate5m": check_cors_rate,
        "edge_cors_policy:edge_cors_block_ratio:rate5m": lambda e: check_ratio(
            e, lambda p: mix.count(p, E, cors, refused), lambda p: mix.count(p, E, cors)),
        "edge_cors_policy:edge_cors_preflight_failure_ratio:rate5m": lambda e: check_ratio(
            e, lambda p: mix.count(p, E, "preflight", "rejected"), lambda p: mix.count(p, E, "preflight")),
        "edge_cors_policy:edge_cors_credentialed_success_ratio:rate5m": lambda e: check_ratio(
            e, lambda p: mix.credentialed[(p, E, "allowed")],
            lambda p: sum(n for (q, m, _), n in mix.credentialed.items() if (q, m) == (p, E))),
        "edge_cors_policy:edge_cors_preflight_latency_seconds:p99_5m": check_latency,
        "edge_cors_policy:edge_cors_report_only_block_ratio:rate5m": lambda e: check_ratio(
            e, lambda p: mix.count(p, RO, cors, refused), lambda p: mix.count(p, RO, cors)),
        # No day of history yet: no baseline.
        "edge_cors_policy:edge_cors_block_ratio:avg1d": lambda e: prometheus.query(e, at) == [],
        "edge_cors_policy:edge_cors_preflight_failure_ratio:avg1d": lambda e: prometheus.query(e, at) == [],
        "edge_cors:config_served:info": check_served,
    }
    recorded = [r["record"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "record" in r]
    assert sorted(recorded) == sorted(rules), "every recording rule has its expectation here"
    for name, check in rules.items():
        assert check(name) is not False, name

    # The dashboard: every query, the policy variable's values included.
    values = prometheus.api("label/edge_cors_policy/values", **{"match[]": "edge_cors_requests_total"})
    assert set(values) == every

    def rows(expr):
        return prometheus.query(expr, at)

    def check_top_reasons(expr):
        got = {(l["edge_cors_policy"], l["edge_cors_kind"], l["edge_cors_reason"]): v for l, v in rows(expr)}
        want = Counter()
        for (p, m, k, o, r), n in mix.requests.items():
            if m == E and o in refused:
                want[(p, k, r)] += n
        assert got.keys() == want.keys()
        for key, n in want.items():
            assert near(got[key], n, 1), (key, got[key], n)

    def check_decisions(expr):
        got = {(l["edge_cors_policy"], l["edge_cors_mode"], l["edge_cors_kind"], l["edge_cors_outcome"],
                l["edge_cors_reason"]): v for l, v in rows(expr)}
        # Every slot of every policy is there, at 0 when the mix has none of it.
        assert len(got) == len(every) * 2 * 11
        for key, v in got.items():
            assert near(v, mix.requests.get(key, 0), 300), (key, v)

    def check_credentialed(expr):
        got = {(l["edge_cors_policy"], l["edge_cors_mode"], l["edge_cors_outcome"]): v for l, v in rows(expr)}
        assert len(got) == len(every) * 2 * 3
        for key, v in got.items():
            assert near(v, mix.credentialed.get(key, 0), 300), (key, v)

    def check_replaced(expr):
        got = {(l["edge_cors_policy"], l["edge_cors_mode"]): v for l, v in rows(expr)}
        assert len(got) == len(every) * 2
        for key, v in got.items():
            assert near(v, mix.replaced.get(key, 0), 300), (key, v)

    def check_unmatched(expr):
        (labels, v), = rows(expr)
        assert labels == {"instance": f"127.0.0.1:{envoy.admin_port}"} and near(v, mix.unmatched, 300)

    def check_memory(expr):
        (_, v), = rows(expr)
        assert v == envoy.stats()["wasmcustom.edge_cors_vm_memory_bytes"] and v >= 65536

    def check_ecds(expr):
        # The first load came before the first scrape: the window holds v2 and the refusal.
        result = re.search(r"_update_(\w+)", expr).group(1)
        (_, v), = rows(expr)
        assert near(v, {"success": 1, "rejected": 1, "failure": 0}[result], 1), (result, v)

    panels = {
        "Refused CORS requests": rules["edge_cors_policy:edge_cors_block_ratio:rate5m"],
        "Refused preflights": rules["edge_cors_policy:edge_cors_preflight_failure_ratio:rate5m"],
        "Credentialed requests the browser accepts": rules["edge_cors_policy:edge_cors_credentialed_success_ratio:rate5m"],
        "Preflight latency (p99)": check_latency,
        "Top refusal reasons": check_top_reasons,
        "Report-only: would refuse": rules["edge_cors_policy:edge_cors_report_only_block_ratio:rate5m"],
        "Configuration served by each proxy": check_served,
        "ECDS updates of the filter": check_ecds,
        "Decisions": check_decisions,
        "Credentialed requests": check_credentialed,
        "Upstream CORS headers replaced": check_replaced,
        "Requests no policy matched": check_unmatched,
        "Wasm VM memory": check_memory,
        "Proxies serving edge-cors": lambda e: rows(e) == [({}, 1.0)],
    }
    queries = dashboard_queries()
    assert {title for title, _ in queries} == set(panels), "every dashboard panel has its expectation here"
    assert len(queries) == len(panels) + 2, "the ECDS panel has a query per result, the others one"
    for title, expr in queries:
        assert panels[title](expr) is not False, (title, expr)

    # The one alert the mix implies: the refused update (the others need more traffic or time).
    alerts = poll(lambda: prometheus.api("alerts")["alerts"], 20, "an alert")
    assert [(a["labels"]["alertname"], a["state"]) for a in alerts] == [("EdgeCorsConfigUpdateRejected", "firing")]
