#!/usr/bin/env python3
"""Builds operations/grafana/edge-cors.json, the edge-cors Grafana dashboard, with Grafana's
own schema library (the grafana-foundation-sdk package: typed builders of the dashboard model
Grafana imports).

    python3 operations/grafana/dashboard.py > operations/grafana/edge-cors.json

Three rows: executive (the four SLIs per policy, from the recording rules of
operations/prometheus/rules.yml), on-call (top refusal reasons, what report-only policies would
refuse, the configuration each proxy serves, ECDS update results), debug (every decision, the
credentialed requests, the upstream's CORS headers, unmatched requests, the VM's memory).
tests/sre/test_prometheus.py evaluates every query here against a real Prometheus.
"""
from __future__ import annotations

import json
import sys

from itertools import count

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.common import BigValueGraphMode, LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import Dashboard, DataSourceRef, VariableRefresh, VariableSort

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
POLICY = 'edge_cors_policy=~"$policy"'
RATE = "[$__rate_interval]"


# Panel ids, unique in the dashboard.
_ids = count(1)


def query(expr: str, legend: str = "", instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().ref_id("A").expr(expr).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    return q.instant() if instant else q.range()


def series(title: str, unit: str, expr: str, legend: str, description: str, width: int = 12) -> timeseries.Panel:
    shown = (common.VizLegendOptions().display_mode(LegendDisplayMode.LIST).placement(LegendPlacement.BOTTOM)
             .show_legend(True))
    return (timeseries.Panel().id(next(_ids)).title(title).description(description).datasource(DATASOURCE)
            .unit(unit).legend(shown).with_target(query(expr, legend)).height(8).span(width))


def instant_table(title: str, expr: str, description: str, width: int = 12) -> table.Panel:
    return (table.Panel().id(next(_ids)).title(title).description(description).datasource(DATASOURCE)
            .show_header(True).with_target(query(expr, instant=True)).height(8).span(width))


def ecds_updates() -> table.Panel:
    """One query per result: Envoy's ECDS counters carry the filter's resource name in the metric
    name, so each result is its own name."""
    panel = (table.Panel().id(next(_ids)).title("ECDS updates of the filter").datasource(DATASOURCE).show_header(True)
             .description("Configuration updates Envoy accepted, rejected (edge-cors refused the configuration) "
                          "or failed to fetch, in the time range.").height(8).span(12))
    for ref, result in zip("ABC", ("success", "rejected", "failure")):
        expr = (f'sum(increase({{__name__=~"envoy_extension_config_discovery_http_filter_.*edge_cors.*_update_{result}"}}'
                "[$__range]))")
        panel = panel.with_target(query(expr, result, instant=True).ref_id(ref))
    return panel


def build() -> dashboard.Dashboard:
    policy_variable = (dashboard.QueryVariable("policy").label("Policy").datasource(DATASOURCE)
                       .query("label_values(edge_cors_requests_total, edge_cors_policy)")
                       .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
                       .multi(True).include_all(True).all_value(".*"))
    datasource_variable = dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
    return (
        dashboard.Dashboard("edge-cors")
        .uid("edge-cors")
        .description("edge-cors: the CORS SLIs per policy, what to look at on call, and every decision")
        .tags(["edge-cors", "cors", "envoy"])
        .refresh("1m")
        .time("now-6h", "now")
        .with_variable(datasource_variable)
        .with_variable(policy_variable)
        .with_row(dashboard.Row("Executive: service-level indicators per policy").id(next(_ids)))
        .with_panel(series(
            "Refused CORS requests", "percentunit",
            f"edge_cors_policy:edge_cors_block_ratio:rate5m{{{POLICY}}}", "{{edge_cors_policy}}",
            "Share of CORS requests (preflight and actual, enforced) the policy refuses: each is a page "
            "request the browser fails."))
        .with_panel(series(
            "Refused preflights", "percentunit",
            f"edge_cors_policy:edge_cors_preflight_failure_ratio:rate5m{{{POLICY}}}", "{{edge_cors_policy}}",
            "Share of preflights answered 403."))
        .with_panel(series(
            "Credentialed requests the browser accepts", "percentunit",
            f"edge_cors_policy:edge_cors_credentialed_success_ratio:rate5m{{{POLICY}}}", "{{edge_cors_policy}}",
            "Share of CORS requests with cookies that get a credentialed answer (trusted origin, "
            "allow_credentials)."))
        .with_panel(series(
            "Preflight latency (p99)", "s",
            f"edge_cors_policy:edge_cors_preflight_latency_seconds:p99_5m{{{POLICY}}}", "{{edge_cors_policy}}",
            "99th percentile of Envoy's time for the preflights edge-cors answers (access-log histogram)."))
        .with_row(dashboard.Row("On call").id(next(_ids)))
        .with_panel(instant_table(
            "Top refusal reasons",
            "topk(10, sum by (edge_cors_policy, edge_cors_kind, edge_cors_reason) (increase(edge_cors_requests_total"
            f'{{edge_cors_mode="enforce", edge_cors_outcome=~"rejected|blocked", {POLICY}}}[$__range]))) > 0',
            "Refused requests in the time range, by policy, kind and reason (origin, method, headers, "
            "malformed, unsafe_method, websocket)."))
        .with_panel(series(
            "Report-only: would refuse", "percentunit",
            f"edge_cors_policy:edge_cors_report_only_block_ratio:rate5m{{{POLICY}}}", "{{edge_cors_policy}}",
            "Share of the CORS requests of report-only policies (and of the report-only part of a "
            "rollout) that enforcement would refuse."))
        .with_panel(instant_table(
            "Configuration served by each proxy",
            "edge_cors:config_served:info",
            "The SHA-256 and version of the configuration each proxy loaded last (compare with "
            "`edge-cors-check` on the file)."))
        .with_panel(ecds_updates())
        .with_row(dashboard.Row("Debug").id(next(_ids)))
        .with_panel(series(
            "Decisions", "reqps",
            "sum by (edge_cors_policy, edge_cors_mode, edge_cors_kind, edge_cors_outcome, edge_cors_reason) "
            f"(rate(edge_cors_requests_total{{{POLICY}}}{RATE}))",
            "{{edge_cors_policy}} {{edge_cors_mode}} {{edge_cors_kind}} {{edge_cors_outcome}} {{edge_cors_reason}}",
            "Every decision per second.", 24))
        .with_panel(series(
            "Credentialed requests", "reqps",
            "sum by (edge_cors_policy, edge_cors_mode, edge_cors_outcome) "
            f"(rate(edge_cors_credentialed_requests_total{{{POLICY}}}{RATE}))",
            "{{edge_cors_policy}} {{edge_cors_mode}} {{edge_cors_outcome}}",
            "CORS requests with cookies per second: allowed, rejected, or credentials_not_allowed (a "
            "trusted origin under a policy without allow_credentials, or `*`)."))
        .with_panel(series(
            "Upstream CORS headers replaced", "reqps",
            f"sum by (edge_cors_policy, edge_cors_mode) (rate(edge_cors_upstream_cors_replaced_total{{{POLICY}}}{RATE}))",
            "{{edge_cors_policy}} {{edge_cors_mode}}",
            "Responses on which the upstream set Access-Control-Allow-Origin itself (report-only: "
            "enforcement would replace it)."))
        .with_panel(series(
            "Requests no policy matched", "reqps",
            f"sum by (instance) (rate(edge_cors_unmatched_requests_total{RATE}))", "{{instance}}",
            "Requests outside every policy's match: a route the policies do not cover."))
        .with_panel(series(
            "Wasm VM memory", "bytes",
            "max by (instance) (edge_cors_vm_memory_bytes)", "{{instance}}",
            "The filter VM's linear memory (a high-water mark: growth is a leak)."))
        .with_panel(stat.Panel().id(next(_ids)).title("Proxies serving edge-cors").datasource(DATASOURCE)
                    .graph_mode(BigValueGraphMode.NONE)
                    .description("Proxies whose edge-cors reports a loaded configuration.")
                    .with_target(query("count(edge_cors:config_served:info)", instant=True)).height(8).span(6))
    )


def canonical(data: dict) -> dict:
    """`data` read into the library's dashboard model and written back: fields the model does not
    know are dropped, and each panel type's defaults written out. A dashboard equal to its
    canonical form has nothing Grafana's schema lacks."""
    register_default_plugins()
    return json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))


def dashboard_json() -> dict:
    """The dashboard as Grafana imports it, in canonical form."""
    return canonical(json.loads(json.dumps(build().build(), cls=JSONEncoder)))


if __name__ == "__main__":
    json.dump(dashboard_json(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
