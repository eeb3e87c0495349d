"""What the lists of tenants, users and the audit log let a caller filter and sort on: the same for the API
and the /manage/ pages."""

from __future__ import annotations

from framework.api.filtering import FilterField
from framework.api.listing import ListSpec

TIMESTAMPS = {
    "timestamp": FilterField("timestamp", "datetime"),
    "lastmod": FilterField("lastmod", "datetime"),
}

TENANTS = ListSpec(
    fields={
        "_id": FilterField("id"),
        "organization": FilterField("organization"),
        "address": FilterField("address"),
        "email": FilterField("email"),
        "phone": FilterField("phone"),
        **TIMESTAMPS,
    }
)

# Everyone sees who exists; only admins may filter on (and see) e-mail addresses and roles.
_PUBLIC_USER_FIELDS = {"_id": FilterField("id"), "username": FilterField("username")}
USERS_FOR_ADMINS = ListSpec(
    fields={
        **_PUBLIC_USER_FIELDS,
        "email": FilterField("email", nullable=True),
        "role": FilterField("role"),
        # whose password expires soon: {"createdPassword": {"$lt": …}, "validityPasswordDays": {"$gt": 0}}
        "createdPassword": FilterField("password_created", "datetime"),
        "validityPasswordDays": FilterField("validity_password_days", "number"),
        "passwordTemporary": FilterField("password_temporary", "boolean"),
        **TIMESTAMPS,
    }
)
USERS = ListSpec(fields=_PUBLIC_USER_FIELDS, default_sort=("username",))

AUDIT_LOG = ListSpec(
    fields={
        "_id": FilterField("id"),
        "timestamp": FilterField("timestamp", "datetime"),
        "actor": FilterField("actor", nullable=True),
        "action": FilterField("action"),
        "resource": FilterField("resource"),
        "target": FilterField("target"),
        "result": FilterField("result"),
        "address": FilterField("address", nullable=True),
    }
)

# API keys: everyone lists their own; admins everyone's (tenants_app.keys.visible_keys).
KEYS = ListSpec(
    fields={
        "_id": FilterField("id"),
        "name": FilterField("name"),
        "user": FilterField("user__username"),
        "created": FilterField("created", "datetime"),
        "expires": FilterField("expires", "datetime", nullable=True),
        "last_used": FilterField("last_used", "datetime", nullable=True),
    },
    default_sort=("-created", "_id"),
)
