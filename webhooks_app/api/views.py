"""``/v1/webhooks``: tenant admins manage the endpoints that receive the tenant's events (docs/webhooks.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from framework.api.listing import ListSpec
from framework.api.schema import ID, LIST_PARAMETERS, WRITE_ERRORS, collection_operations, ok, page_of
from framework.api.viewsets import RegistryViewSet
from framework.errors import Forbidden
from tenants_app.audit import Caller
from webhooks_app import lists, services
from webhooks_app.api import serializers as io

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest

DELIVERY = OpenApiParameter("delivery", str, OpenApiParameter.PATH, description="A delivery's (attempt's) _id.")


@extend_schema_view(
    **collection_operations(
        "webhook", io.WebhookSerializer, create=io.WebhookCreateInput, update=io.WebhookUpdateInput
    ),
    partial_update=extend_schema(
        operation_id="webhook_patch",
        parameters=[ID],
        request=io.WebhookUpdateInput,
        responses=ok(io.WebhookSerializer, 200, *WRITE_ERRORS),
        tags=["webhooks"],
    ),
    secret=extend_schema(
        operation_id="webhook_rotate_secret",
        parameters=[ID],
        request=None,
        responses=ok(io.SecretSerializer, 200, *WRITE_ERRORS),
        tags=["webhooks"],
    ),
    deliveries=extend_schema(
        operation_id="webhook_deliveries",
        parameters=[ID, *LIST_PARAMETERS],
        responses=ok(page_of(io.DeliverySerializer), 200, 400, 401, 403, 404),
        tags=["webhooks"],
    ),
    redeliver=extend_schema(
        operation_id="webhook_redeliver",
        parameters=[ID, DELIVERY],
        request=None,
        responses=ok(io.RedeliverySerializer, 202, *WRITE_ERRORS),
        tags=["webhooks"],
    ),
)
class WebhookViewSet(RegistryViewSet):
    """Tenant admins only, for every route: others are told so before anything else is looked at."""

    list_spec = lists.WEBHOOKS
    if TYPE_CHECKING:
        request: SignedInApiRequest

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not Caller.of(request).is_admin:
            raise Forbidden("Only tenant admins can manage webhooks.")

    def get_list_spec(self) -> ListSpec:
        return lists.DELIVERIES if self.action == "deliveries" else lists.WEBHOOKS

    def list(self, request: SignedInApiRequest) -> Response:
        rows = services.webhooks(Caller.of(request))
        return self.list_response(request, rows, lambda found: [io.webhook_document(hook) for hook in found])

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        return Response(io.webhook_document(services.find_webhook(Caller.of(request), pk)))

    def create(self, request: SignedInApiRequest) -> Response:
        data = self.validated(io.WebhookCreateInput, request)
        webhook, secret = services.create_webhook(Caller.of(request), **data)
        return Response(io.webhook_document(webhook, secret), status=status.HTTP_201_CREATED)

    def update(self, request: SignedInApiRequest, pk: str) -> Response:
        caller = Caller.of(request)
        webhook = services.find_webhook(caller, pk)
        changes = self.validated(io.WebhookUpdateInput, request)
        return Response(io.webhook_document(services.update_webhook(caller, webhook, changes)))

    def partial_update(self, request: SignedInApiRequest, pk: str) -> Response:
        return self.update(request, pk)

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        caller = Caller.of(request)
        webhook = services.delete_webhook(caller, services.find_webhook(caller, pk))
        return Response(io.webhook_document(webhook))

    @action(detail=True, methods=["post"])
    def secret(self, request: SignedInApiRequest, pk: str) -> Response:
        caller = Caller.of(request)
        secret = services.rotate_secret(caller, services.find_webhook(caller, pk))
        return Response({"_id": pk, "secret": secret})

    @action(detail=True, methods=["get"])
    def deliveries(self, request: SignedInApiRequest, pk: str) -> Response:
        caller = Caller.of(request)
        rows = services.attempts(caller, services.find_webhook(caller, pk))
        return self.list_response(request, rows, lambda found: [io.delivery_document(row) for row in found])

    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery>[^/]+)/redeliver")
    def redeliver(self, request: SignedInApiRequest, pk: str, delivery: str) -> Response:
        caller = Caller.of(request)
        message = services.redeliver(caller, services.find_webhook(caller, pk), delivery)
        return Response(
            {"event": message.event_id, "message": message.message_id, "state": message.state},
            status=status.HTTP_202_ACCEPTED,
        )
