"""The vocabulary's lists, for the API and the /manage/ pages alike: fields, and entries with their counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from folksonomy_app import uses
from folksonomy_app.services import VOCABULARIES
from framework.api.filtering import FilterField
from framework.api.listing import ListSpec

if TYPE_CHECKING:
    from tenants_app.models import User

ENTRIES = ListSpec(
    fields={
        "_id": FilterField("id"),
        "usage": FilterField("usage"),
        "owner": FilterField("owner__username", nullable=True),
        "timestamp": FilterField("timestamp", "datetime"),
        "lastmod": FilterField("lastmod", "datetime"),
        "count": FilterField("count", "number"),
    }
)


def counted(vocabulary: str, viewer: User) -> QuerySet[Any]:
    """The entries of ``vocabulary`` with ``count``: how many items ``viewer`` may read use each one."""
    entries = VOCABULARIES[vocabulary].objects.select_related("owner")
    return uses.of(vocabulary).counted(entries, viewer)
