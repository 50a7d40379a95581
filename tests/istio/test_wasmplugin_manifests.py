"""The WasmPlugin manifests in envoy/istio/ are examples that cannot break a gateway: they name
the placeholder image REGISTRY/DIGEST, which the checker and the API server refuse. With a real
digest in its place they are what the API server accepts (the vendored Istio 1.30 CRD schema,
strict, plus its CEL rules), deploy edge-cors the documented way, and carry a pluginConfig the
filter itself accepts: through the native checker (the filter's validation) and through the real
filter in Envoy (`envoy --mode validate` runs on_configure)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import ROOT
from harness.envoy_config import ROUTER, direct_response_route, proxy_bootstrap, wasm_filter
from harness.processes import Envoy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wasmplugin_schema as schema  # noqa: E402

MANIFESTS = sorted((ROOT / "envoy" / "istio").glob("*.yaml"))
CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")
def workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^\[workspace\.package\]\n(?:.*\n)*?version = "([^"]+)"', text, re.M).group(1)


def documents(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def plugins() -> list[tuple[str, dict]]:
    return [(f"{p.name}#{i}", d) for p in MANIFESTS for i, d in enumerate(documents(p))]


def sample() -> dict:
    """A valid manifest to mutate in the negative tests."""
    return schema.with_a_digest(documents(ROOT / "envoy" / "istio" / "ingress-gateway.yaml")[0])


def test_there_is_a_manifest_for_an_ingress_gateway_selector_and_one_for_gateway_api_target_refs():
    specs = [d["spec"] for _, d in plugins()]
    assert any("selector" in s and s["selector"]["matchLabels"] == {"istio": "ingressgateway"} for s in specs)
    assert any(
        "targetRefs" in s
        and all(r["group"] == "gateway.networking.k8s.io" and r["kind"] == "Gateway" for r in s["targetRefs"])
        for s in specs
    )


@pytest.mark.parametrize("name,manifest", plugins(), ids=[n for n, _ in plugins()])
def test_every_manifest_with_a_real_digest_is_accepted_by_the_crd_schema_and_its_cel_rules(name, manifest):
    assert schema.validate(schema.with_a_digest(manifest)) == []


@pytest.mark.parametrize("name,manifest", plugins(), ids=[n for n, _ in plugins()])
def test_as_shipped_the_api_server_refuses_every_manifest_for_its_placeholder_digest_alone(name, manifest):
    errors = schema.validate(manifest)
    assert len(errors) == 1 and errors[0].startswith("spec.sha256: 'DIGEST' does not match"), errors


@pytest.mark.parametrize("name,manifest", plugins(), ids=[n for n, _ in plugins()])
def test_every_manifest_runs_in_authn_with_an_explicit_fail_strategy_the_placeholder_image_and_a_policy(name, manifest):
    spec = manifest["spec"]
    assert manifest["kind"] == "WasmPlugin"
    assert spec["phase"] == "AUTHN"
    assert spec["failStrategy"] in ("FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD")
    # The release version of the workspace: bumping it without the examples fails here.
    assert spec["url"] == f"oci://REGISTRY/edge-cors:{workspace_version()}"
    assert spec["sha256"] == "DIGEST"
    assert spec["pluginName"] == "edge-cors"
    assert spec["pluginConfig"]["policies"]


def test_every_cel_rule_of_the_crd_is_implemented_by_the_validator():
    rules = schema.crd_cel_rules()
    assert len(rules) >= 7
    missing = [(path, rule) for path, rule, _ in rules if rule not in schema.CEL_RULES]
    assert missing == []


@pytest.mark.parametrize(
    "mutate,expected",
    [
        (lambda m: m["spec"].update(failstrategy="FAIL_OPEN"), "Additional properties are not allowed ('failstrategy'"),
        (lambda m: m["spec"]["selector"].update(labels={"a": "b"}), "Additional properties are not allowed ('labels'"),
        (lambda m: m["metadata"].update(lables={"a": "b"}), "Additional properties are not allowed ('lables'"),
        (lambda m: m.update(extra=1), "Additional properties are not allowed ('extra'"),
        (lambda m: m["spec"].update(phase="AUTHENTICATION"), "'AUTHENTICATION' is not one of"),
        (lambda m: m["spec"].update(failStrategy="FAIL_CLOSED"), "'FAIL_CLOSED' is not one of"),
        (lambda m: m["spec"].update(sha256="sha256:" + "a" * 64), "does not match"),
        (lambda m: m["spec"].update(priority=2**31), "is greater than the maximum"),
        (lambda m: m["spec"].pop("url"), "'url' is a required property"),
        (lambda m: m["spec"].update(url="ftp://ghcr.io/example-org/edge-cors:0.1.0"), "url must have schema one of"),
        (lambda m: m["spec"].update(url="gs://bucket/edge-cors.wasm"), "url must have schema one of"),
        (
            lambda m: m["spec"].update(targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "g"}]),
            "only one of targetRefs or selector can be set",
        ),
        (lambda m: m["spec"]["selector"]["matchLabels"].update(app="*"), "wildcard not allowed in label value match"),
        (
            lambda m: (m["spec"].pop("selector"), m["spec"].update(
                targetRefs=[{"kind": "Gateway", "name": "g", "namespace": "other"}])),
            "cross namespace referencing is not currently supported",
        ),
        (
            lambda m: m["spec"].update(vmConfig={"env": [{"name": "X", "valueFrom": "HOST", "value": "y"}]}),
            "value may only be set when valueFrom is INLINE",
        ),
    ],
    ids=[
        "unknown-spec-field", "unknown-selector-field", "unknown-metadata-field", "unknown-root-field",
        "bad-phase", "bad-fail-strategy", "sha256-with-prefix", "priority-above-int32", "no-url", "ftp-url",
        "gs-url", "selector-and-targetRefs", "wildcard-label", "cross-namespace-targetRef", "env-host-with-value",
    ],
)
def test_the_validator_refuses_what_the_api_server_refuses(mutate, expected):
    manifest = sample()
    mutate(manifest)
    errors = schema.validate(manifest)
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize(
    "url",
    [
        "oci://ghcr.io/example-org/edge-cors:0.1.0",
        "oci://ghcr.io/example-org/edge-cors@sha256:" + "a" * 64,
        "ghcr.io/example-org/edge-cors:0.1.0",  # no scheme: Istio defaults to oci://
        "https://example.org/edge_cors.wasm",
        "file:///var/local/edge_cors.wasm",
    ],
)
def test_the_url_rule_accepts_the_schemes_istio_documents(url):
    manifest = sample()
    manifest["spec"]["url"] = url
    assert schema.validate(manifest) == []


def test_the_schema_leaves_plugin_config_free_so_only_the_filter_can_check_it():
    manifest = sample()
    manifest["spec"]["pluginConfig"] = {"policies": [{"name": "x", "allow_origins": ["*"], "colour": "red"}]}
    assert schema.validate(manifest) == []
    result = run_checker_on(manifest)
    assert result.returncode == 1
    assert "policies[0].colour" in result.stdout


def run_checker_on(manifest: dict) -> subprocess.CompletedProcess:
    return subprocess.run([CHECKER, "-"], input=yaml.safe_dump(manifest), capture_output=True, text=True)


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_the_checker_refuses_the_placeholders_and_passes_every_plugin_config(path):
    result = subprocess.run([CHECKER, str(path)], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    n_plugins = len(documents(path))
    assert result.stdout.count(": valid: ") == n_plugins, result.stdout
    invalid = [line for line in result.stdout.splitlines() if ": invalid: " in line]
    assert len(invalid) == 2 * n_plugins, result.stdout
    assert all("placeholder registry REGISTRY" in line or "DIGEST\": is a placeholder" in line for line in invalid), invalid


@pytest.mark.parametrize("name,manifest", plugins(), ids=[n for n, _ in plugins()])
def test_with_a_real_registry_and_digest_the_checker_passes_every_manifest(name, manifest):
    result = run_checker_on(schema.with_a_digest(manifest))
    assert result.returncode == 0, result.stdout + result.stderr


def envoy_validate(plugin_config: dict | None, tmp_path: Path) -> tuple[int, str]:
    """`envoy --mode validate` with the filter configured as Istio configures it: the
    pluginConfig serialized as JSON in a google.protobuf.StringValue. (exit code, Envoy's log)"""
    config = proxy_bootstrap(0, 0, 0, [wasm_filter(plugin_config), ROUTER], routes=[direct_response_route()])
    envoy = Envoy(config, tmp_path, extra_args=["--mode", "validate"])
    return envoy.run_to_exit(120), envoy.log()


@pytest.mark.parametrize("name,manifest", plugins(), ids=[n for n, _ in plugins()])
def test_every_manifest_plugin_config_is_accepted_by_the_filter_in_envoy(name, manifest, tmp_path):
    code, log = envoy_validate(manifest["spec"]["pluginConfig"], tmp_path)
    assert code == 0, log


def test_envoy_refuses_a_plugin_config_the_filter_refuses(tmp_path):
    config = sample()["spec"]["pluginConfig"]
    config["policies"][0]["allow_origins"].append("https://*.com")
    code, log = envoy_validate(config, tmp_path)
    assert code != 0
    assert "https://*.com" in log


def test_the_vendored_crd_is_the_file_its_source_note_names():
    import hashlib

    note = (ROOT / "tests" / "istio" / "SOURCE.md").read_text()
    recorded = re.search(r"sha256 of the file: `([0-9a-f]{64})`", note).group(1)
    assert hashlib.sha256(schema.CRD_FILE.read_bytes()).hexdigest() == recorded
