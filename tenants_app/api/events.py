"""``GET /v1/events``: the tenant's event feed (docs/events.md), a list endpoint with a cursor.

``?after=<id>`` lists the events with a greater id, in id order (the default sort): a consumer keeps the id
of the last event it handled and asks for what follows. Ids become visible in increasing order
(``tenants_app.event_order``), so the cursor never skips an event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response

from framework.api.filtering import FilterField
from framework.api.listing import ListSpec
from framework.api.schema import LIST_PARAMETERS, ok, page_of
from framework.api.serializers import iso
from framework.api.viewsets import RegistryViewSet
from framework.errors import InvalidListParameter
from tenants_app.events import readable_events
from tenants_app.models import Event

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest

MAX_CURSOR = 2**63 - 1  # a bigint

EVENTS = ListSpec(
    fields={
        "_id": FilterField("id", "number"),
        "type": FilterField("type"),
        "timestamp": FilterField("timestamp", "datetime"),
        "actor": FilterField("actor"),
        "resource": FilterField("resource"),
        "target": FilterField("target"),
    },
    default_sort=("_id",),
)


def event_document(event: Event) -> dict[str, Any]:
    return {
        "_id": event.id,
        "type": event.type,
        "timestamp": iso(event.timestamp),
        "actor": event.actor,
        "resource": event.resource,
        "target": event.target,
        "document": event.document,
    }


class EventSerializer(serializers.Serializer[Any]):
    _id = serializers.IntegerField(help_text="The feed's cursor: ask for ?after=<the last _id handled>.")
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    actor = serializers.CharField(allow_blank=True, help_text='Who made the change ("" for the system).')
    resource = serializers.CharField(help_text="models, datasets, algorithms or users")
    target = serializers.CharField(help_text="The item's (or user's) _id.")
    document = serializers.DictField(help_text="The resource's document as the API showed it (docs/events.md).")


AFTER = OpenApiParameter(
    "after", OpenApiTypes.INT, description="Only the events after this _id (the cursor); 0 or absent: from the start."
)


def after_cursor(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MAX_CURSOR:
        raise InvalidListParameter(f"after: {raw[:40]!r} is not an event _id (a whole number, 0 or more)")
    return int(raw)


@extend_schema_view(
    list=extend_schema(
        operation_id="events_list",
        parameters=[*LIST_PARAMETERS, AFTER],
        responses=ok(page_of(EventSerializer), 200, 400, 401),
        tags=["events"],
    ),
)
class EventViewSet(RegistryViewSet):
    """``/v1/events``: what changed, for the changes the caller may read (admins: all)."""

    list_spec = EVENTS

    def list(self, request: SignedInApiRequest) -> Response:
        after = after_cursor(request.query_params.get("after"))
        events = readable_events(request.user).filter(id__gt=after)
        return self.list_response(request, events, lambda rows: [event_document(event) for event in rows])
