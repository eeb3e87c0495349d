"""How services refuse: domain errors that say what was wrong, and nothing about HTTP.

A service raises one of these with ``details`` that name the field, value or rule (``"name: at most 200
characters"``). ``framework.api.errors`` is the one place that turns each class into an entry of the error
catalogue (status, stable value, fixed message) for the API; the pages show the same details beside the
field they name.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from typing import Literal

Action = Literal["read", "create", "modify", "delete"]


class ServiceError(Exception):
    """A request the registry refuses; ``details`` say why, starting with the field they are about."""

    def __init__(self, details: str = "") -> None:
        super().__init__(details)
        self.details = details

    def with_details(self, details: str) -> ServiceError:
        """The same refusal, said differently (a batch prefixes the position of the body it is about)."""
        changed = copy(self)
        changed.details = details
        changed.args = (details,)
        return changed


class Invalid(ServiceError):
    """A value, a reference or a limit of the request breaks a rule."""


class InvalidFilter(Invalid):
    """The filter document is not one the filter language accepts."""


class InvalidListParameter(Invalid):
    """A list parameter (sort, page, limit, select) is malformed."""


class NotFound(ServiceError):
    """No such resource, or none the caller may read (the two are never told apart)."""


class Forbidden(ServiceError):
    """The caller may read the resource but not do ``action`` to it."""

    def __init__(self, details: str = "", *, action: Action = "read") -> None:
        super().__init__(details)
        self.action = action


class DemoTenantRequired(ServiceError):
    """A demo route (``/v1/demo``) asked with a token of a tenant other than the demo tenant."""


class Conflict(ServiceError):
    """The request conflicts with the current state: a name is taken, a resource is still in use."""


class TooLarge(ServiceError):
    """A file or a body is larger than the configured limit."""


class UnsupportedMediaType(ServiceError):
    """The body comes in an encoding this route does not take."""


class Unprocessable(ServiceError):
    """The request is well formed but its content is refused by a policy (a dangerous file the tenant refuses)."""


class UploadFailed(ServiceError):
    """An upload could not be received or stored (cut off, malformed, storage failure)."""


class RequestTimeout(ServiceError):
    """The client stopped sending its request body for longer than the server waits (``CLIENT_TIMEOUT``)."""


class DigestMismatch(ServiceError):
    """The received file's SHA-256 differs from the one the client announced."""


class ChecksumMismatch(ServiceError):
    """A chunk of a resumable upload does not match the checksum the client sent with it (tus: 460)."""


class PreconditionFailed(ServiceError):
    """The request speaks a protocol version this server does not (tus: ``Tus-Resumable``)."""


class Gone(ServiceError):
    """The resource existed and expired (an abandoned resumable upload before the clean-up removes it)."""


class StorageFull(ServiceError):
    """The server has no room left for the bytes it was sent; what it held before is intact."""


class Unavailable(ServiceError):
    """A service the request needs (the object store) does not answer; try again after ``retry_after`` s."""

    def __init__(self, details: str = "", *, retry_after: int = 5) -> None:
        super().__init__(details)
        self.retry_after = retry_after


class RangeNotSatisfiable(ServiceError):
    """The requested byte range lies outside a file of ``size`` bytes."""

    def __init__(self, details: str = "", *, size: int) -> None:
        super().__init__(details)
        self.size = size


class AuthenticationFailed(ServiceError):
    """Wrong tenant, username or password (one answer for all three: nothing to probe)."""


class PasswordChangeNeeded(ServiceError):
    """The credentials are right, but the password no longer opens a session: choose a new one first."""


class PasswordExpired(PasswordChangeNeeded):
    """The password is older than the user's validity period."""


class PasswordChangeRequired(PasswordChangeNeeded):
    """The password is temporary (someone else chose it) and must be replaced at the first sign-in."""


class Unauthorized(ServiceError):
    """No credential, or one that is malformed, revoked or no longer valid."""


class TokenExpired(Unauthorized):
    """A token past its lifetime (renewable while its renew window lasts)."""


class TooManyRequests(ServiceError):
    """Too many attempts; the caller may try again after ``retry_after`` seconds."""

    def __init__(self, details: str = "", *, retry_after: int) -> None:
        super().__init__(details)
        self.retry_after = retry_after


@contextmanager
def numbered(index: int) -> Iterator[None]:
    """Prefix the details of a refusal raised in the block with ``[index]``: the position, in a request's
    array, of the body it is about (a batch create's services and its bodies' checks alike)."""
    try:
        yield
    except ServiceError as exc:
        raise exc.with_details(f"[{index}] {exc.details}") from None


# errno values of a write that found no room: a full disk, a quota, a file size limit
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def receiving_failed(exc: BaseException) -> ServiceError:
    """What a failure while a request body was received means for the client: no room on the server's disk
    is the server's 507; a client silent for longer than the server waits is a 408 (``CLIENT_TIMEOUT``);
    anything else is a body cut off on its way (400). Django and gunicorn wrap the socket's error: its causes
    count."""
    for failure in _causes(exc):
        if isinstance(failure, OSError) and failure.errno in NO_ROOM:
            return StorageFull("disk: the server has no room left for this upload; nothing was kept")
        if isinstance(failure, TimeoutError):
            return RequestTimeout("body: nothing arrived for CLIENT_TIMEOUT; nothing was kept")
    return UploadFailed("body: the upload was interrupted")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    for _ in range(5):  # the chain a body read makes is short; a cycle must not hang
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__
