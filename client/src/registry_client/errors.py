"""The exceptions of the client: one class per kind of failure a script may want to handle differently.

A failure the server reported carries its error envelope (``status``, ``value``, ``message``, ``details``):
``details`` names what was wrong, so the exception's text is the server's own words.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    """Anything that went wrong talking to the registry. ``exit_code`` is what the command line exits with."""

    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None, envelope: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.envelope = envelope or {}

    @property
    def details(self) -> str:
        return str(self.envelope.get("details", ""))


class InvalidRequest(RegistryError):
    """400, 413, 415, 416: the request itself was wrong; sending it again will not help."""

    exit_code = 7


class Unauthorized(RegistryError):
    """401: no credentials, or a key or token that is unknown, revoked or expired."""

    exit_code = 4


class Forbidden(RegistryError):
    """403: signed in, but not allowed (a missing key scope, someone else's item)."""

    exit_code = 5


class NotFound(RegistryError):
    """404: no such item or version, or one the caller may not read (the registry does not say which)."""

    exit_code = 3


class Gone(NotFound):
    """410: an unfinished resumable upload that expired."""


class Conflict(RegistryError):
    """409: a name already taken, a version an alias still points at."""

    exit_code = 6


class TooManyRequests(RegistryError):
    """429 after every retry."""

    exit_code = 8


class ServerError(RegistryError):
    """5xx after every retry."""

    exit_code = 8


class NetworkError(RegistryError):
    """The registry could not be reached, or the connection broke, after every retry."""

    exit_code = 8


class DigestMismatch(RegistryError):
    """The bytes received do not have the SHA-256 the registry announced: nothing was kept."""

    exit_code = 9


class ConfigurationError(RegistryError):
    """No URL, no credentials, or an unreadable profile: nothing was sent."""

    exit_code = 2


BY_STATUS: dict[int, type[RegistryError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: InvalidRequest,
    413: InvalidRequest,
    415: InvalidRequest,
    416: InvalidRequest,
    429: TooManyRequests,
    460: InvalidRequest,  # tus: a chunk that does not match its checksum
}


def from_response(status: int, envelope: Any, fallback_text: str = "") -> RegistryError:
    """The exception for an error answer; ``envelope`` is its JSON body when it had one."""
    if not isinstance(envelope, dict):
        envelope = {}
    message = str(envelope.get("message") or fallback_text[:200] or f"HTTP {status}")
    details = envelope.get("details")
    text = f"{message}: {details}" if details else message
    error_class = BY_STATUS.get(status, ServerError if status >= 500 else RegistryError)
    return error_class(f"{text} (HTTP {status})", status=status, envelope=envelope)
