"""Fixtures of the release suite (scripts/suites/88-release.sh).

`releases`: `scripts/release.sh VERSION` run in two clones at two different paths, of the commit
under test: HEAD, or, when the working tree has changes, a commit of the working tree made with
a temporary index (the developer's branch and index are untouched), so the suite tests what is
on disk. `small_dist`: a release-shaped folder made in seconds from the module the other suites
test, for the `render` tests.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import ROOT, WASM

CHECKER = os.environ.get("EDGE_CORS_CHECK") or str(ROOT / "target" / "debug" / "edge-cors-check")


def workspace_version() -> str:
    text = (ROOT / "Cargo.toml").read_text()
    return re.search(r'^\[workspace\.package\]\n(?:.*\n)*?version = "([^"]+)"', text, re.M).group(1)


VERSION = workspace_version()


def git(*args: str, cwd: Path = ROOT, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def snapshot(tmp: Path) -> str:
    """HEAD when the working tree is clean, else a commit of the working tree (tracked and
    untracked files, .gitignore respected) with fixed dates, made through a temporary index."""
    if not git("status", "--porcelain"):
        return git("rev-parse", "HEAD")
    fixed = "2000-01-01T00:00:00Z"
    env = dict(os.environ, GIT_INDEX_FILE=str(tmp / "snapshot-index"), GIT_AUTHOR_DATE=fixed, GIT_COMMITTER_DATE=fixed,
               GIT_AUTHOR_NAME="release test", GIT_AUTHOR_EMAIL="release-test@localhost",
               GIT_COMMITTER_NAME="release test", GIT_COMMITTER_EMAIL="release-test@localhost")
    git("read-tree", "HEAD", env=env)
    git("add", "-A", env=env)
    tree = git("write-tree", env=env)
    return git("commit-tree", tree, "-p", "HEAD", "-m", "the working tree under test", env=env)


def clone(commit: str, path: Path) -> Path:
    # A local clone copies the object store, the snapshot commit included.
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(path)], check=True)
    git("checkout", "--quiet", "--detach", commit, cwd=path)
    return path


def run_release(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(checkout / "scripts" / "release.sh"), *args], cwd=checkout,
                          capture_output=True, text=True, timeout=1800)


def tree_sha256(d: Path) -> dict:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


class Release:
    def __init__(self, checkout: Path, seconds: float, output: str):
        self.checkout, self.seconds, self.output = checkout, seconds, output
        self.dist = checkout / "dist" / VERSION


@pytest.fixture(scope="session")
def releases(tmp_path_factory) -> list[Release]:
    """Two releases of the commit under test, from two checkouts at paths of different lengths."""
    tmp = tmp_path_factory.mktemp("release")
    commit = snapshot(tmp)
    done = []
    for path in (tmp / "a", tmp / "a-longer-path" / "to" / "checkout-b"):
        checkout = clone(commit, path)
        start = time.monotonic()
        result = run_release(checkout, VERSION)
        seconds = time.monotonic() - start
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        print(f"\nrelease {VERSION} in {checkout}: {seconds:.0f} s", file=sys.stderr)
        done.append(Release(checkout, seconds, result.stdout + result.stderr))
    done[0].commit = done[1].commit = commit
    return done


@pytest.fixture(scope="session")
def small_dist(tmp_path_factory) -> Path:
    """A folder shaped like dist/VERSION (edge_cors.wasm, oci/, IMAGE_DIGEST, SHA256SUMS) made
    from the module the other suites test, through the same scripts/oci.py."""
    d = tmp_path_factory.mktemp("small-dist") / VERSION
    d.mkdir()
    shutil.copyfile(WASM, d / "edge_cors.wasm")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "oci.py"), "build", "--wasm", str(d / "edge_cors.wasm"),
                    "--out", str(d / "oci"), "--tag", VERSION, "--version", VERSION, "--revision", "0" * 40,
                    "--digest-file", str(d / "IMAGE_DIGEST")], check=True, capture_output=True)
    write_sums(d)
    return d


def write_sums(d: Path) -> None:
    lines = [f"{sha}  {name}\n" for name, sha in tree_sha256(d).items() if name != "SHA256SUMS"]
    (d / "SHA256SUMS").write_text("".join(lines))


def checker(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CHECKER, *map(str, args)], capture_output=True, text=True, cwd=cwd, input=stdin)
