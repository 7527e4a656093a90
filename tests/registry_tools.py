"""A real registry on 127.0.0.1 for the registry: tests and the benchmark.

scripts/registry-up installs Debian's docker-registry (distribution 2.8) when missing and
starts it; :class:`LocalRegistry` starts one on a free port (optionally with htpasswd auth),
pushes images to it with the docker CLI, and stops it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY_UP = REPO_ROOT / "scripts" / "registry-up"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalRegistry:
    """One docker-registry process started by scripts/registry-up, and what was pushed."""

    def __init__(self, user: str = "", password: str = "", **settings: str) -> None:
        self.port = free_port()
        self.state = Path(tempfile.mkdtemp(prefix="parity-registry-"))
        self.user, self.password = user, password
        self.env = {
            **os.environ,
            "PARITY_REGISTRY_PORT": str(self.port),
            "PARITY_REGISTRY_STATE": str(self.state),
            **settings,
        }
        if user:
            htpasswd = self.state / "htpasswd"
            made = subprocess.run(
                ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=False
            )
            if made.returncode != 0:
                self.start()  # installs htpasswd, then fails on the missing file: say why
            htpasswd.write_text(made.stdout)
            self.env["PARITY_REGISTRY_HTPASSWD"] = str(htpasswd)
        self.address = ""
        self.docker_config = self.state / "docker-config"  # the CLI's login, never the user's
        self.docker_config.mkdir()

    def start(self) -> str:
        result = subprocess.run(
            [str(REGISTRY_UP)], env=self.env, capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            raise RuntimeError(f"scripts/registry-up failed:\n{result.stderr[-2000:]}")
        self.address = result.stdout.strip()
        if self.user:
            self.docker(
                "login", "-u", self.user, "--password-stdin", self.address, stdin=self.password
            )
        return self.address

    def stop(self) -> None:
        subprocess.run([str(REGISTRY_UP), "--stop"], env=self.env, capture_output=True, check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.state, ignore_errors=True)

    def docker(self, *args: str, stdin: str | None = None) -> str:
        env = {**os.environ, "DOCKER_CONFIG": str(self.docker_config)}
        result = subprocess.run(
            ["docker", *args], env=env, input=stdin, capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            raise RuntimeError(f"docker {args[0]} failed: {result.stderr[-2000:]}")
        return result.stdout

    def push(self, image: str, name: str) -> str:
        """Push local ``image`` as ``ADDRESS/NAME``; the tag made for it is removed again."""
        remote = f"{self.address}/{name}"
        self.docker("tag", image, remote)
        try:
            self.docker("push", "-q", remote)
        finally:
            self.docker("rmi", remote)
        return remote

    def blob_file(self, digest: str) -> Path:
        """Where the registry's filesystem storage keeps a blob."""
        encoded = digest.split(":", 1)[1]
        return (
            self.state / "storage/docker/registry/v2/blobs/sha256" / encoded[:2] / encoded / "data"
        )
