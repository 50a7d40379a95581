"""edge-cors-check reads an Envoy Gateway EnvoyExtensionPolicy's `spec.wasm[].config` as it reads
a WasmPlugin's `pluginConfig`: the shipped manifests in envoy/envoy-gateway/ are refused while
they hold their placeholders, and pass once a real module location is set; a bad policy is
reported with its JSON paths; entries of other Wasm modules are left alone."""
from __future__ import annotations

import copy
import os
import subprocess

import pytest
import yaml

import crd
from harness import ROOT

CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")
EG_DIR = ROOT / "envoy" / "envoy-gateway"
POLICIES = sorted(EG_DIR.glob("edge-cors-*.yaml"))
DIGEST = "0" * 63 + "1"


def check(manifest: dict | str) -> subprocess.CompletedProcess:
    text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
    return subprocess.run([CHECKER, "-"], input=text, capture_output=True, text=True)


def real(path) -> dict:
    """The shipped manifest with its placeholders replaced by a module location."""
    (doc,) = crd.documents(path)
    code = doc["spec"]["wasm"][0]["code"]
    if code["type"] == "Image":
        code["image"]["url"] = f"ghcr.io/example-org/edge-cors@sha256:{DIGEST}"
    else:
        code["http"]["sha256"] = DIGEST
    return doc


def test_there_is_an_image_and_an_http_source_variant():
    assert sorted(crd.documents(p)[0]["spec"]["wasm"][0]["code"]["type"] for p in POLICIES) == ["HTTP", "Image"]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_the_checker_refuses_a_shipped_policy_while_it_holds_its_placeholder(path):
    result = subprocess.run([CHECKER, str(path)], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "EnvoyExtensionPolicy edge/edge-cors: spec.wasm[0].config: invalid: spec.wasm[0].code." in result.stdout
    assert "is a placeholder" in result.stdout


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_with_a_real_module_location_the_checker_validates_the_config_and_the_crd_accepts_it(path):
    doc = real(path)
    assert crd.validate(doc) == []
    result = check(doc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "document 1: EnvoyExtensionPolicy edge/edge-cors: spec.wasm[0].config: valid: 2 policies" in result.stdout


def test_a_bad_config_is_reported_with_the_json_paths_the_filter_uses():
    doc = real(POLICIES[0])
    doc["spec"]["wasm"][0]["config"]["policies"][0]["allow_origins"].append("https://*.com")
    doc["spec"]["wasm"][0]["config"]["policies"][1]["colour"] = "red"
    result = check(doc)
    assert result.returncode == 1
    assert 'policies[0].allow_origins[1]: "https://*.com"' in result.stdout
    assert 'policies[1].colour: "red": unknown field' in result.stdout


def test_an_entry_without_config_is_the_empty_configuration_the_filter_refuses():
    doc = real(POLICIES[0])
    del doc["spec"]["wasm"][0]["config"]
    result = check(doc)
    assert result.returncode == 1 and "$: configuration is empty" in result.stdout


def test_only_edge_cors_entries_are_checked():
    doc = real(EG_DIR / "edge-cors-image.yaml")
    other = copy.deepcopy(doc["spec"]["wasm"][0])
    other.update(name="request-logger", rootID="logger", config={"anything": 1})
    other["code"]["image"]["url"] = f"ghcr.io/example-org/logger@sha256:{DIGEST}"
    doc["spec"]["wasm"].insert(0, other)
    result = check(doc)
    assert result.returncode == 0, result.stdout
    assert "spec.wasm[1].config: valid" in result.stdout and "spec.wasm[0]" not in result.stdout
    doc["spec"]["wasm"].pop()
    result = check(doc)
    assert result.returncode == 2 and "no edge-cors configuration found" in result.stderr
