"""Hiding credentials in URLs, in every message and report parity prints."""

from __future__ import annotations

import re
from dataclasses import replace

from parity.model import Origin

_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#]*)@")


def redact_url(url: str) -> str:
    """Hide the user-info part of a URL (or of every URL in a message) behind ``****``.

    ``https://user:token@host/simple`` becomes ``https://****@host/simple``. A bare user
    name on an ssh URL (``git+ssh://git@github.com/...``) is kept: ssh authenticates with
    keys, so that name is no secret.
    """
    return _CREDENTIALS.sub(_redacted_userinfo, url)


def redact_origin(origin: Origin | None) -> Origin | None:
    """``origin`` with the credentials in its URL hidden (see :func:`redact_url`)."""
    return None if origin is None else replace(origin, url=redact_url(origin.url))


def _redacted_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    if scheme.lower().rstrip(":/").endswith("ssh") and ":" not in userinfo:
        return match.group(0)
    return f"{scheme}****@"
