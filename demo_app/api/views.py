"""``/v1/demo`` (``DEMO=true`` only): the demo tenant's content, filled on demand or reset by its admin.

With ``DEMO`` off the route answers as an unknown route does (the original mounted it only with ``DEMO=true``).
Every method needs a token of the demo tenant (else 403 ``demo_tenant_required``) whose user is an admin
(else 403 ``restricted_access_read``, as the original answered).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demo_app import services
from folksonomy_app import lists as vocabulary_lists
from folksonomy_app.api.views import VocabularyEntrySerializer, entry_document
from framework.api.schema import ok
from framework.errors import NotFound
from items_app import kinds
from items_app.api.schema import document_of
from items_app.documents import item_documents
from items_app.models import Item
from tenants_app.api.serializers import UserSerializer, user_document
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest

MAX_PER_LIST = 100  # each list of the answer holds at most this many, oldest first; the list routes page the rest


def demo_document(viewer: User) -> dict[str, list[dict[str, Any]]]:
    """``{users, tags, metadata, <kind prefix>…}``: what the demo tenant holds, as the API documents it."""
    users = User.objects.order_by("timestamp", "pk")[:MAX_PER_LIST]
    document = {"users": [user_document(user, full=True) for user in users]}
    for vocabulary, key in (("tag", "tags"), ("metadata", "metadata")):
        entries = vocabulary_lists.counted(vocabulary, viewer).order_by("timestamp", "pk")[:MAX_PER_LIST]
        document[key] = [entry_document(entry) for entry in entries]
    for kind in kinds.every():
        items = Item.objects.of_kind(kind.value).select_related("owner").order_by("timestamp", "pk")
        document[kind.prefix] = item_documents(list(items[:MAX_PER_LIST]), viewer)
    return document


def _demo_schema() -> type[serializers.Serializer[Any]]:
    """The answer's component: one list per vocabulary and per kind of item (built when the schema is)."""
    fields: dict[str, Any] = {
        "users": UserSerializer(many=True),
        "tags": VocabularyEntrySerializer(many=True),
        "metadata": VocabularyEntrySerializer(many=True),
    }
    fields.update({kind.prefix: document_of(kind)(many=True) for kind in kinds.every()})
    return type("DemoContent", (serializers.Serializer,), fields)


DEMO_CONTENT = _demo_schema()


class DemoReset(serializers.Serializer[Any]):
    ok = serializers.BooleanField()


_ABSENT = "404 (the unknown-route answer) while DEMO is off."


@extend_schema_view(
    get=extend_schema(
        operation_id="demo_read",
        responses=ok(DEMO_CONTENT, 200, 401, 403, 404),
        tags=["demo"],
        description="The demo tenant's users, vocabulary and items (at most 100 of each, oldest first). "
        f"Admins of the demo tenant (DEFAULT_TENANT_DEMO) only. {_ABSENT}",
    ),
    post=extend_schema(
        operation_id="demo_fill",
        request=None,
        responses=ok(DEMO_CONTENT, 200, 401, 403, 404) | {201: DEMO_CONTENT},
        tags=["demo"],
        description="Fill the demo tenant with its sample content if it holds no item (201), else change "
        f"nothing (200); either way the content as GET shows it. {_ABSENT}",
    ),
    delete=extend_schema(
        operation_id="demo_reset",
        responses=ok(DemoReset, 200, 401, 403, 404),
        tags=["demo"],
        description="Drop the demo tenant and make it again with its sample content and its admin's "
        "DEMO_PASSWORD; every token of the demo tenant stops working (sign in again). "
        f"{_ABSENT}",
    ),
)
class DemoView(APIView):
    if TYPE_CHECKING:
        request: SignedInApiRequest

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication: without DEMO the route does not exist, for anyone.
        if not settings.DEMO:
            raise NotFound(f"No API route {request.method} {request.path}")
        super().initial(request, *args, **kwargs)

    @staticmethod
    def _caller(request: SignedInApiRequest) -> tuple[Caller, str]:
        return Caller.of(request), require_tenant().id

    def get(self, request: SignedInApiRequest) -> Response:
        services.check_demo_caller(*self._caller(request))
        return Response(demo_document(request.user))

    def post(self, request: SignedInApiRequest) -> Response:
        created = services.fill_if_empty(*self._caller(request))
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(demo_document(request.user), status=answer)

    def delete(self, request: SignedInApiRequest) -> Response:
        services.reset(*self._caller(request))
        return Response({"ok": True})
