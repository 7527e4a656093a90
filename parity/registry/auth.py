"""Registry credentials found where docker finds them, never shown.

``$DOCKER_CONFIG/config.json`` (else ``~/.docker/config.json``): ``credHelpers`` for this
registry, else ``credsStore``, run as ``docker-credential-NAME get`` with the registry on
stdin; else the base64 ``auth`` (or ``identitytoken``) of the matching ``auths`` entry; else
anonymous. Secrets live only in :class:`Credentials` (whose repr hides them) and in the
Authorization headers sent to the registry; messages name the file or helper, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parity.errors import SourceError

HELPER_TIMEOUT_SECONDS = 30.0
_NOT_FOUND = "credentials not found"


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret (a password or token), or an identity (refresh) token."""

    username: str = ""
    secret: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)
    origin: str = ""  # "~/.docker/config.json", "docker-credential-pass": for messages

    @property
    def basic(self) -> str:
        pair = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def docker_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where docker reads its client configuration."""
    environ = os.environ if environ is None else environ
    directory = environ.get("DOCKER_CONFIG")
    if directory:
        return Path(directory) / "config.json"
    return Path.home() / ".docker" / "config.json"


def find_credentials(auth_key: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials docker would use for the registry filed under ``auth_key``."""
    path = docker_config_path(environ)
    config = _read_config(path)
    if not config:
        return None
    helpers = config.get("credHelpers")
    helper = helpers.get(_match_key(helpers, auth_key) or "") if isinstance(helpers, dict) else None
    helper = helper or config.get("credsStore")
    if isinstance(helper, str) and helper:
        found = run_helper(helper, auth_key)
        if found is not None:
            return found
    auths = config.get("auths")
    if not isinstance(auths, dict):
        return None
    key = _match_key(auths, auth_key)
    entry = auths.get(key) if key else None
    return _from_entry(entry, str(path)) if isinstance(entry, dict) else None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SourceError(
            f"cannot read docker's configuration: {error.strerror}", str(path)
        ) from None
    try:
        config = json.loads(text)
    except ValueError:
        raise SourceError("docker's configuration is not valid JSON", str(path)) from None
    return config if isinstance(config, dict) else {}


def normalise_key(key: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000`` (how docker matches config keys)."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
    return key.split("/", 1)[0]


def _match_key(entries: Mapping[str, Any], auth_key: str) -> str | None:
    if auth_key in entries:
        return auth_key
    wanted = normalise_key(auth_key)
    if wanted in ("index.docker.io", "docker.io", "registry-1.docker.io"):
        wanted = "index.docker.io"
    for key in entries:
        if normalise_key(key) == wanted:
            return key
    return None


def _from_entry(entry: Mapping[str, Any], origin: str) -> Credentials | None:
    token = entry.get("identitytoken")
    encoded = entry.get("auth")
    username, secret = "", ""
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SourceError("an auths entry is not base64 of USER:PASSWORD", origin) from None
        username, _, secret = decoded.partition(":")
    elif isinstance(entry.get("username"), str):
        username, secret = entry["username"], str(entry.get("password") or "")
    if isinstance(token, str) and token:
        return Credentials(username, "", token, origin)
    if username or secret:
        return Credentials(username, secret, "", origin)
    return None


def run_helper(name: str, server: str) -> Credentials | None:
    """``docker-credential-NAME get``: the helper's credentials for ``server``, or None."""
    program = f"docker-credential-{name}"
    try:
        result = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise SourceError(
            f"docker's configuration names the credential helper {program}, which is not on PATH"
        ) from None
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = "did not answer" if isinstance(error, subprocess.TimeoutExpired) else "failed"
        raise SourceError(f"credential helper {program} {reason}") from None
    if result.returncode != 0:
        if _NOT_FOUND in result.stdout.decode("utf-8", "replace").lower():
            return None
        raise SourceError(f"credential helper {program} failed (exit {result.returncode})")
    try:
        answer = json.loads(result.stdout)
        username, secret = str(answer.get("Username") or ""), str(answer.get("Secret") or "")
    except (ValueError, AttributeError):
        raise SourceError(
            f"credential helper {program} answered something else than JSON"
        ) from None
    if username == "<token>":
        return Credentials("", "", secret, program)
    return Credentials(username, secret, "", program) if (username or secret) else None
