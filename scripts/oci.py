#!/usr/bin/env python3
"""A reproducible OCI image of the edge-cors filter, in the layout Istio's WasmPlugin pulls.

The image is the "compat" variant of the Wasm image spec that Istio's image fetcher reads
(pkg/wasm/imagefetcher.go: the LAST layer, media type
application/vnd.oci.image.layer.v1.tar+gzip, a tar holding `plugin.wasm`):

    manifest  application/vnd.oci.image.manifest.v1+json
              annotations: module.wasm.image/variant=compat, edge-cors.wasm.sha256 (the module's
              sha256), and for a release org.opencontainers.image.version and .revision
    config    application/vnd.oci.image.config.v1+json   {architecture: wasm, os: wasip1, rootfs}
    layer     application/vnd.oci.image.layer.v1.tar+gzip   plugin.wasm (mode 0644, owner 0:0, mtime 0)

Nothing in it depends on the time, the user or the machine: the tar entry has fixed metadata,
gzip gets mtime 0 and no file name, JSON is written with a fixed key order. Two builds of the
same wasm give the same manifest digest, which is the WasmPlugin `sha256`.

    scripts/oci.py build [--wasm FILE] [--out DIR] [--tag TAG] [--version V --revision GIT-SHA]
                         [--digest-file FILE]
        write an OCI image layout (default target/oci/edge-cors, tag = crate version) and print
        the manifest digest (also written to FILE as sha256:HEX), sizes, and the WasmPlugin lines
    scripts/oci.py push REGISTRY/REPO[:TAG] [--wasm FILE] [-- SKOPEO-OPTIONS...]
        build, then `skopeo copy --preserve-digests` to docker://REGISTRY/REPO:TAG
    scripts/oci.py pull REGISTRY/REPO:TAG|@sha256:HEX --out FILE [--plain-http]
        fetch plugin.wasm the way Istio does (registry HTTP API, no auth), verify every digest
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "edge_cors.wasm"
DEFAULT_OUT = ROOT / "target" / "oci" / "edge-cors"

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json"
VARIANT_ANNOTATION = "module.wasm.image/variant"
# The module's own sha256, so an image names the wasm it carries (edge-cors-check render --dist
# checks it against the release's edge_cors.wasm).
WASM_ANNOTATION = "edge-cors.wasm.sha256"
VERSION_ANNOTATION = "org.opencontainers.image.version"
REVISION_ANNOTATION = "org.opencontainers.image.revision"
PLUGIN_FILE = "plugin.wasm"
# What go-containerregistry's remote.Get (Istio's fetcher) sends in Accept.
PULL_ACCEPT = ", ".join([MANIFEST_TYPE, INDEX_TYPE, DOCKER_MANIFEST_TYPE, DOCKER_LIST_TYPE])


def crate_version() -> str:
    """The one version of the workspace: `[workspace.package] version` in Cargo.toml."""
    text = (ROOT / "Cargo.toml").read_text()
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[)", text, re.M | re.S)
    m = re.search(r'^version\s*=\s*"([^"]+)"', section.group(1) if section else "", re.M)
    return m.group(1) if m else "latest"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    # Fixed key order (as written) and no whitespace: the same input gives the same bytes.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()


def layer_tar(wasm: bytes) -> bytes:
    """An uncompressed tar with one entry, plugin.wasm, whose metadata never varies."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(PLUGIN_FILE)
        info.size = len(wasm)
        info.mode = 0o644
        info.mtime = 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.type = tarfile.REGTYPE
        tar.addfile(info, io.BytesIO(wasm))
    return buf.getvalue()


def gzip_fixed(data: bytes) -> bytes:
    # gzip.compress writes no file name; mtime=0 removes the timestamp from the header.
    return gzip.compress(data, compresslevel=9, mtime=0)


def image_blobs(wasm: bytes, version: str | None = None, revision: str | None = None) -> dict:
    """The three blobs of the image and their descriptors."""
    tar = layer_tar(wasm)
    layer = gzip_fixed(tar)
    config = canonical_json(
        {
            "architecture": "wasm",
            "os": "wasip1",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256_hex(tar)]},
        }
    )
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "digest": "sha256:" + sha256_hex(config), "size": len(config)},
            "layers": [{"mediaType": LAYER_TYPE, "digest": "sha256:" + sha256_hex(layer), "size": len(layer)}],
            "annotations": annotations(wasm, version, revision),
        }
    )
    return {"config": config, "layer": layer, "manifest": manifest, "tar": tar}


def annotations(wasm: bytes, version: str | None, revision: str | None) -> dict:
    out = {VARIANT_ANNOTATION: "compat", WASM_ANNOTATION: sha256_hex(wasm)}
    if version:
        out[VERSION_ANNOTATION] = version
    if revision:
        out[REVISION_ANNOTATION] = revision
    return out


def write_layout(wasm: bytes, out: Path, tag: str, version: str | None = None, revision: str | None = None) -> dict:
    """Write an OCI image layout directory (what `skopeo copy oci:DIR:TAG` reads)."""
    blobs = image_blobs(wasm, version, revision)
    if out.exists():
        shutil.rmtree(out)
    (out / "blobs" / "sha256").mkdir(parents=True)
    for name in ("config", "layer", "manifest"):
        data = blobs[name]
        (out / "blobs" / "sha256" / sha256_hex(data)).write_bytes(data)
    (out / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [
            {
                "mediaType": MANIFEST_TYPE,
                "digest": "sha256:" + sha256_hex(blobs["manifest"]),
                "size": len(blobs["manifest"]),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (out / "index.json").write_bytes(canonical_json(index))
    return blobs


def cmd_build(args) -> dict:
    wasm_path = Path(args.wasm)
    wasm = wasm_path.read_bytes()
    out = Path(args.out)
    blobs = write_layout(wasm, out, args.tag, getattr(args, "version", None), getattr(args, "revision", None))
    digest = sha256_hex(blobs["manifest"])
    if getattr(args, "digest_file", None):
        Path(args.digest_file).write_text(f"sha256:{digest}\n")
    print(f"image layout: {out} (tag {args.tag})")
    print(f"wasm:     {len(wasm)} bytes  sha256:{sha256_hex(wasm)}  ({wasm_path})")
    print(f"layer:    {len(blobs['layer'])} bytes  sha256:{sha256_hex(blobs['layer'])}  ({LAYER_TYPE})")
    print(f"config:   {len(blobs['config'])} bytes  sha256:{sha256_hex(blobs['config'])}")
    print(f"manifest: {len(blobs['manifest'])} bytes  sha256:{digest}")
    print("WasmPlugin:")
    print(f"  url: oci://REGISTRY/REPO:{args.tag}")
    print(f"  sha256: {digest}")
    return {"digest": digest, "blobs": blobs}


def split_reference(ref: str):
    """REGISTRY/REPO[:TAG|@sha256:HEX] -> (registry, repo, reference)."""
    ref = ref.removeprefix("oci://").removeprefix("docker://")
    registry, _, rest = ref.partition("/")
    if not rest:
        raise SystemExit(f"reference {ref!r} has no repository (expected REGISTRY/REPO:TAG)")
    if "@" in rest:
        repo, _, reference = rest.partition("@")
    elif ":" in rest.rsplit("/", 1)[-1]:
        repo, _, reference = rest.rpartition(":")
    else:
        repo, reference = rest, "latest"
    return registry, repo, reference


def cmd_push(args) -> None:
    registry, repo, reference = split_reference(args.reference)
    if reference.startswith("sha256:"):
        raise SystemExit("push needs a tag, not a digest")
    args.tag = reference
    built = cmd_build(args)
    dest = f"docker://{registry}/{repo}:{reference}"
    cmd = ["skopeo", "copy", "--preserve-digests", *args.skopeo, f"oci:{args.out}:{reference}", dest]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    print(f"pushed {registry}/{repo}:{reference}")
    print(f"  url: oci://{registry}/{repo}:{reference}")
    print(f"  sha256: {built['digest']}")


def http_get(url: str, accept: str | None = None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.read(), resp.headers


def fetch_plugin(reference: str, plain_http: bool) -> dict:
    """Pull plugin.wasm as Istio's image fetcher does, checking every digest on the way.

    Returns the wasm bytes, the manifest digest (hex) and the manifest. Raises on anything
    Istio would refuse (wrong media type of the last layer, no plugin.wasm, digest mismatch).
    """
    registry, repo, reference = split_reference(reference)
    base = f"{'http' if plain_http else 'https'}://{registry}/v2"
    http_get(base + "/")  # the API version check every registry client makes first
    body, headers = http_get(f"{base}/{repo}/manifests/{reference}", PULL_ACCEPT)
    digest = sha256_hex(body)
    served = headers.get("Docker-Content-Digest")
    if served and served != "sha256:" + digest:
        raise ValueError(f"registry says the manifest is {served}, its bytes hash to sha256:{digest}")
    if reference.startswith("sha256:") and reference != "sha256:" + digest:
        raise ValueError(f"asked for {reference}, got sha256:{digest}")
    manifest = json.loads(body)
    media_type = manifest.get("mediaType") or headers.get("Content-Type", "").split(";")[0]
    if media_type in (INDEX_TYPE, DOCKER_LIST_TYPE):
        raise ValueError("an image index; Istio's fetcher expects a single image manifest")
    config_desc = manifest["config"]
    config = http_get(f"{base}/{repo}/blobs/{config_desc['digest']}")[0]
    if "sha256:" + sha256_hex(config) != config_desc["digest"]:
        raise ValueError("config blob does not match its digest")
    layers = manifest.get("layers") or []
    if not layers:
        raise ValueError("the image has no layer")
    last = layers[-1]  # Istio reads the last layer only
    if media_type == DOCKER_MANIFEST_TYPE:
        expected = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    else:
        expected = LAYER_TYPE
    if last["mediaType"] != expected:
        raise ValueError(f"last layer is {last['mediaType']}, Istio expects {expected}")
    layer = http_get(f"{base}/{repo}/blobs/{last['digest']}")[0]
    if "sha256:" + sha256_hex(layer) != last["digest"]:
        raise ValueError("layer blob does not match its digest")
    wasm = None
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer)), mode="r:") as tar:
        for member in tar:
            if os.path.basename(member.name) == PLUGIN_FILE and member.isfile():
                f = tar.extractfile(member)
                wasm = f.read() if f else None
                break
    if wasm is None:
        raise ValueError(f"{PLUGIN_FILE} not found in the last layer")
    return {"wasm": wasm, "digest": digest, "manifest": manifest, "media_type": media_type}


def cmd_pull(args) -> None:
    got = fetch_plugin(args.reference, args.plain_http)
    Path(args.out).write_bytes(got["wasm"])
    print(f"manifest: sha256:{got['digest']} ({got['media_type']})")
    print(f"variant:  {got['manifest'].get('annotations', {}).get(VARIANT_ANNOTATION, '(none)')}")
    print(f"wasm:     {len(got['wasm'])} bytes  sha256:{sha256_hex(got['wasm'])} -> {args.out}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write the OCI image layout and print its digest")
    b.add_argument("--wasm", default=str(DEFAULT_WASM))
    b.add_argument("--out", default=str(DEFAULT_OUT))
    b.add_argument("--tag", default=crate_version())
    b.add_argument("--version", help="the release version, as the annotation " + VERSION_ANNOTATION)
    b.add_argument("--revision", help="the source revision (git commit), as " + REVISION_ANNOTATION)
    b.add_argument("--digest-file", help="also write the manifest digest (sha256:HEX) to this file")
    b.set_defaults(func=cmd_build)
    u = sub.add_parser("push", help="build, then skopeo copy to a registry")
    u.add_argument("reference", help="REGISTRY/REPO:TAG")
    u.add_argument("--wasm", default=str(DEFAULT_WASM))
    u.add_argument("--out", default=str(DEFAULT_OUT))
    u.add_argument("skopeo", nargs="*", help="extra skopeo copy options, after --")
    u.set_defaults(func=cmd_push)
    g = sub.add_parser("pull", help="fetch plugin.wasm the way Istio does")
    g.add_argument("reference", help="REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:HEX")
    g.add_argument("--out", required=True)
    g.add_argument("--plain-http", action="store_true", help="talk HTTP, not HTTPS (a loopback registry)")
    g.set_defaults(func=cmd_pull)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError, subprocess.CalledProcessError) as e:
        # Registry and skopeo failures are reported in one line, not as a traceback.
        print(f"oci.py {args.command}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
