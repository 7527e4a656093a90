"""The Engine API's errors, raised by both of parity's engine clients (its own and docker-py's).

They mirror docker-py's: an HTTP error answer is an :class:`APIError` (404: :class:`NotFound`,
a missing image: :class:`ImageNotFound`); a connection that cannot be made, or breaks, is a
:class:`TransportError` (also an ``OSError``). Call sites turn them into parity's own errors
(:mod:`parity.errors`), naming what they were doing.
"""

from __future__ import annotations

# docker-py's list: a 404 whose explanation says one of these is about an image.
_IMAGE_NOT_FOUND = (
    "no such image",
    "not found: does not exist or no pull access",
    "repository does not exist",
    "was found but does not match the specified platform",
)


class EngineAPIError(Exception):
    """Anything the engine's client raises (docker-py's ``DockerException``)."""


class APIError(EngineAPIError):
    """The engine answered with an HTTP error: ``status_code`` and its ``explanation``."""

    def __init__(self, status_code: int, explanation: str, reason: str = "") -> None:
        self.status_code = status_code
        self.explanation = explanation
        self.reason = reason
        super().__init__(f"{status_code} {reason}: {explanation}" if reason else explanation)

    def is_client_error(self) -> bool:
        return 400 <= self.status_code < 500

    def is_server_error(self) -> bool:
        return 500 <= self.status_code < 600


class NotFound(APIError):
    """HTTP 404: no such container, path or object."""


class ImageNotFound(NotFound):
    """HTTP 404 about an image (no such image, or none for this platform)."""


class TransportError(EngineAPIError, OSError):
    """The connection to the engine could not be made, or broke mid-answer."""


def api_error(status_code: int, explanation: str, reason: str = "") -> APIError:
    """The error for an HTTP error answer, classed as docker-py classes it."""
    if status_code == 404:
        text = explanation.lower()
        if any(fragment in text for fragment in _IMAGE_NOT_FOUND):
            return ImageNotFound(status_code, explanation, reason)
        return NotFound(status_code, explanation, reason)
    return APIError(status_code, explanation, reason)
