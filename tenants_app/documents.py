"""The read shape of users (contract §3), shared by the API and the events of users (``tenants_app.events``)."""

from __future__ import annotations

from typing import Any

from framework.api.serializers import iso
from tenants_app.models import User

__all__ = ["password_age", "user_document"]


def password_age(user: User) -> dict[str, Any]:
    """The original registry's ``createdPassword`` and ``validityPasswordDays``, and when it expires."""
    return {
        "createdPassword": iso(user.password_created),
        "validityPasswordDays": user.validity_password_days,
        "passwordExpires": iso(user.password_expires),
    }


def user_document(user: User, *, full: bool) -> dict[str, Any]:
    """Everyone sees ``_id`` and ``username``; the user themselves and admins see the rest. Never a hash."""
    if not full:
        return {"_id": user.id, "username": user.username}
    return {
        "_id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "service": user.is_service,
        **password_age(user),
        "passwordTemporary": user.password_temporary,
        "timestamp": iso(user.timestamp),
        "lastmod": iso(user.lastmod),
    }
