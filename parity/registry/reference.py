"""Image references as docker parses them: ``[HOST[:PORT]/]PATH[:TAG][@DIGEST]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from parity.errors import UsageError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_PATH = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference."""

    host: str  # "docker.io", "ghcr.io", "127.0.0.1:5000"
    repository: str  # "library/python", "org/app"
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """Where the registry API answers (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.host == DOCKER_HUB else self.host

    @property
    def auth_key(self) -> str:
        """The key docker's config.json and credential helpers file this registry under."""
        return DOCKER_HUB_AUTH_KEY if self.host == DOCKER_HUB else self.host

    @property
    def target(self) -> str:
        """What to ask the manifest endpoint for: the digest when given, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """Parse ``text`` as docker would (``python:3.11`` is ``docker.io/library/python:3.11``)."""
    rest, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise UsageError(f"registry:{text}: {digest!r} is not a digest (sha256:...)")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        host, path = first, remainder
    else:
        host, path = DOCKER_HUB, rest
    tag = None
    name, colon, maybe_tag = path.rpartition(":")
    if colon and "/" not in maybe_tag:
        path, tag = name, maybe_tag
    if host == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or not _PATH.match(path):
        raise UsageError(f"registry:{text}: {path!r} is not a repository name")
    if tag is not None and not _TAG.match(tag):
        raise UsageError(f"registry:{text}: {tag!r} is not a tag")
    if not host:
        raise UsageError(f"registry:{text}: no registry host")
    return Reference(host, path, tag if tag or digest else "latest", digest or None)
