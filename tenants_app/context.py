"""The tenant of the current request, kept in a ContextVar.

It is set once per request from a signed credential (the JWT's tenant claim, or the signed session) and
reset when the request ends (``TenantContextMiddleware``). Nothing else decides which tenant database a
query goes to: the router reads this and fails loudly when it is empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass


class NoTenantSelected(RuntimeError):
    """A tenant-scoped query ran with no tenant in context: a programming error, never a fallback."""


@dataclass(frozen=True)
class ActiveTenant:
    """What a request needs to know about its tenant: who it is and which database alias holds its data."""

    id: str
    uid: str
    alias: str


_current: ContextVar[ActiveTenant | None] = ContextVar("registry_tenant", default=None)


def current_tenant() -> ActiveTenant | None:
    return _current.get()


def require_tenant() -> ActiveTenant:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantSelected("no tenant is active; tenant-scoped data cannot be reached")
    return tenant


def activate(tenant: ActiveTenant | None) -> Token[ActiveTenant | None]:
    """Make ``tenant`` current; the caller (or the middleware) resets it with the returned token."""
    return _current.set(tenant)


def reset(token: Token[ActiveTenant | None]) -> None:
    _current.reset(token)


@contextmanager
def tenant_context(tenant: ActiveTenant) -> Iterator[ActiveTenant]:
    token = activate(tenant)
    try:
        yield tenant
    finally:
        reset(token)
