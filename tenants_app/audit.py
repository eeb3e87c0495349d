"""Writing the tenant's audit log (``GET /v1/log``). One function, called by every service that changes data.

The item, version and vocabulary services record a change inside the change's own transaction: the entry
exists exactly when the change does, and the write costs one commit (one flush to disk), not two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tenants_app.models import ApiKey, AuditEntry, AuditResult

if TYPE_CHECKING:
    from django.http import HttpRequest

    from tenants_app.models import User

logger = logging.getLogger("registry.audit")
MAX_TARGET = 200
SUPERUSER = "<api-token>"  # how tenant management by the API_TOKEN holder appears in a tenant's log


@dataclass(frozen=True)
class KeyUse:
    """A request authenticated by an API key (``tenants_app.keys``): DRF's ``request.auth``. ``scopes``
    are the effective ones: the key's, capped by its user's role at this request."""

    key: ApiKey
    scopes: frozenset[str]

    @property
    def name(self) -> str:
        return self.key.name


@dataclass(frozen=True)
class Caller:
    """Who asks for a change and from where: what services need to check permissions and to audit."""

    user: User | None
    address: str | None = None
    name: str | None = None  # shown in the log when there is no user (the superuser)
    key_use: KeyUse | None = None  # the API key the request came with, if any

    @property
    def username(self) -> str | None:
        return self.user.username if self.user is not None else self.name

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @classmethod
    def of(cls, request: HttpRequest, *, name: str | None = None) -> Caller:
        user = getattr(request, "user", None)
        auth = getattr(request, "auth", None)  # DRF's requests carry what authenticated them
        return cls(
            user=user if getattr(user, "is_authenticated", False) else None,
            address=request.META.get("REMOTE_ADDR"),
            name=name,
            key_use=auth if isinstance(auth, KeyUse) else None,
        )


def record(
    caller: Caller,
    *,
    action: str,
    resource: str,
    target: str = "",
    result: str = AuditResult.SUCCESS,
    details: dict[str, Any] | None = None,
    using: str | None = None,
) -> None:
    """Append one entry to the current tenant's log (or to the database ``using``), unless LOG=false.

    Callers pass identifiers and outcomes only: never a request body, a password or a token.
    """
    if settings.AUDIT_LOG_ENABLED:
        _entry(caller, action, resource, target, details, result).save(using=using, force_insert=True)


def record_each(caller: Caller, *, action: str, resource: str, changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Append one entry per ``(target, details)`` change of a write that changed several things at once (a
    batch create), in one statement."""
    if settings.AUDIT_LOG_ENABLED:
        entries = [_entry(caller, action, resource, target, details) for target, details in changes]
        AuditEntry.objects.bulk_create(entries)


def _entry(
    caller: Caller,
    action: str,
    resource: str,
    target: str,
    details: dict[str, Any] | None,
    result: str = AuditResult.SUCCESS,
) -> AuditEntry:
    return AuditEntry(
        actor=caller.username,
        action=action,
        resource=resource,
        target=str(target)[:MAX_TARGET],
        result=result,
        address=caller.address or None,
        # a change made through a key names the key (never its secret): which pipeline did this
        details={**(details or {}), "key": caller.key_use.name} if caller.key_use is not None else details or {},
    )
