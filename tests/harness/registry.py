"""A throwaway OCI registry for tests: Debian's docker-registry (the CNCF distribution registry)
on 127.0.0.1, a free port, its own config and storage, no auth. Used by the OCI image suite
(tests/istio/test_oci_image.py) and the release suite (tests/release/)."""
from __future__ import annotations

import subprocess
from pathlib import Path

from .processes import free_port, http_ready, poll, stop_process


class Registry:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.dir = tmp / "registry"
        self.dir.mkdir()
        config = self.dir / "config.yml"
        # Its own config: the packaged /etc/docker/registry/config.yml wants htpasswd auth.
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.dir / 'store'}\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n"
        )
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=self.log, stderr=self.log)
        exited = lambda: RuntimeError(f"docker-registry exited: {(self.dir / 'registry.log').read_text()}")  # noqa: E731
        poll(lambda: http_ready(self.proc, f"http://127.0.0.1:{self.port}/v2/", exited), 20, "docker-registry /v2/")

    def stop(self):
        stop_process(self.proc)
        self.log.close()


def skopeo_push(layout: Path, tag: str, dest: str):
    """Copy the OCI image layout `layout` (tag `tag`) to docker://`dest`, digests unchanged."""
    # --insecure-policy: no signature policy for a throwaway loopback registry;
    # --dest-tls-verify=false: the loopback registry speaks plain HTTP.
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--insecure-policy", "--preserve-digests", "--dest-tls-verify=false",
         f"oci:{layout}:{tag}", f"docker://{dest}"],
        check=True,
    )
