"""What the lists of webhooks and of their deliveries let a caller filter and sort on (API and pages)."""

from __future__ import annotations

from framework.api.filtering import FilterField
from framework.api.listing import ListSpec

WEBHOOKS = ListSpec(
    fields={
        "_id": FilterField("id"),
        "url": FilterField("url"),
        "description": FilterField("description"),
        "active": FilterField("active", "boolean"),
        "timestamp": FilterField("timestamp", "datetime"),
        "lastmod": FilterField("lastmod", "datetime"),
    }
)

DELIVERIES = ListSpec(
    fields={
        "_id": FilterField("id", "number"),
        "event": FilterField("message__event_id", "number"),
        "type": FilterField("message__event_type"),
        "attempt": FilterField("attempt", "number"),
        "status": FilterField("status_code", "number", nullable=True),
        "timestamp": FilterField("timestamp", "datetime"),
    },
    default_sort=("-_id",),
)
