"""The operations assets as files: every runbook link of the alerts and the probe lands on a
section of docs/runbook.md, and the dashboard is what Grafana's schema library makes of it."""
import json
import re
import sys

import yaml

from harness import ROOT

RUNBOOK = ROOT / "docs" / "runbook.md"


def anchors(markdown: str) -> set:
    """GitHub's anchors of the headings: lower-case, punctuation dropped, spaces as `-`."""
    out = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        out.add(re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-"))
    return out


def test_every_alert_has_a_runbook_link_to_a_section_that_exists():
    sections = anchors(RUNBOOK.read_text())
    rules = yaml.safe_load((ROOT / "operations" / "prometheus" / "rules.yml").read_text())
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    assert len(alerts) == 7
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url.startswith("docs/runbook.md#") and url.split("#")[1] in sections, (alert["alert"], url)


def test_every_runbook_link_the_probe_prints_lands_on_a_section():
    source = (ROOT / "crates" / "edge-cors-check" / "src" / "cmd" / "probe.rs").read_text()
    links = set(re.findall(r"docs/runbook\.md#([a-z-]+)", source))
    assert len(links) >= 6 and links <= anchors(RUNBOOK.read_text()), links - anchors(RUNBOOK.read_text())


def test_the_dashboard_is_the_schema_librarys_own_form_and_unknown_fields_would_show():
    sys.path.insert(0, str(ROOT / "operations" / "grafana"))
    import dashboard
    shipped = json.loads((ROOT / "operations" / "grafana" / "edge-cors.json").read_text())
    assert dashboard.canonical(shipped) == shipped
    assert shipped == dashboard.dashboard_json()
    tampered = json.loads(json.dumps(shipped))
    tampered["panels"][1]["targetz"] = tampered["panels"][1].pop("targets")
    assert dashboard.canonical(tampered) != tampered
    titles = [p["title"] for p in shipped["panels"] if p["type"] == "row"]
    assert titles == ["Executive: service-level indicators per policy", "On call", "Debug"]


def yaml_blocks(markdown: str) -> list:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", markdown, re.S)]


def test_the_envoy_and_istio_snippets_of_the_operations_guide_are_the_configuration_the_tests_run():
    from harness.envoy_config import (EDGE_CORS_LABELS, EDGE_CORS_STATS_TAGS, PREFLIGHT_LATENCY_LOGGER,
                                      SRE_ACCESS_LOG_FIELDS)
    blocks = yaml_blocks((ROOT / "docs" / "operations.md").read_text())
    assert {"stats_config": {"stats_tags": EDGE_CORS_STATS_TAGS}} in blocks
    assert {"meshConfig": {"defaultConfig": {"extraStatTags": list(EDGE_CORS_LABELS)}}} in blocks
    assert {"access_log": [PREFLIGHT_LATENCY_LOGGER]} in blocks
    (logged,) = [b["access_log"][0] for b in blocks if "json_format" in json.dumps(b)]
    assert logged["typed_config"]["log_format"]["json_format"] == SRE_ACCESS_LOG_FIELDS
    # The shipped bootstraps carry the same rules.
    for shipped in ("envoy.yaml", "ecds/envoy.yaml"):
        config = yaml.safe_load((ROOT / "envoy" / shipped).read_text())
        assert config["stats_config"]["stats_tags"] == EDGE_CORS_STATS_TAGS, shipped
