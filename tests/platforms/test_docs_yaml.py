"""Every Kubernetes object the documentation shows (each document with an `apiVersion` in a
`yaml` block of README.md or docs/*.md) validates against the shared CRDs, and so does every
manifest under envoy/ that has one: nobody copies a manifest the API server would refuse."""
from __future__ import annotations

import sys

import pytest
import yaml

import crd
from harness import ROOT

sys.path.insert(0, str(ROOT / "tests" / "docs"))
from markdown_doc import documents, split  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "istio"))
import wasmplugin_schema  # noqa: E402


def documented_objects() -> list:
    """(where, object) for every YAML document with an apiVersion in the documentation."""
    found = []
    for doc in documents():
        for block in split(doc.read_text())[1]:
            if block.lang not in ("yaml", "yml"):
                continue
            for i, obj in enumerate(yaml.safe_load_all(block.text)):
                if isinstance(obj, dict) and "apiVersion" in obj:
                    found.append((f"{doc.relative_to(ROOT)}:{block.line}#{i}", obj))
    return found


def shipped_objects() -> list:
    """Every manifest under envoy/, the example WasmPlugins with a digest in place of their
    placeholder `sha256: DIGEST` (which the API server refuses on purpose: tests/istio)."""
    found = []
    for path in sorted(ROOT.glob("envoy/**/*.yaml")):
        for i, obj in enumerate(yaml.safe_load_all(path.read_text())):
            if isinstance(obj, dict) and "apiVersion" in obj:
                found.append((f"{path.relative_to(ROOT)}#{i}", wasmplugin_schema.with_a_digest(obj)))
    return found


def test_the_documentation_shows_manifests_of_both_platforms():
    kinds = {obj["kind"] for _, obj in documented_objects()}
    assert {"AuthorizationPolicy", "EnvoyExtensionPolicy", "EnvoyProxy", "HTTPRoute"} <= kinds, kinds


@pytest.mark.parametrize("where,obj", documented_objects() + shipped_objects(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_documented_and_shipped_kubernetes_object_validates_against_its_crd(where, obj):
    assert crd.known(obj), f"{where}: {obj.get('apiVersion')} {obj.get('kind')} has no CRD in ../shared/"
    assert crd.validate(obj) == [], where


def test_a_documented_object_the_api_server_would_refuse_is_caught():
    (_, obj), *_ = [(w, o) for w, o in documented_objects() if o["kind"] == "AuthorizationPolicy"]
    broken = yaml.safe_load(yaml.safe_dump(obj))
    broken["spec"]["rules"][0]["to"][0]["operation"]["notMethod"] = ["OPTIONS"]
    assert any("notMethod" in e for e in crd.validate(broken))
