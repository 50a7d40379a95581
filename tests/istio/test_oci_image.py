"""The OCI image of edge-cors: reproducible, and pulled back through a real registry the way
Istio's image fetcher pulls it, byte for byte.

A local registry (Debian's docker-registry, the CNCF distribution registry) runs on 127.0.0.1 on
a free port with its own config and no auth; Debian's skopeo pushes the image built by
scripts/oci.py; scripts/oci.py's fetcher pulls it back through the registry HTTP API (manifest
with Accept headers, last layer, plugin.wasm out of the tar.gz), as pkg/wasm/imagefetcher.go does.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from harness import ROOT
from harness.registry import Registry, skopeo_push

WASM = Path(os.environ.get("EDGE_CORS_WASM") or ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm")

_spec = importlib.util.spec_from_file_location("oci", ROOT / "scripts" / "oci.py")
oci = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oci)


def build(tmp: Path, name: str, wasm: Path = WASM, tag: str = "0.1.0") -> dict:
    out = tmp / name
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "oci.py"), "build", "--wasm", str(wasm), "--out", str(out), "--tag", tag],
        check=True,
        capture_output=True,
        text=True,
    )
    printed = [line.split()[-1] for line in proc.stdout.splitlines() if line.strip().startswith("sha256:")]
    assert len(printed) == 1, proc.stdout
    return {"out": out, "sha256": printed[0], "stdout": proc.stdout}


def tree_bytes(d: Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    assert shutil.which("docker-registry"), "docker-registry (Debian package docker-registry) is not installed"
    r = Registry(tmp_path_factory.mktemp("oci-registry"))
    yield r
    r.stop()


def test_two_builds_of_the_same_wasm_give_the_same_digest_and_the_same_bytes(tmp_path):
    a = build(tmp_path, "a")
    b = build(tmp_path, "b")
    assert a["sha256"] == b["sha256"]
    assert len(a["sha256"]) == 64
    assert tree_bytes(a["out"]) == tree_bytes(b["out"])


def test_a_different_wasm_gives_a_different_digest(tmp_path):
    changed = tmp_path / "changed.wasm"
    # A custom section appended (id 0, name "x", no payload): still a valid module, other bytes.
    changed.write_bytes(WASM.read_bytes() + bytes([0, 2, 1, ord("x")]))
    assert build(tmp_path, "a")["sha256"] != build(tmp_path, "b", wasm=changed)["sha256"]


def test_the_layout_is_the_compat_variant_istio_reads(tmp_path):
    out = build(tmp_path, "img")["out"]
    index = json.loads((out / "index.json").read_text())
    assert len(index["manifests"]) == 1
    desc = index["manifests"][0]
    blob = lambda d: (out / "blobs" / "sha256" / d.removeprefix("sha256:")).read_bytes()  # noqa: E731
    manifest_bytes = blob(desc["digest"])
    assert hashlib.sha256(manifest_bytes).hexdigest() == desc["digest"].removeprefix("sha256:")
    manifest = json.loads(manifest_bytes)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["annotations"] == {
        "module.wasm.image/variant": "compat",
        "edge-cors.wasm.sha256": hashlib.sha256(WASM.read_bytes()).hexdigest(),
    }
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip"]
    layer = blob(manifest["layers"][0]["digest"])
    assert len(layer) == manifest["layers"][0]["size"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        members = tar.getmembers()
        assert [(m.name, m.mode, m.uid, m.gid, m.mtime) for m in members] == [("plugin.wasm", 0o644, 0, 0, 0)]
        assert tar.extractfile(members[0]).read() == WASM.read_bytes()
    config = json.loads(blob(manifest["config"]["digest"]))
    tar_digest = hashlib.sha256(gzip.decompress(layer)).hexdigest()
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:" + tar_digest]}


def test_pushed_with_skopeo_and_pulled_like_istio_the_wasm_is_identical_and_the_digest_is_the_printed_one(
    tmp_path, registry
):
    built = build(tmp_path, "img", tag="0.1.0")
    ref = f"127.0.0.1:{registry.port}/edge-cors/filter:0.1.0"
    skopeo_push(built["out"], "0.1.0", ref)

    got = oci.fetch_plugin(ref, plain_http=True)
    assert got["wasm"] == WASM.read_bytes()
    assert got["digest"] == built["sha256"]
    assert got["manifest"]["annotations"]["module.wasm.image/variant"] == "compat"

    # Pinned by digest, as `url: oci://...@sha256:...` would be: the same manifest.
    by_digest = oci.fetch_plugin(f"127.0.0.1:{registry.port}/edge-cors/filter@sha256:{built['sha256']}", True)
    assert by_digest["wasm"] == got["wasm"]

    # skopeo's own view of the pushed image agrees on the digest.
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"], check=True, capture_output=True
    ).stdout
    assert hashlib.sha256(raw).hexdigest() == built["sha256"]


def test_the_fetcher_refuses_an_image_whose_last_layer_is_not_tar_gzip(tmp_path, registry):
    # The check that makes the round trip meaningful: an image Istio would refuse is refused.
    out = tmp_path / "bad"
    blobs = oci.write_layout(WASM.read_bytes(), out, "bad")
    manifest = json.loads(blobs["manifest"])
    manifest["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    new_manifest = oci.canonical_json(manifest)
    digest = hashlib.sha256(new_manifest).hexdigest()
    (out / "blobs" / "sha256" / digest).write_bytes(new_manifest)
    index = json.loads((out / "index.json").read_text())
    index["manifests"][0].update(digest="sha256:" + digest, size=len(new_manifest))
    (out / "index.json").write_text(json.dumps(index))
    ref = f"127.0.0.1:{registry.port}/edge-cors/bad:bad"
    skopeo_push(out, "bad", ref)
    with pytest.raises(ValueError, match="last layer is application/vnd.oci.image.layer.v1.tar,"):
        oci.fetch_plugin(ref, plain_http=True)
